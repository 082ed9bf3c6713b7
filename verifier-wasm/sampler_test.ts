import assert from "node:assert/strict";
import fc from "fast-check";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../chain/bytes.ts";
import {
  G_MAX,
  gumbelBlock,
  gumbelFromWord,
  gumbelNoise,
  samplerScores,
  sampleToken,
  samplingKey,
  type SamplingParams,
} from "./sampler.ts";

const JOB = new Uint8Array(32).map((_, i) => i);
const LOGITS50 = new Float32Array(50).map((_, i) => Math.sin(i * 1.3) * 2);

function params(temperature: number, topK = 0, topP = 1, seed = 42n): SamplingParams {
  return { seed, jobId: JOB, temperature, topK, topP };
}

function argmax(scores: Float64Array): number {
  let best = 0;
  for (let j = 1; j < scores.length; j++) if (scores[j] > scores[best]) best = j;
  return best;
}

Deno.test("sampling key is SHA256(tag || seed u64 LE || jobId || position u32 LE)", () => {
  const msg = new Uint8Array(14 + 8 + 32 + 4);
  msg.set(new TextEncoder().encode("camelid/sample"));
  new DataView(msg.buffer).setBigUint64(14, 42n, true);
  msg.set(JOB, 22);
  new DataView(msg.buffer).setUint32(54, 7, true);
  const key = samplingKey(42n, JOB, 7);
  assert.deepEqual(key, sha256(msg));
  assert.equal(toHex(key), "d02394d7e210bb4c0665bb13c1c42b851d0cfa6c30a5dbf0665ab16ac13b28f8");
});

Deno.test("noise blocks equal SHA256(key || block u32 LE) read as big-endian words", () => {
  const key = samplingKey(42n, JOB, 7);
  for (const block of [0, 1, 255, 256, 65537, 0xffffffff]) {
    const msg = new Uint8Array(36);
    msg.set(key);
    new DataView(msg.buffer).setUint32(32, block, true);
    const d = new DataView(sha256(msg).buffer);
    const expected = Array.from({ length: 8 }, (_, w) => gumbelFromWord(d.getUint32(4 * w)));
    assert.deepEqual(Array.from(gumbelBlock(key, block)), expected);
  }
  assert.equal(gumbelNoise(key, 9), gumbelBlock(key, 1)[1]);
});

Deno.test("golden noise vector for seed 42, jobId 00..1f, position 7", () => {
  const key = samplingKey(42n, JOB, 7);
  assert.deepEqual(Array.from(gumbelBlock(key, 0)), [
    2.2943013669918244,
    -0.30036224592123806,
    -1.0025815928163435,
    -0.0653230476485745,
    0.8777826757613401,
    1.7236571333832238,
    -0.16504497783153313,
    -0.36622370833108037,
  ]);
  assert.equal(gumbelFromWord(0), -Math.log(-Math.log(0.5 / 2 ** 32)));
  assert.ok(G_MAX > gumbelFromWord(0xffffffff));
});

Deno.test("golden sampled tokens over positions 0..7", () => {
  const cases: [number, number, number, string][] = [
    [0, 0, 1, "35,35,35,35,35,35,35,35"],
    [1, 0, 1, "30,25,39,30,46,6,36,11"],
    [0.7, 5, 1, "30,30,35,30,30,6,30,11"],
    [1.3, 0, 0.6, "30,25,26,30,30,6,1,11"],
    [1, 10, 0.9, "30,25,1,30,30,6,1,11"],
  ];
  for (const [t, k, p, expected] of cases) {
    const got = [0, 1, 2, 3, 4, 5, 6, 7].map((pos) => sampleToken(LOGITS50, params(t, k, p), pos));
    assert.equal(got.join(","), expected, `T=${t} k=${k} p=${p}`);
  }
  assert.equal(samplerScores(LOGITS50, params(1), 3)[7], 2.5576809703471803);
});

Deno.test("scores are logit / T + g for kept tokens and -Infinity for filtered ones", () => {
  const p = params(0.7, 5);
  const scores = samplerScores(LOGITS50, p, 3);
  const key = samplingKey(42n, JOB, 3);
  const kept = [...scores.keys()].filter((j) => scores[j] !== -Infinity);
  assert.equal(kept.length, 5);
  const top5 = [...LOGITS50.keys()].sort((a, b) => LOGITS50[b] - LOGITS50[a] || a - b).slice(0, 5);
  assert.deepEqual(kept, top5.sort((a, b) => a - b));
  for (const j of kept) assert.equal(scores[j], LOGITS50[j] / 0.7 + gumbelNoise(key, j));
});

