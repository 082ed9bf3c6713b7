import assert from "node:assert/strict";
import { CoinWriteCounter } from "./coin_writes.ts";

Deno.test("coin write counter: a read stays current until a write begins; a read begun during a write never is", async () => {
  const writes = new CoinWriteCounter();
  const before = writes.stamp();
  assert.equal(writes.unchangedSince(before), true);
  let during = -1;
  await writes.around(() => {
    during = writes.stamp();
    assert.equal(writes.unchangedSince(before), false, "a write under way");
    assert.equal(writes.unchangedSince(during), false, "read begun during a write");
    return Promise.resolve();
  });
  assert.equal(writes.unchangedSince(before), false);
  assert.equal(writes.unchangedSince(during), false);
  const after = writes.stamp();
  assert.equal(writes.unchangedSince(after), true);
  await assert.rejects(writes.around(() => Promise.reject(new Error("failed write"))));
  assert.equal(writes.unchangedSince(after), false, "a failed write counts too");
  assert.equal(writes.unchangedSince(writes.stamp()), true, "and it ended");
  assert.throws(() => writes.end());
});
