import { RetrySchedule } from "../src/internal/retry";
import { defaultSettings, type Settings } from "../src/settings";

const settings = (overrides: Partial<Settings>): Settings => ({
  ...defaultSettings,
  retryJitter: 0,
  ...overrides,
});

describe("RetrySchedule: node-redlock v5's retries, where a try brought forward is free", () => {
  test("retryCount 2: the first try and two scheduled retries, then it gives up", () => {
    const schedule = new RetrySchedule(settings({ retryCount: 2, retryDelay: 100 }), Infinity);
    expect(schedule.refused(0)).toBe(true); // first try refused
    expect(schedule.wakeAt(0, 0, false)).toBe(100);
    expect(schedule.woke("timer", 100)).toBe(true);
    expect(schedule.refused(100)).toBe(true); // first retry refused
    expect(schedule.woke("timer", schedule.wakeAt(100, 0, false) as number)).toBe(true);
    expect(schedule.refused(200)).toBe(false); // second retry was the last one
  });

  test("tries brought forward by announcements or the holder's TTL use up no retry", () => {
    const schedule = new RetrySchedule(settings({ retryCount: 1, retryDelay: 100 }), Infinity);
    expect(schedule.refused(0)).toBe(true);
    // An announcement at 30 ms: the try it brings forward is free, the next stays due at 100.
    expect(schedule.woke("announced", 100)).toBe(true);
    expect(schedule.refused(30)).toBe(true);
    // The holder's TTL ends at 60 ms: also free.
    expect(schedule.wakeAt(30, 29, false)).toBe(60);
    expect(schedule.woke("timer", 60)).toBe(true);
    expect(schedule.refused(60)).toBe(true);
    expect(schedule.wakeAt(60, 0, false)).toBe(100);
    expect(schedule.woke("timer", 100)).toBe(true);
    expect(schedule.refused(100)).toBe(false);
  });

  test("acquireTimeout: no wait goes past it, and reaching it gives up", () => {
    const schedule = new RetrySchedule(settings({ retryCount: 10, retryDelay: 100 }), 50);
    expect(schedule.refused(0)).toBe(true);
    // Only acquireTimeout is left and nothing can bring a try forward: give up at once.
    expect(schedule.wakeAt(0, 0, false)).toBeUndefined();
    // While announcements can arrive, wait for one until acquireTimeout.
    expect(schedule.wakeAt(0, 0, true)).toBe(50);
    expect(schedule.woke("timer", 50)).toBe(false);
    expect(schedule.woke("announced", 50)).toBe(true);
  });

  test("a lock handed to another waiter first: the wait counts as a refused first try", () => {
    const onTime = new RetrySchedule(settings({ retryCount: 1, retryDelay: 100 }), Infinity);
    expect(onTime.handedOver(5)).toBe(105);
    onTime.handedOverWoke("timer"); // the try at 105 is the first one
    expect(onTime.refused(105)).toBe(true);
    expect(onTime.woke("timer", onTime.wakeAt(105, 0, false) as number)).toBe(true);
    expect(onTime.refused(205)).toBe(false);

    const early = new RetrySchedule(settings({ retryCount: 0, retryDelay: 100 }), Infinity);
    early.handedOver(0);
    early.handedOverWoke("announced"); // brought forward: free, so one try is still left
    expect(early.refused(10)).toBe(true);
    expect(early.woke("timer", early.wakeAt(10, 0, false) as number)).toBe(true);
    expect(early.refused(110)).toBe(false);
  });
});
