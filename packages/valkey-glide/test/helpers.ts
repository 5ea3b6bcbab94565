import {
  GlideClient,
  type GlideClientConfiguration,
  GlideClusterClient,
  type GlideClusterClientConfiguration,
  Logger,
} from "@valkey/valkey-glide";

// GLIDE logs every server error (NOSCRIPT included) at warn level; keep test output readable.
Logger.setLoggerConfig("error");

/** A node address as the test bed gives it. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * Above every `nodeTimeout` the tests use, so that core's deadline decides, not GLIDE's
 * `requestTimeout` (250 ms by default).
 */
export const REQUEST_TIMEOUT = 10_000;

const opened = new Set<{ close(): void }>();

/** Remember `client` for {@link closeClients}. */
function track<T extends { close(): void }>(client: T): T {
  opened.add(client);
  return client;
}

/** A standalone GLIDE client for `address`, closed by {@link closeClients}. */
export async function glideClient(
  address: Address,
  overrides: Partial<GlideClientConfiguration> = {},
): Promise<GlideClient> {
  return track(
    await GlideClient.createClient({
      addresses: [{ host: address.host, port: address.port }],
      requestTimeout: REQUEST_TIMEOUT,
      ...overrides,
    }),
  );
}

/** A cluster GLIDE client over `addresses`, closed by {@link closeClients}. */
export async function glideCluster(
  addresses: readonly Address[],
  overrides: Partial<GlideClusterClientConfiguration> = {},
): Promise<GlideClusterClient> {
  return track(
    await GlideClusterClient.createClient({
      addresses: addresses.map(({ host, port }) => ({ host, port })),
      requestTimeout: REQUEST_TIMEOUT,
      ...overrides,
    }),
  );
}

/** Close every client the helpers opened (closing twice is harmless). */
export function closeClients(): void {
  for (const client of opened) client.close();
  opened.clear();
}

/** The rejection of `promise`; fails the test when it resolves. */
export async function rejection<E = Error>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error("expected a rejection");
}
