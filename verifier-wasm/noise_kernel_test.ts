/**
 * @module The kernel's sampler noise blocks equal the TypeScript ones (random keys, ranges,
 * counter wrap, long runs), competitor searches give the same token and score with either
 * hasher, and a hasher that disagrees is refused.
 */

import assert from "node:assert/strict";
import { createKernel } from "./kernel_module.ts";
import { kernelNoiseBlockHasher } from "./noise_kernel.ts";
import {
  bestNoisyToken,
  gumbelBlock,
  gumbelFromWord,
  samplingKey,
  useNoiseBlockHasher,
} from "./sampler.ts";

const JOB = new Uint8Array(32).map((_, i) => 3 * i + 1);

function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

Deno.test("kernel noise blocks equal the TypeScript hasher's", async () => {
  const hash = kernelNoiseBlockHasher(await createKernel());
  const rnd = lcg(5);
  const ranges: [number, number][] = [[0, 0], [0, 1], [0, 13], [4095, 4001], [2 ** 32 - 5, 5]];
  for (let i = 0; i < 20; i++) {
    ranges.push([Math.floor(rnd() * 2 ** 32), 1 + Math.floor(rnd() * 40)]);
  }
  for (const [r, [first, count]] of ranges.entries()) {
    const key = samplingKey(BigInt(r) * 7919n, JOB, r);
    const out = new Uint32Array(count * 8);
    hash(key, first, count, out);
    for (let b = 0; b < count; b++) {
      const want = Array.from(gumbelBlock(key, first + b));
      const got = Array.from(out.subarray(b * 8, b * 8 + 8), gumbelFromWord);
      assert.deepEqual(got, want, `block ${first + b}`);
    }
  }
  // More than one kernel call's worth (4096 blocks), as a 32000-token vocabulary needs 4000.
  const key = samplingKey(1n, JOB, 0);
  const out = new Uint32Array(9000 * 8);
  hash(key, 0, 9000, out);
  for (const b of [0, 4095, 4096, 8191, 8192, 8999]) {
    assert.deepEqual(Array.from(out.subarray(b * 8, b * 8 + 8), gumbelFromWord), [
      ...gumbelBlock(key, b),
    ]);
  }
});

Deno.test("competitor searches agree with and without the kernel hasher", async () => {
  const hash = kernelNoiseBlockHasher(await createKernel());
  const rnd = lcg(11);
  try {
    for (let c = 0; c < 60; c++) {
      const vocab = 1 + Math.floor(rnd() * 40000);
      const spread = [0.5, 5, 40][c % 3];
      const logits = new Float32Array(vocab).map(() => (rnd() - 0.5) * spread);
      const T = [0.3, 1, 2.5][c % 3];
      const key = samplingKey(BigInt(c), JOB, c);
      const claimed = Math.floor(rnd() * vocab);
      const start = {
        token: claimed,
        score: logits[claimed] / T + gumbelBlock(key, claimed >>> 3)[claimed & 7],
      };
      useNoiseBlockHasher(null);
      const plain = bestNoisyToken(logits, T, key, start, null);
      useNoiseBlockHasher(hash);
      assert.deepEqual(bestNoisyToken(logits, T, key, start, null), plain, `case ${c}`);
    }
  } finally {
    useNoiseBlockHasher(null);
  }
});

Deno.test("a noise block hasher that disagrees is refused", async () => {
  const hash = kernelNoiseBlockHasher(await createKernel());
  assert.throws(
    () =>
      useNoiseBlockHasher((key, first, count, out) => {
        hash(key, first, count, out);
        out[count * 8 - 1] ^= 1;
      }),
    RangeError,
  );
  useNoiseBlockHasher(null);
});
