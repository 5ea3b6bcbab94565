import { EventEmitter } from "node:events";
import { NodeUnreachableError } from "../src";
import { unreachableError, watchConnection } from "../src/adapter";

describe("unreachableError", () => {
  const refused = (address: string, port: number) =>
    Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), {
      code: "ECONNREFUSED",
      syscall: "connect",
      address,
      port,
    });

  test("says what happened and what to do, with a sanitized cause", () => {
    const error = unreachableError("n1", refused("10.0.0.1", 7000));
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect(error).toMatchObject({
      code: "NODE_UNREACHABLE",
      node: "n1",
      message:
        "[n1] connection refused (ECONNREFUSED) at 10.0.0.1:7000: is redis-server running there, on that port?",
      cause: { code: "ECONNREFUSED", port: 7000 },
    });
    const unknownHost = Object.assign(new Error("getaddrinfo ENOTFOUND nohost"), {
      code: "ENOTFOUND",
      syscall: "getaddrinfo",
      hostname: "nohost",
    });
    expect(unreachableError("n1", unknownHost)?.message).toBe(
      "[n1] host not found (ENOTFOUND) at nohost: check the host name.",
    );
  });

  test("reads the address of a dual-stack refusal from its first attempt", () => {
    const both = Object.assign(
      new AggregateError([refused("::1", 7000), refused("127.0.0.1", 7000)]),
      { code: "ECONNREFUSED" },
    );
    expect(unreachableError("n1", both)?.message).toMatch(
      /^\[n1\] connection refused \(ECONNREFUSED\) at ::1:7000/,
    );
  });

  test.each([
    ["a reply error", new Error("READONLY no")],
    ["a reset connection", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
    ["a missing file", Object.assign(new Error("ENOENT"), { code: "ENOENT", syscall: "open" })],
    ["a string", "ECONNREFUSED"],
  ])("is undefined for %s", (_, error) => {
    expect(unreachableError("n1", error)).toBeUndefined();
  });
});

describe("watchConnection", () => {
  const refusal = () =>
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
      address: "127.0.0.1",
      port: 1,
    });

  test("listens only while requests wait, once per client, and fails them on a refusal", () => {
    const client = new EventEmitter();
    let ready = false;
    const a = watchConnection(client, "a", () => ready);
    const b = watchConnection(client, "b", () => ready);
    expect(client.listenerCount("error")).toBe(0);
    const failed: NodeUnreachableError[] = [];
    const untrackA = a.track((error) => failed.push(error));
    const untrackB = b.track((error) => failed.push(error));
    expect(client.listenerCount("error")).toBe(1);

    client.emit("error", new Error("ERR something else"));
    expect(failed).toEqual([]);
    client.emit("error", refusal());
    expect(failed.map((error) => error.node)).toEqual(["a", "b"]);
    untrackA();
    untrackB();
    expect(client.listenerCount("error")).toBe(0);

    // Remembered until the client is ready again.
    expect(a.failure?.message).toMatch(/^\[a\] connection refused/);
    expect(b.failure?.node).toBe("b");
    ready = true;
    expect(a.failure).toBeUndefined();
    ready = false;
    expect(b.failure).toBeUndefined();
  });

  test("with keep, listens from the first request on, and throws errors on while alone", () => {
    const client = new EventEmitter();
    const watch = watchConnection(client, "n", () => false, { keep: true });
    watch.track(() => {})();
    expect(client.listenerCount("error")).toBe(1);
    // As an EventEmitter does with an error nobody listens to.
    expect(() => client.emit("error", refusal())).toThrow("ECONNREFUSED");
    expect(watch.failure?.message).toMatch(/^\[n\] connection refused/);
    const heard: unknown[] = [];
    client.on("error", (error) => heard.push(error));
    expect(() => client.emit("error", new Error("heard"))).not.toThrow();
    expect(heard).toHaveLength(1);
  });

  test("watches nothing on a client without events", () => {
    const watch = watchConnection({}, "n", () => false);
    expect(watch.failure).toBeUndefined();
    expect(() => watch.track(() => {})()).not.toThrow();
  });
});
