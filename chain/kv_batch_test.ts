import assert from "node:assert/strict";
import {
  batchMutations,
  CHUNK_SIZE,
  chunkCount,
  chunkMutations,
  keyBytes,
  MAX_COMMIT_BYTES,
  MAX_KEY_BYTES,
  MAX_MUTATIONS,
  type Mutation,
  NetMutations,
  valueBytes,
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
    const bytes = b.reduce((s, m) => s + 2 * keyBytes(m.key) + (m.value as Uint8Array).length, 0);
    assert.ok(bytes <= MAX_COMMIT_BYTES, `${bytes} bytes in one commit`);
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

/** Commits `mutations` in one atomic operation; the error message when KV refuses it. */
async function commitOnce(kv: Deno.Kv, mutations: Mutation[]): Promise<string | null> {
  const op = kv.atomic();
  for (const m of mutations) op.set(m.key, m.value);
  try {
    return (await op.commit()).ok ? null : "not ok";
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("kv batch: batches fill a real KV commit to its limits, and one mutation more is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-kv-batch-" });
  const kv = await Deno.openKv(`${dir}/batch.kv`);
  try {
    const hex = (i: number) => i.toString(16).padStart(64, "0");
    const cases: { name: string; muts: Mutation[]; full: (b: Mutation[]) => boolean }[] = [
      {
        name: "mutation count (coin-like keys)",
        muts: Array.from(
          { length: 2300 },
          (_, i) => ({ key: ["utxo", hex(i), i % 3], value: true }),
        ),
        full: (b) => b.length === MAX_MUTATIONS,
      },
      {
        name: "key bytes (long keys)",
        muts: Array.from(
          { length: 300 },
          (_, i) => ({ key: ["addr", "a".repeat(900), i], value: 1 }),
        ),
        full: (b) => b.reduce((s, m) => s + keyBytes(m.key), 0) > MAX_KEY_BYTES - 930,
      },
      {
        name: "commit bytes (value chunks)",
        muts: chunkMutations(["blk", hex(1)], new Uint8Array(40 * CHUNK_SIZE).fill(7)),
        full: (b) =>
          b.reduce((s, m) => s + 2 * keyBytes(m.key) + valueBytes(m.value), 0) >
            MAX_COMMIT_BYTES - CHUNK_SIZE - 200,
      },
    ];
    for (const { name, muts, full } of cases) {
      const batches = batchMutations(muts);
      assert.ok(batches.length > 1, `${name}: several batches`);
      assert.ok(full(batches[0]), `${name}: the first batch is filled to the limit`);
      assert.equal(
        typeof await commitOnce(kv, [...batches[0], batches[1][0]]),
        "string",
        `${name}: KV refuses the first batch with one mutation more`,
      );
      for (const b of batches) {
        assert.equal(await commitOnce(kv, b), null, `${name}: batch commits`);
      }
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv batch: key sizes are Deno KV's encoded sizes, value sizes bound V8's serialization", async () => {
  const v8 = await import("node:v8");
  assert.equal(keyBytes(["utxo", "ab".repeat(32), 0]), 6 + 66 + 9);
  assert.equal(keyBytes(["a\u0000", true, new Uint8Array([0, 1])]), 5 + 1 + 5);
  assert.equal(keyBytes(["é"]), 4);
  const values: unknown[] = [
    { v: 10_000_000n, s: new Uint8Array(22), h: 5, c: false },
    { block: "ab".repeat(32), index: 4000 },
    { hash: "cd".repeat(32), work: 2n ** 200n, header: new Uint8Array(80), invalid: true },
    "\u{1F600}".repeat(20),
    new Map([["k", 1n]]),
    12345.5,
  ];
  for (const v of values) assert.ok(valueBytes(v) >= v8.serialize(v).length, String(v));
  assert.equal(valueBytes(new Uint8Array(100)), 100);
});
