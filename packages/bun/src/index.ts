export * from "@redlock/core";
export type { BunMessageListener, BunRedisClient, BunRedisSubscriber } from "./client";
export { type BunClientOrRunner, Redlock } from "./redlock";
export { type BunRunner, type BunRunnerOptions, createBunRunner } from "./runner";
