import { createReleaseListeners } from "../src/adapter";

describe("createReleaseListeners", () => {
  test("subscribes a channel once, dispatches, and unsubscribes after the last listener", async () => {
    const calls: string[] = [];
    const releases = createReleaseListeners({
      subscribe: async (channel) => calls.push(`sub ${channel}`),
      unsubscribe: async (channel) => calls.push(`unsub ${channel}`),
    });
    let heard = 0;
    const offA = await releases.onRelease("k", () => heard++);
    const offB = await releases.onRelease("k", () => heard++);
    releases.dispatch("redlock:released:k");
    expect(heard).toBe(2);
    await offA();
    await offB();
    expect(calls).toEqual(["sub redlock:released:k", "unsub redlock:released:k"]);
    expect(releases.size).toBe(0);
  });

  test("a failed subscription is retried by the next listener", async () => {
    let fail = true;
    let subscribes = 0;
    const releases = createReleaseListeners({
      subscribe: async () => {
        subscribes++;
        if (fail) throw new Error("connection reset");
      },
      unsubscribe: async () => {},
    });
    await expect(releases.onRelease("k", () => {})).rejects.toThrow("connection reset");
    expect(releases.size).toBe(0);
    fail = false;
    let heard = 0;
    await releases.onRelease("k", () => heard++);
    releases.dispatch("redlock:released:k");
    expect(heard).toBe(1);
    expect(subscribes).toBe(2);
  });
});
