import type { ScriptRunner } from "@redlock/core";
import { adapterRedlock } from "@redlock/core/adapter";
import { EXPECTED_CLIENT, type GlideClientLike, isGlideClient } from "./client";
import { createValkeyGlideRunner } from "./runner";

/**
 * What `Redlock` from `@redlock/valkey-glide` takes for each node: a Valkey GLIDE `GlideClient`
 * or `GlideClusterClient` (`@valkey/valkey-glide` 2.x), or a runner from
 * `createValkeyGlideRunner`. Named so that a compiler error about a wrong client says what was
 * expected.
 */
export type ValkeyGlideClientOrRunner = GlideClientLike | ScriptRunner;

/**
 * `Redlock` from `@redlock/core` taking Valkey GLIDE clients: each `GlideClient` or
 * `GlideClusterClient` is one independent node. Runners from {@link createValkeyGlideRunner} are
 * accepted as they are, for per-node options.
 *
 * @example
 * ```ts
 * const clients = await Promise.all(
 *   nodes.map((node) =>
 *     GlideClient.createClient({ addresses: [node], requestTimeout: 2000 }),
 *   ),
 * );
 * const redlock = new Redlock(clients);
 * await redlock.using(["report:daily"], 5000, async (signal) => { … });
 * ```
 */
export class Redlock extends adapterRedlock<ValkeyGlideClientOrRunner>({
  isClient: isGlideClient,
  createRunner: (client) => createValkeyGlideRunner(client),
  plural: "Valkey GLIDE clients",
  expected: EXPECTED_CLIENT,
}) {}
