export * from "@redlock/core";
export type {
  NodeRedisClient,
  NodeRedisClientLike,
  NodeRedisCluster,
  NodeRedisCommandOptions,
  NodeRedisSubscriber,
} from "./client";
export { Redlock } from "./redlock";
export {
  createNodeRedisRunner,
  type NodeRedisRunner,
  type NodeRedisRunnerOptions,
} from "./runner";
