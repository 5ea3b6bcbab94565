import type { ConformanceNode, ConformanceTarget } from "@redlock/test-suite";
import {
  type MakeRunner,
  type RedisTargetEndpoint,
  type RedisTargetOptions,
  type RedisTargetRunner,
  redisTarget,
} from "@redlock/test-suite/redis";
import { testcontainersFallback } from "./resolve";

/** What a conformance run needs from an adapter for one node (the kit's `RedisTargetRunner`). */
export type ConformanceRunner = RedisTargetRunner;

/** Where an adapter's client should connect (the kit's `RedisTargetEndpoint`). */
export type ConformanceEndpoint = RedisTargetEndpoint;

/** One node of a conformance target (the kit's `ConformanceNode`). */
export type RedisConformanceNode = ConformanceNode;

/**
 * The kit's {@link redisTarget}, falling back to Testcontainers when neither `REDIS_URLS` nor a
 * local `redis-server` is available.
 */
export function redisConformanceTarget(
  name: string,
  makeRunner: MakeRunner,
  options: RedisTargetOptions = {},
): ConformanceTarget {
  return redisTarget(name, makeRunner, { fallback: testcontainersFallback(), ...options });
}
