export * from "@redlock/core";
export { Redlock } from "./redlock";
export type { IoredisClient, IoredisRunnerOptions, IoredisSubscriber } from "./runner";
export { createIoredisRunner } from "./runner";
