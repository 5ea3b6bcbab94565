declare module "redlock-4" {
  import type { EventEmitter } from "node:events";

  namespace Redlock {
    interface Options {
      driftFactor?: number;
      retryCount?: number;
      retryDelay?: number;
      retryJitter?: number;
    }
    interface Lock {
      readonly value: string;
      unlock(): Promise<void>;
    }
  }
  class Redlock extends EventEmitter {
    constructor(clients: readonly unknown[], options?: Redlock.Options);
    lock(resource: string | string[], ttl: number): Promise<Redlock.Lock>;
    unlock(lock: Redlock.Lock): Promise<void>;
    quit(): Promise<void>;
  }
  export = Redlock;
}

declare module "redlock-5" {
  import type { EventEmitter } from "node:events";

  export interface Settings {
    readonly driftFactor: number;
    readonly retryCount: number;
    readonly retryDelay: number;
    readonly retryJitter: number;
    readonly automaticExtensionThreshold: number;
  }
  export interface Lock {
    readonly value: string;
    release(): Promise<unknown>;
  }
  // biome-ignore lint/style/noDefaultExport: the package's own export is a default one
  export default class Redlock extends EventEmitter {
    constructor(clients: Iterable<unknown>, settings?: Partial<Settings>);
    acquire(resources: string[], duration: number, settings?: Partial<Settings>): Promise<Lock>;
    release(lock: Lock, settings?: Partial<Settings>): Promise<unknown>;
    quit(): Promise<void>;
  }
}
