import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  ACQUIRE_SCRIPT,
  defaultScripts,
  EXTEND_SCRIPT,
  RELEASE_SCRIPT,
  sha1,
} from "../src/adapter";
import { CPU_BOUND_TIMEOUT } from "./helpers";

const nodeSha1 = (text: string) => createHash("sha1").update(text, "utf8").digest("hex");

describe("sha1", () => {
  test("the built-in scripts' digests match node:crypto", () => {
    expect(defaultScripts.acquireScript.sha1).toBe(nodeSha1(ACQUIRE_SCRIPT));
    expect(defaultScripts.extendScript.sha1).toBe(nodeSha1(EXTEND_SCRIPT));
    expect(defaultScripts.releaseScript.sha1).toBe(nodeSha1(RELEASE_SCRIPT));
  });

  test("known vectors", () => {
    expect(sha1("")).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(sha1("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });

  test(
    "any string, at every padding boundary",
    () => {
      fc.assert(
        fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (text) => {
          expect(sha1(text)).toBe(nodeSha1(text));
        }),
        { seed: 20261127, numRuns: 300 },
      );
      for (let length = 50; length < 140; length++) {
        const text = "x".repeat(length);
        expect(sha1(text)).toBe(nodeSha1(text));
      }
    },
    CPU_BOUND_TIMEOUT,
  );
});
