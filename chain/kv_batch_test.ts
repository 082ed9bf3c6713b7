import assert from "node:assert/strict";
import {
  batchMutations,
  CHUNK_SIZE,
  chunkCount,
  chunkMutations,
  MAX_MUTATIONS,
  MAX_VALUE_BYTES,
  type Mutation,
  NetMutations,
} from "./kv_batch.ts";

Deno.test("kv batch: chunks cover the bytes in order, and chunkCount predicts their number", () => {
  for (const n of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5]) {
    const bytes = new Uint8Array(n).map((_, i) => i % 251);
    const chunks = chunkMutations(["p", "h"], bytes);
    assert.equal(chunks.length, chunkCount(n), `length ${n}`);
    assert.deepEqual(chunks.map((c) => c.key), chunks.map((_, i) => ["p", "h", i]));
    const joined = chunks.flatMap((c) => [...(c.value as Uint8Array)]);
    assert.deepEqual(joined, [...bytes]);
  }
});

Deno.test("kv batch: batches keep the order and stay under the mutation and value limits", () => {
  const small: Mutation[] = Array.from({ length: 2500 }, (_, i) => ({ key: ["k", i], value: i }));
  const batches = batchMutations(small);
  assert.ok(batches.every((b) => b.length <= MAX_MUTATIONS));
  assert.deepEqual(batches.flat(), small);
  const big: Mutation[] = Array.from({ length: 30 }, (_, i) => ({
    key: ["b", i],
    value: new Uint8Array(CHUNK_SIZE),
  }));
  for (const b of batchMutations(big)) {
    const bytes = b.reduce((s, m) => s + (m.value as Uint8Array).length, 0);
    assert.ok(bytes <= MAX_VALUE_BYTES, `${bytes} value bytes in one commit`);
  }
  assert.deepEqual(batchMutations([]), []);
});

Deno.test("kv batch: net mutations keep the last write to a key at its first position", () => {
  const net = new NetMutations();
  net.put(["a", 1], "x");
  net.put(["b"], true);
  net.put(["a", 1], null);
  assert.deepEqual(net.list(), [{ key: ["a", 1], value: null }, { key: ["b"], value: true }]);
});
