export * from "@redlock/core";
export type {
  NodeRedisClient,
  NodeRedisClientLike,
  NodeRedisCluster,
  NodeRedisCommandOptions,
  NodeRedisSubscriber,
} from "./client";
export { type NodeRedisClientOrRunner, Redlock } from "./redlock";
export {
  createNodeRedisRunner,
  type NodeRedisRunner,
  type NodeRedisRunnerOptions,
} from "./runner";
