import assert from "node:assert/strict";
import fc from "fast-check";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../chain/bytes.ts";
import {
  bestNoisyToken,
  bestTokens,
  candidateTokens,
  FIXED_SEED_FLAG,
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

Deno.test("a caller-fixed seed (bit 63) keys the noise with zeros for the job id: jobs repeat", () => {
  const seed = FIXED_SEED_FLAG | 42n;
  const other = new Uint8Array(32).fill(0xab);
  const msg = new Uint8Array(14 + 8 + 32 + 4);
  msg.set(new TextEncoder().encode("camelid/sample"));
  new DataView(msg.buffer).setBigUint64(14, seed, true);
  new DataView(msg.buffer).setUint32(54, 7, true);
  assert.deepEqual(samplingKey(seed, JOB, 7), sha256(msg));
  assert.deepEqual(samplingKey(seed, JOB, 7), samplingKey(seed, other, 7));
  assert.notDeepEqual(samplingKey(42n, JOB, 7), samplingKey(42n, other, 7));
  assert.notDeepEqual(samplingKey(seed, JOB, 7), samplingKey(42n, new Uint8Array(32), 7));
  const p = { ...params(0.9, 0, 1), seed };
  const tokens = (jobId: Uint8Array) =>
    Array.from({ length: 8 }, (_, pos) => sampleToken(LOGITS50, { ...p, jobId }, pos));
  assert.deepEqual(tokens(JOB), tokens(other));
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
  assert.throws(() => bestTokens(LOGITS50, 0), RangeError);
  assert.throws(() => bestTokens(LOGITS50, 50), RangeError);
  assert.throws(() => bestTokens(LOGITS50, 1.5), RangeError);
});

/**
 * The sampler rule written out plainly (full sort, every noise value from `gumbelBlock`): the
 * reference the pruned fast paths (`sampleToken`, `candidateTokens`, `bestNoisyToken`) must match
 * bit for bit.
 */
function referenceKept(logits: Float32Array, p: SamplingParams): number[] | null {
  const V = logits.length;
  const limitK = p.topK > 0 && p.topK < V;
  if (!limitK && p.topP >= 1) return null;
  const order = [...logits.keys()].sort((a, b) => (logits[b] - logits[a]) || (a - b));
  const pool = limitK ? order.slice(0, p.topK) : order;
  if (p.topP >= 1) return pool;
  const m = Math.max(...logits) / p.temperature;
  let z = 0;
  for (const j of [...pool].sort((a, b) => a - b)) z += Math.exp(logits[j] / p.temperature - m);
  let cum = 0;
  for (let i = 0; i < pool.length; i++) {
    cum += Math.exp(logits[pool[i]] / p.temperature - m);
    if (cum >= p.topP * z) return pool.slice(0, i + 1);
  }
  return pool;
}

function referenceScore(logits: Float32Array, T: number, key: Uint8Array, j: number): number {
  return logits[j] / T + gumbelBlock(key, Math.floor(j / 8))[j % 8];
}

function referenceToken(logits: Float32Array, p: SamplingParams, pos: number): number {
  if (p.temperature === 0) {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    return best;
  }
  const key = samplingKey(p.seed, p.jobId, pos);
  const kept = referenceKept(logits, p) ?? [...logits.keys()];
  let best = -1;
  let bestScore = -Infinity;
  for (const j of kept) {
    const s = referenceScore(logits, p.temperature, key, j);
    if (best < 0 || s > bestScore || (s === bestScore && j < best)) [best, bestScore] = [j, s];
  }
  return best;
}

/** Random logits of several shapes: flat, peaked (LLM-like), with ties and -Infinity entries. */
function randomLogits(vocab: number, shape: number, rnd: () => number): Float32Array {
  const out = new Float32Array(vocab);
  for (let j = 0; j < vocab; j++) {
    const u = rnd();
    if (shape === 0) out[j] = (u - 0.5) * 30;
    else if (shape === 1) out[j] = u < 0.01 ? 5 + u * 400 : -20 + u * 6;
    else if (shape === 2) out[j] = Math.round(u * 6) / 2; // many ties
    else out[j] = u < 0.3 ? -Infinity : (u - 0.5) * 8;
  }
  if (shape === 3) out[Math.floor(rnd() * vocab)] = 1;
  return out;
}

Deno.test("fast sampler paths equal the plain reference on random logits, seeds, T (incl. 0)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2500 }),
      fc.integer({ min: 0, max: 3 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.constantFrom(0, 0.05, 0.3, 0.8, 1, 1.7, 5),
      fc.constantFrom(0, 1, 2, 40, 100, 5000),
      fc.constantFrom(1, 0.95, 0.5, 0.01),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 1, max: 0x7fffffff }),
      (vocab, shape, seed, temperature, topK, topP, pos, rseed) => {
        let state = rseed;
        const rnd = () => {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          return state / 2 ** 32;
        };
        const logits = randomLogits(vocab, shape, rnd);
        const p = { seed, jobId: JOB, temperature, topK, topP };
        assert.equal(sampleToken(logits, p, pos), referenceToken(logits, p, pos));
        if (temperature === 0) return;
        const kept = candidateTokens(logits, p);
        const ref = referenceKept(logits, p);
        assert.deepEqual(kept === null ? null : Array.from(kept), ref);
        // The verifier's one scan: the K + 1 best, whose first K give the same kept set.
        if (topK > 0 && topK + 1 < vocab) {
          const ranked = bestTokens(logits, topK + 1);
          assert.deepEqual(
            Array.from(ranked),
            referenceKept(logits, { ...p, topK: topK + 1, topP: 1 }),
          );
          const viaRanked = candidateTokens(logits, p, ranked);
          assert.deepEqual(viaRanked === null ? null : Array.from(viaRanked), ref);
        }
        // The verifier's competitor search: from a given token, skipping a random set.
        const key = samplingKey(seed, JOB, pos);
        const claimed = Math.floor(rnd() * vocab);
        const skip = new Set([...logits.keys()].filter(() => rnd() < 0.2));
        const start = { token: claimed, score: referenceScore(logits, temperature, key, claimed) };
        const got = bestNoisyToken(logits, temperature, key, start, kept, skip);
        let want = start;
        for (const j of ref ?? logits.keys()) {
          if (skip.has(j)) continue;
          const s = referenceScore(logits, temperature, key, j);
          if (s > want.score || (s === want.score && j < want.token)) want = { token: j, score: s };
        }
        assert.deepEqual(got, want);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("fast sampler paths equal the reference at a 32000-token vocabulary", () => {
  let state = 7;
  const rnd = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const cases: [number, number, number][] = [[1, 0, 1], [0.8, 40, 0.95], [1, 0, 0.9], [0, 0, 1]];
  for (let shape = 0; shape < 4; shape++) {
    const logits = randomLogits(32000, shape, rnd);
    for (const [temperature, topK, topP] of cases) {
      for (const pos of [0, 1, 99]) {
        const p = { seed: 42n + BigInt(pos), jobId: JOB, temperature, topK, topP };
        assert.equal(sampleToken(logits, p, pos), referenceToken(logits, p, pos));
      }
    }
  }
});
