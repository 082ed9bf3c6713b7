import assert from "node:assert/strict";
import { BlockIndex, type IndexEntry, indexEntry, MAX_HEADERS, NO_PARENT } from "./block_index.ts";
import { NotFoundError } from "./errors.ts";
import { networkParams } from "./params.ts";
import { bitsToTarget } from "./pow.ts";

const EASY_BITS = 0x207fffff;

/** A synthetic entry (headers need no proof of work here) with a hash derived from `tag`. */
function child(parent: IndexEntry | null, tag: string, time: number, bits = EASY_BITS): IndexEntry {
  const hash = Array.from(tag.padEnd(32, "."), (c) => c.charCodeAt(0).toString(16)).join("");
  const header = {
    version: 1,
    prevHash: new Uint8Array(32),
    merkleRoot: new Uint8Array(32),
    time,
    bits,
    nonce: 0,
  };
  return indexEntry(hash, header, parent, 1);
}

/** An index holding a chain of `n` blocks after genesis, spaced `spacing` seconds, active. */
function chain(
  n: number,
  spacing = 10,
  bits = EASY_BITS,
): { index: BlockIndex; blocks: IndexEntry[] } {
  const index = new BlockIndex();
  const blocks = [child(null, "g", 1_000_000, bits)];
  for (let h = 1; h <= n; h++) {
    blocks.push(child(blocks[h - 1], `a${h}`, 1_000_000 + h * spacing, bits));
  }
  for (const b of blocks) index.add(b);
  index.activate(blocks[n]);
  return { index, blocks };
}

Deno.test("block index: entries carry height, cumulative work and their parent", () => {
  const { index, blocks } = chain(3);
  assert.equal(blocks[0].prev, NO_PARENT);
  assert.deepEqual(blocks.map((b) => b.height), [0, 1, 2, 3]);
  assert.ok(blocks[3].work > blocks[2].work && blocks[2].work > blocks[0].work);
  assert.equal(index.tip().hash, blocks[3].hash);
  assert.equal(index.hashAtHeight(0), blocks[0].hash);
  assert.deepEqual(index.children(blocks[1].hash), [blocks[2]]);
});

Deno.test("block index: the locator starts at the tip, is dense for ten blocks, then doubles its step to genesis", () => {
  const { index, blocks } = chain(100);
  const heights = index.locator().map((h) => index.get(h)!.height);
  assert.deepEqual(heights.slice(0, 10), [100, 99, 98, 97, 96, 95, 94, 93, 92, 91]);
  assert.equal(heights.at(-1), 0, "ends at genesis");
  const steps = heights.slice(9, -1).map((h, i) => h - heights[i + 10]);
  for (let i = 1; i < steps.length - 1; i++) assert.equal(steps[i], 2 * steps[i - 1]);
  assert.equal(index.locator()[0], blocks[100].hash);
});

Deno.test("block index: headers follow the first locator hash on the active chain, bounded", () => {
  const { index, blocks } = chain(30);
  const side = child(blocks[10], "side", 2_000_000);
  index.add(side);
  const got = index.getHeaders([side.hash, "ff".repeat(32), blocks[20].hash, blocks[5].hash]);
  assert.deepEqual(got, blocks.slice(21).map((b) => b.header), "starts after block 20");
  assert.equal(index.getHeaders([], 5).length, 5, "an empty locator starts at genesis");
  assert.equal(index.getHeaders([blocks[30].hash]).length, 0, "nothing after the tip");
  assert.ok(index.getHeaders([], MAX_HEADERS + 10).length <= MAX_HEADERS);
});

Deno.test("block index: the median time past is the middle of the last eleven times", () => {
  const index = new BlockIndex();
  const times = [50, 10, 40, 20, 30, 90, 80, 70, 60, 100, 110, 5];
  let prev: IndexEntry | null = null;
  for (const [i, t] of times.entries()) {
    prev = child(prev, `m${i}`, t);
    index.add(prev);
  }
  // The last eleven times (10 .. 5) sorted: 5 10 20 30 40 60 70 80 90 100 110 -> 60.
  assert.equal(index.medianTimePast(prev!), 60);
  assert.equal(index.medianTimePast(index.get(child(null, "m0", 50).hash)!), 50, "genesis alone");
});

Deno.test("block index: bits stay between retargets and tighten when blocks came too fast", () => {
  const main = networkParams("main");
  const interval = main.retargetInterval;
  const { index, blocks } = chain(2 * interval - 1, main.targetSpacing / 2, main.powLimitBits);
  assert.equal(index.nextBits(blocks[interval - 2], main), main.powLimitBits, "not a boundary");
  const next = index.nextBits(blocks[interval - 1], main);
  assert.ok(bitsToTarget(next) < bitsToTarget(main.powLimitBits), "target shrinks");
  const devBits = index.nextBits(blocks[interval - 1], networkParams("dev"));
  assert.equal(devBits, blocks[interval - 1].bits, "dev never retargets");
});

Deno.test("block index: the best candidate is the most-work valid branch, reached from its fork", () => {
  const { index, blocks } = chain(5);
  const s1 = child(blocks[3], "s1", 5_000_000);
  const s2 = child(s1, "s2", 5_000_001);
  const s3 = child(s2, "s3", 5_000_002);
  for (const e of [s1, s2, s3]) index.add(e);
  assert.equal(index.bestCandidate().hash, s3.hash);
  assert.deepEqual(index.branchTo(s3), { fork: blocks[3], path: [s1, s2, s3] });
  s3.invalid = true;
  assert.equal(index.bestCandidate().hash, blocks[5].hash, "equal work keeps the tip");
});

Deno.test("block index: block ids resolve by height or hash, with typed errors otherwise", () => {
  const { index, blocks } = chain(3);
  assert.equal(index.resolveBlockId("2"), blocks[2].hash);
  assert.equal(index.resolveBlockId(blocks[1].hash), blocks[1].hash);
  for (const id of ["4", "ab".repeat(32)]) {
    assert.throws(() => index.resolveBlockId(id), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, "block/not-found");
      return true;
    });
  }
  assert.throws(() => index.resolveBlockId("XYZ"), RangeError);
});
