import assert from "node:assert/strict";
import { isHex32, toHex } from "./bytes.ts";

Deno.test("isHex32 takes 64 lowercase hex characters and nothing else", () => {
  assert.ok(isHex32("0".repeat(64)));
  assert.ok(isHex32(toHex(new Uint8Array(32).fill(0xab))));
  for (
    const bad of [
      "0".repeat(63),
      "0".repeat(65),
      "A".repeat(64),
      "g".repeat(64),
      ` ${"0".repeat(63)}`,
      `${"0".repeat(64)}\n`,
      "",
      undefined,
      null,
      64,
      new Uint8Array(32),
    ]
  ) assert.equal(isHex32(bad), false, String(bad));
});
