import assert from "node:assert/strict";
import { sha256, sha256d } from "../chain/hash.ts";
import {
  gumbelNoise,
  samplerScores,
  sampleToken,
  samplingKey,
  type SamplingParams,
} from "./sampler.ts";
import {
  checkPosition,
  choosePositions,
  ENGLISH_WORDING,
  type JobRecord,
  outputCommitment,
  parseJobRecord,
  recordFailures,
  selectionSeed,
  SHORT_OUTPUT,
} from "./rastic.ts";

const JOB_ID = "ab".repeat(32);

function job(over: Partial<JobRecord> = {}): JobRecord {
  return {
    modelId: "00".repeat(32),
    promptTokens: [1, 5],
    outputTokens: [7, 8, 2],
    finishReason: "stop",
    seed: "42",
    jobId: JOB_ID,
    temperature: 0.8,
    topK: 0,
    topP: 1,
    maxTokens: 10,
    ...over,
  };
}

Deno.test("parseJobRecord accepts the generate --json record and decodes seed and job id", () => {
  const p = parseJobRecord(job({ seed: "18446744073709551615" }));
  assert.equal(p.params.seed, 2n ** 64n - 1n);
  assert.equal(p.jobId.length, 32);
  assert.equal(parseJobRecord(job({ seed: 7 })).params.seed, 7n);
});

Deno.test("parseJobRecord rejects malformed records with typed errors", () => {
  assert.throws(() => parseJobRecord(null), TypeError);
  assert.throws(() => parseJobRecord(job({ jobId: "AB".repeat(32) })), TypeError);
  assert.throws(() => parseJobRecord(job({ seed: "18446744073709551616" })), RangeError);
  assert.throws(() => parseJobRecord(job({ seed: "01" })), TypeError);
  assert.throws(() => parseJobRecord(job({ promptTokens: [] })), TypeError);
  assert.throws(() => parseJobRecord(job({ outputTokens: [1.5] })), TypeError);
  assert.throws(() => parseJobRecord(job({ finishReason: "eos" as "stop" })), TypeError);
  assert.throws(() => parseJobRecord(job({ topP: 0 })), RangeError);
  assert.throws(() => parseJobRecord(job({ temperature: -1 })), RangeError);
});

Deno.test("outputCommitment binds job id, tokens and finish reason in the documented layout", () => {
  const id = new Uint8Array(32).fill(0xab);
  const c = outputCommitment(id, [1, 256], "length");
  const want = sha256d(
    new Uint8Array([...id, 2, 1, 0, 0, 0, 0, 1, 0, 0, 1]),
  );
  assert.deepEqual(c, want);
  assert.notDeepEqual(outputCommitment(id, [1, 256], "stop"), c);
  assert.notDeepEqual(outputCommitment(id, [1, 257], "length"), c);
});

Deno.test("short outputs and mode all check every position", () => {
  const short = choosePositions(SHORT_OUTPUT, "stop", "sampled", 3, new Uint8Array(32));
  assert.deepEqual(short.positions, Array.from({ length: SHORT_OUTPUT }, (_, i) => i));
  assert.equal(short.kinds[0], "continuity");
  assert.equal(short.kinds[SHORT_OUTPUT - 1], "truncation");
  assert.equal(choosePositions(100, "length", "all", 3).positions.length, 100);
});

Deno.test("sampled positions: continuity, truncation and k distinct interior draws from the seed", () => {
  const seed = selectionSeed(
    { secret: new Uint8Array([1, 2, 3]) },
    new Uint8Array(32),
    new Uint8Array(32),
  );
  const a = choosePositions(200, "stop", "sampled", 5, seed);
  assert.deepEqual(a, choosePositions(200, "stop", "sampled", 5, seed));
  assert.equal(a.positions.length, 7);
  assert.equal(a.positions[0], 0);
  assert.equal(a.positions[6], 199);
  assert.ok(a.positions.slice(1, 6).every((p) => p >= 1 && p <= 198));
  const b = choosePositions(200, "length", "sampled", 5, seed);
  assert.equal(b.positions.length, 6);
  assert.ok(b.kinds.every((k, i) => (i === 0 ? k === "continuity" : k === "integrity")));
  const other = selectionSeed(
    { beacon: new Uint8Array([9]) },
    new Uint8Array(32),
    new Uint8Array(32),
  );
  assert.notDeepEqual(choosePositions(200, "stop", "sampled", 5, other).positions, a.positions);
});

