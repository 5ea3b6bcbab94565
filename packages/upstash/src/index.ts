export * from "@redlock/core";
export { Redlock } from "./redlock";
export { createUpstashRunner, type UpstashClient, type UpstashRunnerOptions } from "./runner";
