import { randomBytes } from "node:crypto";
import { ACQUIRE_SCRIPT, RELEASE_SCRIPT } from "@redlock/core";
import type { Redis } from "ioredis";

/**
 * The baseline: the same acquire and release scripts as @redlock/core sent with EVALSHA on every
 * node, deciding as soon as a majority answered, with a release on every node after a failed
 * attempt. No validity arithmetic, no events, no per-node timeout.
 */
export class RawQuorum {
  readonly quorum: number;
  #acquireSha = "";
  #releaseSha = "";

  constructor(readonly clients: readonly Redis[]) {
    this.quorum = Math.floor(clients.length / 2) + 1;
  }

  async load(): Promise<void> {
    const shas = await Promise.all(
      this.clients.map(async (client) => [
        String(await client.script("LOAD", ACQUIRE_SCRIPT)),
        String(await client.script("LOAD", RELEASE_SCRIPT)),
      ]),
    );
    const [acquireSha, releaseSha] = shas[0]!;
    this.#acquireSha = acquireSha!;
    this.#releaseSha = releaseSha!;
  }

  /** One attempt; resolves with the lock value on a majority of grants, undefined otherwise. */
  attempt(key: string, ttl: number): Promise<string | undefined> {
    const value = randomBytes(16).toString("hex");
    const total = this.clients.length;
    return new Promise((resolve) => {
      let granted = 0;
      let refused = 0;
      let decided = false;
      const vote = (ok: boolean) => {
        if (decided) return;
        if (ok) granted++;
        else refused++;
        if (granted >= this.quorum) {
          decided = true;
          resolve(value);
        } else if (refused > total - this.quorum) {
          decided = true;
          void this.release(key, value);
          resolve(undefined);
        }
      };
      for (const client of this.clients) {
        client.evalsha(this.#acquireSha, 1, key, value, ttl).then(
          (reply) => vote(reply === 1),
          () => vote(false),
        );
      }
    });
  }

  /** Release on every node; resolves once a majority answered. */
  release(key: string, value: string): Promise<void> {
    return new Promise((resolve) => {
      let answered = 0;
      const done = () => {
        if (++answered === this.quorum) resolve();
      };
      for (const client of this.clients) {
        client.evalsha(this.#releaseSha, 1, key, value).then(done, done);
      }
    });
  }
}
