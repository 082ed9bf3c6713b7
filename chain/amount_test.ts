import assert from "node:assert/strict";
import { AmountError, formatCoins, parseCoins, parseCoinsOption } from "./amount.ts";
import { MAX_MONEY } from "./params.ts";

Deno.test("coin options: zero, negative, malformed and too large are one kind of error naming the option", () => {
  assert.equal(parseCoinsOption("--amount", "1.5"), 150_000_000n);
  assert.equal(parseCoinsOption("--fee", "0", true), 0n);
  const bad: [string, string, boolean][] = [
    ["--amount", "0", false],
    ["--amount", "-5", false],
    ["--amount", "0.000000001", false],
    ["--amount", "abc", false],
    ["--amount", "1e3", false],
    ["--amount", "", false],
    ["--fee", "-0.1", true],
    ["--amount", formatCoins(MAX_MONEY + 1n), false],
  ];
  for (const [option, text, allowZero] of bad) {
    assert.throws(
      () => parseCoinsOption(option, text, allowZero),
      (e: unknown) =>
        e instanceof AmountError && e.code === "amount/invalid" &&
        e.message.startsWith(`${option} must be `) && e.message.includes(`"${text}"`),
      `${option} ${text}`,
    );
  }
  // The plain parser keeps its contract.
  assert.throws(() => parseCoins("-5"), RangeError);
  assert.equal(parseCoins("0"), 0n);
});
