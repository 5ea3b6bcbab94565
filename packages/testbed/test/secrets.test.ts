import { leakedSecrets, settledOutcome } from "../src";

const VALUE = "0123456789abcdef0123456789abcdef";

test("leakedSecrets finds secrets and lock-shaped text at any depth, in hidden fields too", () => {
  const error = new Error("failed");
  Object.defineProperty(error, "command", { value: { args: [VALUE] }, enumerable: false });
  expect(leakedSecrets([{ deep: { deeper: [error] } }], [])).toEqual([VALUE]);
  expect(leakedSecrets([{ note: "auth hunter2-pass" }], ["hunter2-pass"])).toEqual([
    "hunter2-pass",
  ]);
  // A SHA-1 is 40 hex characters: not a lock value.
  expect(leakedSecrets([{ sha1: "a".repeat(40) }], ["absent"])).toEqual([]);
});

test("settledOutcome collects the thrown error and its attempts' statistics", async () => {
  const failure = Object.assign(new Error("no"), { attempts: [Promise.resolve("stats")] });
  expect(await settledOutcome(Promise.reject(failure))).toEqual([failure, "stats"]);
  expect(await settledOutcome(Promise.resolve({ attempts: [Promise.resolve(1)] }))).toEqual([1]);
});
