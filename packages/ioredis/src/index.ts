export * from "@redlock/core";
export { type IoredisClientOrRunner, Redlock } from "./redlock";
export type { IoredisClient, IoredisRunnerOptions, IoredisSubscriber } from "./runner";
export { createIoredisRunner } from "./runner";
