export {
  findRedisServer,
  type RedisServerBinary,
  requireRedisServer,
} from "./binary";
export { RedisCluster, type StartClusterOptions, startCluster } from "./cluster";
export {
  type ConformanceEndpoint,
  type ConformanceRunner,
  type RedisConformanceNode,
  redisConformanceTarget,
} from "./conformance";
export {
  type DelayDirection,
  type FaultMode,
  FaultProxy,
  type FaultTarget,
  startFaultProxy,
} from "./fault-proxy";
export { getFreePort, getFreePortPair, isPortFree, LOOPBACK } from "./ports";
export {
  type AppendFsync,
  RedisNode,
  type RestartOptions,
  type StartRedisOptions,
  startRedis,
  startRedisNodes,
} from "./redis-node";
export { type Closeable, teardownAll, trackedResourceCount } from "./registry";
export {
  processControlSkipReason,
  type RedisEndpoint,
  type RedisSource,
  type ResolvedRedis,
  type ResolveRedisOptions,
  redisUrlsFromEnv,
  requireControl,
  resolveRedis,
  whenControllable,
} from "./resolve";
export { ping, type RespCallOptions, RespError, type RespValue, respCall } from "./resp";
export {
  errorEvents,
  LOCK_VALUE,
  leakedSecrets,
  recordingValues,
  settledOutcome,
} from "./secrets";
export { sleep } from "./sleep";
export {
  type BridgeOutcome,
  type BridgeRequest,
  startUpstashBridge,
  UpstashBridge,
  type UpstashBridgeOptions,
} from "./upstash-bridge";
