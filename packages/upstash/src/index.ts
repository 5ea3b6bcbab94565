export * from "@redlock/core";
export type { UpstashClient } from "./client";
export { Redlock, type UpstashClientOrRunner } from "./redlock";
export { createUpstashRunner, type UpstashRunnerOptions } from "./runner";