Deno.test("sampled positions are uniform over the interior", () => {
  const counts = new Array(40).fill(0);
  for (let i = 0; i < 2000; i++) {
    const seed = selectionSeed(
      { secret: new Uint8Array([i & 255, i >> 8]) },
      new Uint8Array(32),
      new Uint8Array(32),
    );
    for (const p of choosePositions(40, "length", "sampled", 3, seed).positions) counts[p]++;
  }
  assert.equal(counts[0], 2000);
  const interior = counts.slice(1);
  const mean = (2000 * 3) / 39;
  for (const c of interior) {
    assert.ok(Math.abs(c - mean) < 0.35 * mean, `count ${c} vs mean ${mean}`);
  }
});

Deno.test("recordFailures finds truncation and record violations without a model", () => {
  const ends = new Set([2]);
  assert.deepEqual(recordFailures(job(), 300, ends), []);
  assert.match(
    recordFailures(job({ outputTokens: [7, 8] }), 300, ends)[0].reason,
    /not an end token/,
  );
  assert.match(
    recordFailures(job({ outputTokens: [7, 2, 9, 2] }), 300, ends)[0].reason,
    /before the end/,
  );
  assert.match(
    recordFailures(job({ finishReason: "length", outputTokens: [7, 8] }), 300, ends)[0].reason,
    /maxTokens/,
  );
  assert.deepEqual(
    recordFailures(job({ finishReason: "length", outputTokens: [7, 8], maxTokens: 2 }), 300, ends),
    [],
  );
  assert.match(
    recordFailures(job({ outputTokens: [7, 999, 2] }), 300, ends)[0].reason,
    /vocabulary/,
  );
  assert.match(recordFailures(job({ outputTokens: [] }), 300, ends)[0].reason, /no output/);
});

Deno.test("record faults carry a code, the position and token as data; the wording only words them", () => {
  const ends = new Set([2]);
  const facts = (faults: ReturnType<typeof recordFailures>) =>
    faults.map(({ reason: _reason, ...f }) => f);
  const cases: [Partial<JobRecord>, unknown[]][] = [
    [{ outputTokens: [7, 8] }, [{
      code: "stop-without-end-token",
      position: 1,
      token: 8,
      count: 2,
      maxTokens: 10,
    }]],
    [{ outputTokens: [7, 2, 9, 2] }, [{
      code: "early-end-token",
      position: 1,
      token: 2,
      count: 4,
      maxTokens: 10,
    }]],
    [{ finishReason: "length", outputTokens: [7, 8] }, [{
      code: "length-not-max-tokens",
      count: 2,
      maxTokens: 10,
    }]],
    [{ outputTokens: [] }, [{ code: "stop-without-output", count: 0, maxTokens: 10 }]],
  ];
  const silly = {
    ...ENGLISH_WORDING,
    fault: (f: { code: string }) => `nonsense ${f.code.length}`,
  };
  for (const [over, want] of cases) {
    assert.deepEqual(facts(recordFailures(job(over), 300, ends)), want);
    const reworded = recordFailures(job(over), 300, ends, silly);
    assert.deepEqual(facts(reworded), want);
    assert.match(reworded[0].reason, /^nonsense/);
  }
});

function params(over: Partial<SamplingParams> = {}): SamplingParams {
  return {
    seed: 42n,
    jobId: new Uint8Array(32).fill(0xab),
    temperature: 0.7,
    topK: 0,
    topP: 1,
    ...over,
  };
}

function randomLogits(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 8 - 4;
  });
}

Deno.test("checkPosition passes the sampled token and fails another by its logit-unit margin", () => {
  for (const p of [params(), params({ temperature: 0 }), params({ topK: 20, topP: 0.9 })]) {
    const logits = randomLogits(300, 11);
    const tok = sampleToken(logits, p, 4);
    const ok = checkPosition(logits, p, 4, "integrity", tok, 0.01, 0.8);
    assert.equal(ok.outcome, "pass");
    assert.equal(ok.best, tok);
    assert.equal(ok.margin, 0);
    const other = (tok + 1) % 300;
    const bad = checkPosition(logits, p, 4, "integrity", other, 0.01, 0.8);
    assert.ok(bad.margin > 0.01 && bad.outcome !== "pass");
  }
});

