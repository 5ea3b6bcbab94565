export * from "@redlock/core";
export type { GlideClientLike } from "./client";
export { Redlock, type ValkeyGlideClientOrRunner } from "./redlock";
export {
  createValkeyGlideRunner,
  type ValkeyGlideRunner,
  type ValkeyGlideRunnerOptions,
} from "./runner";
