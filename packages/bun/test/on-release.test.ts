import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { releaseChannel } from "@redlock/core/adapter";
import { type RedisNode, respCall, startRedis, teardownAll } from "@redlock/test-suite/redis";
import { createBunRunner } from "../src";
import { bunClient, closeClients, connectionCount, signal, subscribers, until } from "./helpers";

let node: RedisNode;
let counter = 0;
const key = (label: string) => `announce:${label}:${++counter}`;

beforeAll(async () => {
  node = await startRedis();
}, 60_000);
afterEach(() => closeClients());
afterAll(() => teardownAll());

describe("release announcements", () => {
  test("the pub/sub connection is open only while a listener is subscribed", async () => {
    const runner = createBunRunner(bunClient(node.url), { url: node.url });
    const [a, b] = [key("a"), key("b")];
    const offA = await runner.onRelease!(a, () => {});
    const offB = await runner.onRelease!(b, () => {});
    expect(await connectionCount(node)).toBe(1);
    expect(await subscribers(node, releaseChannel(a))).toBe(1);
    await offA();
    expect(await subscribers(node, releaseChannel(a))).toBe(0);
    expect(await subscribers(node, releaseChannel(b))).toBe(1);
    await offB();
    // Closed, so that it never keeps the process alive after the application closed its client.
    await until(async () => (await connectionCount(node)) === 0, "pub/sub connection still open");
    const heard = signal();
    const offAgain = await runner.onRelease!(a, heard.fire);
    await respCall(node, "PUBLISH", releaseChannel(a), "1");
    await heard.promise;
    await offAgain();
    expect(await subscribers(node, releaseChannel(a))).toBe(0);
  });

  test("after the server drops the pub/sub connection, listeners are subscribed again", async () => {
    const runner = createBunRunner(bunClient(node.url), { url: node.url });
    const channel = releaseChannel(key("kept"));
    let calls = 0;
    const heard = signal();
    const off = await runner.onRelease!(channel.slice("redlock:released:".length), () => {
      calls++;
      heard.fire();
    });
    expect(await respCall(node, "CLIENT", "KILL", "TYPE", "pubsub")).toBe(1);
    await until(async () => (await subscribers(node, channel)) === 1, "not subscribed again");
    await respCall(node, "PUBLISH", channel, "1");
    await heard.promise;
    await off();
    expect(calls).toBe(1);
  });
});