Deno.test("checkPosition tolerates noise below epsilon and calls a near-tie near, not fail", () => {
  const p = params({ temperature: 0 });
  const logits = randomLogits(300, 5);
  const tok = sampleToken(logits, p, 0);
  const noisy = logits.slice();
  const second =
    Array.from(noisy.keys()).filter((j) => j !== tok).sort((a, b) => noisy[b] - noisy[a])[0];
  noisy[second] = noisy[tok] + 0.005;
  assert.equal(checkPosition(noisy, p, 0, "integrity", tok, 0.01, 0.8).outcome, "pass");
  noisy[second] = noisy[tok] + 0.3;
  const near = checkPosition(noisy, p, 0, "integrity", tok, 0.01, 0.8);
  assert.equal(near.outcome, "near");
  assert.match(near.reason!, /near-tie/);
  noisy[second] = noisy[tok] + 2;
  assert.equal(checkPosition(noisy, p, 0, "integrity", tok, 0.01, 0.8).outcome, "fail");
});

Deno.test("a token outside the top-k set fails by its distance to the kept set", () => {
  const p = params({ topK: 5 });
  const logits = randomLogits(300, 3);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  const outside = order[150];
  const r = checkPosition(logits, p, 2, "integrity", outside, 0.01, 0.8);
  assert.equal(r.outcome, "fail");
  assert.ok(r.margin >= logits[order[4]] - logits[outside] - 1e-6);
  assert.match(r.reason!, /top-k/);
});

/** The filter gap written out over the whole vocabulary sorted by a comparator (the reference). */
function plainFilterGap(logits: Float32Array, p: SamplingParams, token: number): number {
  const V = logits.length;
  const order = [...logits.keys()].sort((a, b) => (logits[b] - logits[a]) || (a - b));
  const r = order.indexOf(token);
  const limitK = p.topK > 0 && p.topK < V;
  let gap = limitK && r >= p.topK ? logits[order[p.topK - 1]] - logits[token] : 0;
  if (p.topP < 1) {
    const T = p.temperature;
    const w = (j: number) => Math.exp(logits[j] / T - logits[order[0]] / T);
    const a = limitK ? Math.min(r, p.topK - 1) : r;
    let before = 0;
    for (let i = 0; i < a; i++) before += w(order[i]);
    let z = before + w(token);
    const window = limitK ? p.topK : V;
    for (let i = a, filled = a + 1; filled < window && i < V; i++) {
      if (order[i] === token) continue;
      z += w(order[i]);
      filled++;
    }
    if (before >= p.topP * z && p.topP * z > 0) {
      gap = Math.max(gap, T * Math.log(before / (p.topP * z)));
    }
  }
  return Math.max(gap, 0);
}

Deno.test("a filtered claim's margin is the plain rule over the fully sorted vocabulary", () => {
  // Under top-k the check reads only the K + 1 best tokens; the reference sorts them all.
  let filtered = 0;
  for (let i = 0; i < 150; i++) {
    const p = params({
      temperature: [0.3, 0.8, 1.5][i % 3],
      topK: [0, 1, 5, 40, 299][i % 5],
      topP: [1, 0.9, 0.5][Math.floor(i / 5) % 3],
    });
    const logits = randomLogits(300, 500 + i);
    if (i % 4 === 0) { for (let j = 0; j < 300; j += 2) logits[j] = Math.round(logits[j]); // ties
     }
    const scores = samplerScores(logits, p, i);
    const key = samplingKey(p.seed, p.jobId, i);
    for (const claimed of [(i * 37) % 300, (i * 91 + 5) % 300, (i * 13 + 1) % 300]) {
      if (scores[claimed] !== -Infinity) continue;
      filtered++;
      const own = logits[claimed] / p.temperature + gumbelNoise(key, claimed);
      const best = Math.max(own, ...scores);
      const want = Math.max(0, (best - own) * p.temperature, plainFilterGap(logits, p, claimed));
      const r = checkPosition(logits, p, i, "integrity", claimed, 0.01, 0.8, -1);
      assert.equal(r.margin, want);
      assert.equal(r.filtered, true);
    }
  }
  assert.ok(filtered > 100, `${filtered} filtered claims`);
});

