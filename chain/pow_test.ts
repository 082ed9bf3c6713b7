import assert from "node:assert/strict";
import { bitsToTarget, blockWork, retargetBits, targetToBits } from "./pow.ts";

Deno.test("retargeting scales the target by actual/expected time, clamped to x4 and the limit", () => {
  const limit = 0x1e0fffff;
  const bits = 0x1d00ffff;
  const expected = 720 * 120;
  assert.equal(retargetBits(bits, expected, expected, limit), bits, "on schedule: unchanged");
  const half = bitsToTarget(retargetBits(bits, expected / 2, expected, limit));
  assert.equal(half, bitsToTarget(bits) / 2n, "twice as fast: half the target");
  const fast = bitsToTarget(retargetBits(bits, 1, expected, limit));
  assert.equal(fast, bitsToTarget(targetToBits(bitsToTarget(bits) / 4n)), "clamped at a quarter");
  assert.equal(
    retargetBits(limit, expected * 100, expected, limit),
    limit,
    "never easier than the limit",
  );
  assert.ok(blockWork(0x1d00ffff) > blockWork(0x207fffff));
});
