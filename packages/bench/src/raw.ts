import { randomBytes } from "node:crypto";
import { ACQUIRE_SCRIPT, RELEASE_SCRIPT } from "@redlock/core/adapter";
import type { Redis } from "ioredis";

/** How the baseline talks to one node through one client library. */
export interface RawDriver<Client> {
  /** `EVALSHA sha 1 key ...args` on `client`; resolves with the script's reply. */
  evalsha(client: Client, sha: string, key: string, ...args: string[]): Promise<unknown>;
  /** `SCRIPT LOAD source` on `client`; resolves with the script's SHA1. */
  scriptLoad(client: Client, source: string): Promise<string>;
}

export const ioredisDriver: RawDriver<Redis> = {
  evalsha: (client, sha, key, ...args) => client.evalsha(sha, 1, key, ...args),
  scriptLoad: async (client, source) => String(await client.script("LOAD", source)),
};

/** The part of a node-redis (`redis` 6) client the baseline uses. */
export interface NodeRedisCommands {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * `sendCommand` is node-redis's cheapest path: `client.evalSha(sha, { keys, arguments })` goes
 * through a command parser and a reply transform before the same `sendCommand`.
 */
export const nodeRedisDriver: RawDriver<NodeRedisCommands> = {
  evalsha: (client, sha, key, ...args) => client.sendCommand(["EVALSHA", sha, "1", key, ...args]),
  scriptLoad: async (client, source) =>
    String(await client.sendCommand(["SCRIPT", "LOAD", source])),
};

/**
 * The baseline: the same acquire and release scripts as @redlock/core sent with EVALSHA on every
 * node, deciding as soon as a majority answered, with a release on every node after a failed
 * attempt. No validity arithmetic, no events, no per-node timeout.
 */
export class RawQuorum<Client> {
  readonly quorum: number;
  #acquireSha = "";
  #releaseSha = "";

  constructor(
    readonly clients: readonly Client[],
    private readonly driver: RawDriver<Client>,
  ) {
    this.quorum = Math.floor(clients.length / 2) + 1;
  }

  async load(): Promise<void> {
    const { driver } = this;
    const shas = await Promise.all(
      this.clients.map(async (client) => [
        await driver.scriptLoad(client, ACQUIRE_SCRIPT),
        await driver.scriptLoad(client, RELEASE_SCRIPT),
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
    const px = String(ttl);
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
        this.driver.evalsha(client, this.#acquireSha, key, value, px).then(
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
        this.driver.evalsha(client, this.#releaseSha, key, value).then(done, done);
      }
    });
  }
}
