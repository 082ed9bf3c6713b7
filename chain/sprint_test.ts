/** @module Tests of the sprint rules without the model (chain/sprint.ts, chain/sprint_stats.ts). */

import assert from "node:assert/strict";
import { networkParams } from "./params.ts";
import {
  centeredUnit,
  checkSprintNonces,
  referenceSprintWords,
  sprintAt,
  sprintDistance,
  sprintNodeSeed,
  sprintNonceKey,
  sprintPermutation,
  sprintSample,
  sprintTarget,
} from "./sprint.ts";
import { maxSprintMismatches } from "./sprint_stats.ts";
import { ValidationError } from "./errors.ts";
import { sha256 } from "./hash.ts";

const dev = networkParams("dev").sprint;

Deno.test("sprint windows: heights start+1 .. start+window of sprints 1, 2, ...", () => {
  assert.equal(sprintAt(dev, 5), null); // sprint 0 does not exist (no block to seed it)
  assert.equal(sprintAt(dev, 10), null);
  assert.deepEqual(sprintAt(dev, 11), { index: 1, start: 10 });
  assert.deepEqual(sprintAt(dev, 14), { index: 1, start: 10 });
  assert.equal(sprintAt(dev, 15), null);
  assert.equal(sprintAt(dev, 20), null);
  assert.deepEqual(sprintAt(dev, 21), { index: 2, start: 20 });
  const main = networkParams("main").sprint;
  assert.deepEqual(sprintAt(main, 720 * 3 + 15), { index: 3, start: 2160 });
  assert.equal(sprintAt(main, 720 * 3 + 16), null);
});

Deno.test("sprint streams: block b is SHA-256(key || b LE) as big-endian words", () => {
  const key = sha256(new Uint8Array([1, 2, 3]));
  const w = referenceSprintWords(key, 19);
  assert.equal(w.length, 19);
  const msg = new Uint8Array(36);
  msg.set(key);
  msg[32] = 2;
  const d = new DataView(sha256(msg).buffer);
  assert.equal(w[16], d.getUint32(0, false));
  assert.equal(w[18], d.getUint32(8, false));
});

Deno.test("sprint seeds differ by node, nonce and sprint", () => {
  const a = sprintNodeSeed(new Uint8Array(33).fill(2));
  const b = sprintNodeSeed(new Uint8Array(33).fill(3));
  assert.notDeepEqual(a, b);
  const s = new Uint8Array(32).fill(1);
  assert.notDeepEqual(sprintNonceKey(s, a, 1), sprintNonceKey(s, a, 2));
  assert.notDeepEqual(sprintNonceKey(s, a, 1), sprintNonceKey(s, b, 1));
  assert.notDeepEqual(sprintNonceKey(s, a, 1), sprintNonceKey(new Uint8Array(32), a, 1));
});

Deno.test("sprint permutation is a permutation; target is centered and unit", () => {
  const words = referenceSprintWords(new Uint8Array(32).fill(9), 8 + 127);
  const perm = sprintPermutation(dev, words);
  assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 128 }, (_, i) => i));
  const t = sprintTarget(dev, new Uint8Array(32).fill(4));
  assert.ok(Math.abs(t.reduce((s, x) => s + x, 0)) < 1e-12);
  assert.ok(Math.abs(Math.hypot(...t) - 1) < 1e-12);
  // The target itself (identity permutation) is at distance 0, its negation at 2.
  const id = Uint32Array.from({ length: 128 }, (_, i) => i);
  assert.ok(sprintDistance(t, id, t) < 1e-12);
  assert.ok(Math.abs(sprintDistance(t.map((x) => -x), id, t) - 2) < 1e-12);
  assert.ok(Number.isNaN(sprintDistance(new Float32Array(128).fill(3), id, t)));
  assert.ok(centeredUnit([1, 1]).every(Number.isNaN));
});

Deno.test("sprint nonce lists: 1..maxNonces strictly ascending u32", () => {
  checkSprintNonces(dev, [0, 5, 0xffffffff]);
  for (
    const bad of [
      [],
      [3, 3],
      [5, 4],
      [-1],
      [1.5],
      [2 ** 32],
      new Array(1025).fill(0).map((_, i) => i),
    ]
  ) {
    assert.throws(
      () => checkSprintNonces(dev, bad),
      (e) => e instanceof ValidationError && e.code === "sprint/bad-nonces",
    );
  }
});

Deno.test("sprint sample: distinct, ascending, in range, set by the seed", () => {
  const seed = sha256(new Uint8Array([7]));
  const s = sprintSample(dev, seed, 100);
  assert.equal(s.length, dev.sampleSize);
  assert.equal(new Set(s).size, s.length);
  assert.ok(s.every((i, j) => i >= 0 && i < 100 && (j === 0 || i > s[j - 1])));
  assert.deepEqual(sprintSample(dev, seed, 100), s);
  assert.notDeepEqual(sprintSample(dev, sha256(new Uint8Array([8])), 100), s);
  assert.deepEqual(sprintSample(dev, seed, 5), [0, 1, 2, 3, 4]);
  // Every index is drawn about equally often over many seeds.
  const hits = new Array(40).fill(0);
  for (let i = 0; i < 500; i++) {
    for (const j of sprintSample(dev, sha256(new Uint8Array([i & 255, i >> 8])), 40)) hits[j]++;
  }
  const mean = 500 * 16 / 40;
  assert.ok(hits.every((h) => Math.abs(h - mean) < 0.3 * mean), String(hits));
});

Deno.test("binomial limit: exact, matches the float tail, monotone", () => {
  const p0 = { num: 1, den: 100 }, alpha = { num: 1, den: 10_000 };
  // Values from P(X >= m) over Binomial(k, 0.01) computed independently in floating point.
  const want: [number, number][] = [[0, 0], [1, 1], [2, 2], [5, 2], [16, 3], [32, 4], [64, 5]];
  for (const [k, m] of want) assert.equal(maxSprintMismatches(k, p0, alpha), m, `k=${k}`);
  const tail = (k: number, m: number, p: number) => {
    let s = 0, c = 1;
    for (let j = 0; j <= k; j++) {
      if (j > 0) c = c * (k - j + 1) / j;
      if (j >= m) s += c * p ** j * (1 - p) ** (k - j);
    }
    return s;
  };
  for (let k = 1; k <= 128; k += 7) {
    const m = maxSprintMismatches(k, { num: 1, den: 20 }, { num: 1, den: 1000 });
    assert.ok(tail(k, m, 0.05) >= 1e-3 * (1 - 1e-9));
    if (m < k) assert.ok(tail(k, m + 1, 0.05) < 1e-3 * (1 + 1e-9));
  }
  assert.throws(() => maxSprintMismatches(-1, p0, alpha), RangeError);
});