Deno.test("position draws follow the documented byte layout (independent re-derivation)", () => {
  const secret = new Uint8Array([1, 2, 3]);
  const commitment = new Uint8Array(32).fill(4);
  const jobId = new Uint8Array(32).fill(5);
  const seed = sha256(new Uint8Array([...secret, ...commitment, ...jobId]));
  assert.deepEqual(selectionSeed({ secret }, commitment, jobId), seed);
  // Words: u64 LE from SHA256(seed || counter u32 LE), bytes 0..7 first; rejection above the
  // largest multiple of m; partial Fisher-Yates over the ascending interior.
  const words: bigint[] = [];
  for (let c = 0; c < 4; c++) {
    const d = new DataView(sha256(new Uint8Array([...seed, c, 0, 0, 0])).buffer);
    for (let i = 0; i < 4; i++) words.push(d.getBigUint64(8 * i, true));
  }
  let w = 0;
  const below = (m: number) => {
    const limit = ((1n << 64n) / BigInt(m)) * BigInt(m);
    for (;;) {
      const x = words[w++];
      if (x < limit) return Number(x % BigInt(m));
    }
  };
  const pool = Array.from({ length: 98 }, (_, i) => i + 1); // n = 100, "stop": interior 1..98
  for (let t = 0; t < 4; t++) {
    const j = t + below(pool.length - t);
    [pool[t], pool[j]] = [pool[j], pool[t]];
  }
  const want = [0, ...pool.slice(0, 4), 99].sort((a, b) => a - b);
  assert.deepEqual(choosePositions(100, "stop", "sampled", 4, seed).positions, want);
});

Deno.test("a token that noise moved across the top-k boundary cannot convict an honest claim", () => {
  const p = params({ topK: 5, temperature: 1 });
  const base = randomLogits(300, 17);
  const order = Array.from(base.keys()).sort((a, b) => base[b] - base[a]);
  const [y, x] = [order[4], order[5]]; // last kept, first excluded
  // Verifier: y just above x (y kept); generator: x just above y (x kept, y filtered).
  const verifier = base.slice();
  verifier[y] = base[x] + 0.001;
  const generator = base.slice();
  generator[y] = base[x] - 0.001;
  let position = -1;
  for (let pos = 0; pos < 500; pos++) {
    if (sampleToken(verifier, p, pos) === y && sampleToken(generator, p, pos) !== y) {
      position = pos;
      break;
    }
  }
  assert.ok(position >= 0, "some position has the boundary token winning");
  const claimed = sampleToken(generator, p, position);
  const r = checkPosition(verifier, p, position, "integrity", claimed, 0.01, 0.8);
  assert.equal(r.outcome, "pass", String(r.reason));
  // Without the boundary slack the same claim would look far off.
  const strict = checkPosition(verifier, p, position, "integrity", claimed, 0.01, 0.8, 0);
  assert.notEqual(strict.outcome, "pass");
});

Deno.test("checkPosition's pruned search agrees with the sampler's full score vector", () => {
  for (let i = 0; i < 60; i++) {
    const p = params({
      temperature: [0, 0.3, 0.8, 1.5][i % 4],
      topK: [0, 5, 40][i % 3],
      topP: [1, 0.9, 0.5][(i >> 2) % 3],
    });
    const logits = randomLogits(300, 100 + i);
    const scores = samplerScores(logits, p, i);
    const claimed = (i * 37) % 300;
    let best = 0;
    for (let j = 1; j < 300; j++) if (scores[j] > scores[best]) best = j;
    const r = checkPosition(logits, p, i, "integrity", claimed, 0.01, 0.8, -1);
    assert.equal(sampleToken(logits, p, i), best);
    if (scores[claimed] !== -Infinity) {
      assert.equal(r.best, best);
      const T = p.temperature || 1;
      assert.ok(Math.abs(r.margin - (scores[best] - scores[claimed]) * T) < 1e-9);
    } else {
      assert.ok(r.margin > 0);
    }
    assert.equal(checkPosition(logits, p, i, "integrity", best, 0.01, 0.8, -1).margin, 0);
  }
});
