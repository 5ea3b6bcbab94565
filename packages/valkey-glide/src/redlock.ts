import {
  Redlock as CoreRedlock,
  type RedlockOptions,
  type ScriptOverrides,
  type ScriptRunner,
} from "@redlock/core";
import { type ClientKind, runnersFrom } from "@redlock/core/adapter";
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
export class Redlock extends CoreRedlock {
  /**
   * @param clients one GLIDE client per independent Redis or Valkey node (duplicates removed),
   *   each made a runner with default options; a runner from
   *   `createValkeyGlideRunner(client, options)` may stand in for a client to set its name or
   *   reply timeout
   * @param settings default settings and instance options
   * @param scripts replacement scripts, or functions that edit the defaults
   * @throws {InvalidArgumentError} no clients, an object that is not a GLIDE client, or a bad
   *   setting
   */
  constructor(
    // With the array type, a wrong entry of an array literal is reported on that entry.
    clients: readonly ValkeyGlideClientOrRunner[] | Iterable<ValkeyGlideClientOrRunner>,
    settings?: RedlockOptions,
    scripts?: ScriptOverrides,
  ) {
    super(runnersFrom(clients, glide), settings, scripts);
  }
}

const glide: ClientKind<GlideClientLike> = {
  isClient: isGlideClient,
  createRunner: (client) => createValkeyGlideRunner(client),
  plural: "Valkey GLIDE clients",
  expected: EXPECTED_CLIENT,
};