Deno.test("sampleToken is the argmax of samplerScores for any parameters", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.double({ min: 0.05, max: 4, noNaN: true }),
      fc.integer({ min: 0, max: 60 }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 1 << 20 }),
      fc.double({ min: 0.1, max: 30, noNaN: true }),
      (vocab, seed, t, k, p, pos, spread) => {
        const logits = new Float32Array(vocab).map((_, i) =>
          Math.round(Math.sin(i * 0.77 + seed) * spread * 4) / 4
        );
        const prm = params(t, k, p, BigInt(seed));
        assert.equal(sampleToken(logits, prm, pos), argmax(samplerScores(logits, prm, pos)));
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("temperature 0 is greedy, ties go to the lowest id", () => {
  const logits = new Float32Array([1, 5, 2, 5, -1]);
  assert.equal(sampleToken(logits, params(0), 0), 1);
  assert.equal(sampleToken(logits, params(0, 1, 0.1), 9), 1);
  assert.deepEqual(Array.from(samplerScores(logits, params(0), 0)), [1, 5, 2, 5, -1]);
});

Deno.test("top-k 1 and tiny top-p always pick the most likely token", () => {
  for (let pos = 0; pos < 50; pos++) {
    assert.equal(sampleToken(LOGITS50, params(2, 1), pos), 35);
    assert.equal(sampleToken(LOGITS50, params(2, 0, 1e-6), pos), 35);
  }
});

Deno.test("Gumbel-max sampling follows softmax(logit / T)", () => {
  // p = [0.1, 0.2, 0.7] at T = 1; 4000 positions.
  const logits = new Float32Array([Math.log(0.1), Math.log(0.2), Math.log(0.7)]);
  const counts = [0, 0, 0];
  for (let pos = 0; pos < 4000; pos++) counts[sampleToken(logits, params(1), pos)]++;
  assert.ok(Math.abs(counts[0] / 4000 - 0.1) < 0.025, `${counts}`);
  assert.ok(Math.abs(counts[1] / 4000 - 0.2) < 0.03, `${counts}`);
  assert.ok(Math.abs(counts[2] / 4000 - 0.7) < 0.03, `${counts}`);
  // Halving the temperature sharpens: p ∝ [0.01, 0.04, 0.49].
  const sharp = [0, 0, 0];
  for (let pos = 0; pos < 4000; pos++) sharp[sampleToken(logits, params(0.5), pos)]++;
  assert.ok(sharp[2] / 4000 > 0.87, `${sharp}`);
});

Deno.test("different seeds, job ids and positions give different noise", () => {
  const a = gumbelBlock(samplingKey(1n, JOB, 0), 0);
  assert.notDeepEqual(a, gumbelBlock(samplingKey(2n, JOB, 0), 0));
  assert.notDeepEqual(a, gumbelBlock(samplingKey(1n, new Uint8Array(32), 0), 0));
  assert.notDeepEqual(a, gumbelBlock(samplingKey(1n, JOB, 1), 0));
});

Deno.test("top-p over a 32000-token vocabulary keeps the shortest prefix reaching the mass", () => {
  const logits = new Float32Array(32000).map((_, i) => Math.sin(i * 0.37) * 3 + Math.cos(i * 1.7));
  const p = params(1, 0, 0.5);
  const scores = samplerScores(logits, p, 0);
  const kept = [...scores.keys()].filter((j) => scores[j] !== -Infinity);
  const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b);
  assert.deepEqual(kept.sort((a, b) => a - b), order.slice(0, kept.length).sort((a, b) => a - b));
  let m = -Infinity;
  for (const v of logits) m = Math.max(m, v);
  let z = 0;
  for (const v of logits) z += Math.exp(v - m);
  let cum = 0;
  for (let i = 0; i < kept.length; i++) cum += Math.exp(logits[order[i]] - m);
  assert.ok(cum >= 0.5 * z && cum - Math.exp(logits[order[kept.length - 1]] - m) < 0.5 * z);
  assert.equal(sampleToken(logits, p, 0), argmax(scores));
});

Deno.test("bad parameters and logits are rejected with RangeError/TypeError", () => {
  assert.throws(() => sampleToken(LOGITS50, { ...params(1), seed: -1n }, 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, { ...params(1), seed: 1n << 64n }, 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, { ...params(1), jobId: new Uint8Array(31) }, 0));
  assert.throws(() => sampleToken(LOGITS50, params(-1), 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, params(NaN), 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, params(1, 1.5), 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, params(1, 0, 0), 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, params(1, 0, 1.1), 0), RangeError);
  assert.throws(() => sampleToken(LOGITS50, params(1), -1), RangeError);
  assert.throws(() => sampleToken(LOGITS50, params(1), 2 ** 32), RangeError);
  assert.throws(() => sampleToken(new Float32Array(0), params(1), 0), TypeError);
  assert.throws(() => sampleToken(new Float32Array([1, NaN]), params(1), 0), RangeError);
  assert.throws(() => sampleToken(new Float32Array([-Infinity]), params(1), 0), RangeError);
});
