export * from "@redlock/core";
export type { IoredisClient, IoredisSubscriber } from "./client";
export { type IoredisClientOrRunner, Redlock } from "./redlock";
export type { IoredisRunnerOptions } from "./runner";
export { createIoredisRunner } from "./runner";
