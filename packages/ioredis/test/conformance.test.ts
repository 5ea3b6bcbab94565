import { adapterConformanceSuite } from "@redlock/test-suite";
import { redisTarget, teardownAll } from "@redlock/test-suite/redis";
import { createIoredisRunner } from "../src";
import { drivers } from "./helpers";

afterAll(() => teardownAll());

for (const [label, driver] of drivers) {
  adapterConformanceSuite(
    { describe, it, expect, beforeAll, afterAll, beforeEach },
    redisTarget(
      label,
      ({ url }) => {
        // Reconnects, so a node the suite brings back up answers again.
        const client = driver.redis(url, { retryStrategy: () => 50 });
        const runner = createIoredisRunner(client);
        return { runner, close: () => runner.quit!() };
      },
      {
        cluster: (startupNodes) => {
          const runner = createIoredisRunner(
            driver.cluster(startupNodes.map(({ host, port }) => ({ host, port }))),
          );
          return { runner, close: () => runner.quit!() };
        },
      },
    ),
  );
}
