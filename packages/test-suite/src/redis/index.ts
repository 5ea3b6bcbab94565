export { findRedisServer, type RedisServerBinary, requireRedisServer } from "./binary";
export { RedisCluster, type StartClusterOptions, startCluster } from "./cluster";
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
export {
  type Closeable,
  teardownAll,
  trackedResourceCount,
  trackResource,
  untrackResource,
} from "./registry";
export {
  type FallbackServers,
  processControlSkipReason,
  type RedisEndpoint,
  type RedisFallback,
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
  type MakeClusterRunner,
  type MakeRunner,
  type RedisTargetEndpoint,
  type RedisTargetOptions,
  type RedisTargetRunner,
  redisTarget,
} from "./target";
