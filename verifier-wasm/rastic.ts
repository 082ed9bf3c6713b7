/**
 * @module RASTiC's pure logic: the job record, the output commitment, the structural (record-only)
 * checks, the choice of checked positions from randomness fixed after the commitment, the per-position
 * score comparison against a backend's logits, and the calibrated tolerances.
 *
 * Everything here is runtime-neutral TypeScript (no Deno, Node or DOM APIs) so the bundled verifier
 * runs it unchanged in Deno, Node and browsers. The orchestration (loading a backend, the one
 * prefill pass) lives in mod.ts.
 *
 * Margins are measured in logit units: for T > 0 the sampler's score gap (best - claimed) times T,
 * for T = 0 the logit gap. Backend noise perturbs logits, so a tolerance in logit units holds for
 * every temperature.
 */

import { fromHex, isHex32 } from "../chain/bytes.ts";
import { outputCommitment } from "../chain/commitment.ts";
import { sha256 } from "../chain/hash.ts";
import {
  bestNoisyToken,
  bestTokens,
  candidateOrder,
  candidateTokens,
  gumbelNoise,
  samplingKey,
  type SamplingParams,
  validateSamplingParams,
} from "./sampler.ts";
import {
  type CheckedPosition,
  type CheckKind,
  ENGLISH_WORDING,
  type PositionOutcome,
  type RecordFault,
  type RecordFaultFacts,
  type VerdictWording,
} from "./verdict.ts";

export * from "./verdict.ts";

/** The job record: exactly the JSON object `main.ts generate --json` prints. */
export interface JobRecord {
  /** Model id (lowercase hex Merkle root of the GGUF file's 1 MiB chunks). */
  modelId: string;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Claimed output token ids. */
  outputTokens: number[];
  /** Why generation ended. */
  finishReason: "stop" | "length";
  /** Job seed (decimal string, safe integer, or bigint), 0 <= seed < 2^64. */
  seed: string | number | bigint;
  /** Job id, 64 lowercase hex characters. */
  jobId: string;
  /** Temperature (0 = greedy). */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off). */
  topP: number;
  /** Maximum output tokens. */
  maxTokens: number;
  /** Generation timings (ignored by the verifier). */
  timings?: unknown;
}

/** A job record validated and decoded for checking. */
export interface ParsedJob {
  /** The record as given. */
  record: JobRecord;
  /** Sampling parameters (seed as bigint, job id as bytes). */
  params: SamplingParams;
  /** 32-byte job id. */
  jobId: Uint8Array;
}

/** A verifier backend pair: which runtime generated, which one checks. */
export type BackendName = "llama" | "wasm" | "onnx";
/** Weight storage types the tolerances are calibrated for. */
export type WeightType = "f32" | "f16" | "q8_0";

/**
 * Calibrated epsilon (logit units) per generator -> verifier backend pair and weight type: a
 * position passes when its margin is at most this. From `deno task calibrate` (method and data in
 * docs/verification.md): max(2 x the largest honest margin, 4 x the largest logit difference
 * between the logits the generator sampled from and the verifier's), rounded up to two digits,
 * the largest of four runs (about 2,000 positions per pair and type each).
 */
export const EPSILON: Readonly<Record<string, Readonly<Record<WeightType, number>>>> = {
  "llama->llama": { f32: 0.0072, f16: 0.026, q8_0: 0.57 },
  "llama->wasm": { f32: 0.0098, f16: 0.032, q8_0: 0.74 },
  "llama->onnx": { f32: 0.015, f16: 0.026, q8_0: 0.63 },
  "wasm->wasm": { f32: 0.001, f16: 0.001, q8_0: 0.001 },
  "wasm->onnx": { f32: 0.016, f16: 0.026, q8_0: 0.7 },
  "onnx->onnx": { f32: 0.001, f16: 0.001, q8_0: 0.001 },
  "onnx->wasm": { f32: 0.016, f16: 0.026, q8_0: 0.7 },
};

/**
 * The hard fraud threshold (logit units) per weight type: a position is a provable failure only
 * when its margin exceeds this, 2 x the largest epsilon of any backend pair for that weight type
 * (every validator of a model sees the same weight type). Margins between a pair's epsilon and
 * this are near-ties: inconclusive, never fraud.
 */
export const FRAUD_THRESHOLD: Readonly<Record<WeightType, number>> = (() => {
  const out = { f32: 0, f16: 0, q8_0: 0 };
  for (const e of Object.values(EPSILON)) {
    for (const t of ["f32", "f16", "q8_0"] as const) out[t] = Math.max(out[t], 2 * e[t]);
  }
  return out;
})();

/** Outputs of at most this many tokens are checked at every position. */
export const SHORT_OUTPUT = 16;

/** The epsilon for a generator -> verifier pair and weight type. */
export function epsilonFor(
  generator: BackendName,
  verifier: BackendName,
  type: WeightType,
): number {
  const e = EPSILON[`${generator}->${verifier}`];
  if (!e) throw new RangeError(`no calibrated epsilon for ${generator} -> ${verifier}`);
  return e[type];
}

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((t) => Number.isSafeInteger(t) && t >= 0 && t <= 0xffffffff);
}

/**
 * Validates a parsed JSON job record (strict: required fields with the right types and ranges) and
 * decodes its seed and job id. Throws `TypeError`/`RangeError` naming the bad field.
 */
export function parseJobRecord(json: unknown): ParsedJob {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError("job record must be a JSON object");
  }
  const r = json as Record<string, unknown>;
  if (!isHex32(r.modelId)) {
    throw new TypeError("job.modelId must be 64 lowercase hex characters");
  }
  if (!isTokenArray(r.promptTokens) || r.promptTokens.length === 0) {
    throw new TypeError("job.promptTokens must be a non-empty array of token ids");
  }
  if (!isTokenArray(r.outputTokens)) throw new TypeError("job.outputTokens must be token ids");
  if (r.finishReason !== "stop" && r.finishReason !== "length") {
    throw new TypeError('job.finishReason must be "stop" or "length"');
  }
  let seed: bigint;
  if (typeof r.seed === "bigint") seed = r.seed;
  else if (typeof r.seed === "number" && Number.isSafeInteger(r.seed)) seed = BigInt(r.seed);
  else if (typeof r.seed === "string" && /^(0|[1-9][0-9]*)$/.test(r.seed)) seed = BigInt(r.seed);
  else throw new TypeError("job.seed must be a non-negative integer (number or decimal string)");
  if (seed >= 1n << 64n) throw new RangeError("job.seed must be below 2^64");
  if (!isHex32(r.jobId)) {
    throw new TypeError("job.jobId must be 64 lowercase hex characters");
  }
  const num = (name: string) => {
    const v = r[name];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(`job.${name} must be a number`);
    }
    return v;
  };
  const temperature = num("temperature");
  const topK = num("topK");
  const topP = num("topP");
  const maxTokens = num("maxTokens");
  if (temperature < 0) throw new RangeError("job.temperature must be >= 0");
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError("job.topK must be an integer >= 0");
  if (!(topP > 0 && topP <= 1)) throw new RangeError("job.topP must be in (0, 1]");
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) {
    throw new RangeError("job.maxTokens must be an integer >= 0");
  }
  const jobId = fromHex(r.jobId, 32);
  const record = { ...r, seed: r.seed } as JobRecord;
  return { record, jobId, params: { seed, jobId, temperature, topK, topP } };
}

/** The node's output commitment (defined with the ledger, which commits stakes to it). */
export { outputCommitment };

/** Where position randomness comes from: the checker's own secret, or a public beacon. */
export type Randomness = { secret: Uint8Array } | { beacon: Uint8Array };

/**
 * The 32-byte seed of position selection, fixed only after the commitment:
 * SHA256(secret || commitment || jobId), or SHA256(beacon || commitment || jobId) where the beacon
 * is a block hash mined after the commitment.
 */
export function selectionSeed(
  randomness: Randomness,
  commitment: Uint8Array,
  jobId: Uint8Array,
): Uint8Array {
  const r = "secret" in randomness ? randomness.secret : randomness.beacon;
  if (!(r instanceof Uint8Array) || r.length === 0) {
    throw new RangeError("randomness must be non-empty bytes");
  }
  const msg = new Uint8Array(r.length + commitment.length + jobId.length);
  msg.set(r, 0);
  msg.set(commitment, r.length);
  msg.set(jobId, r.length + commitment.length);
  return sha256(msg);
}

/** Uniform integers in [0, bound) from SHA256(seed || counter u32 LE), by rejection on u64 words. */
class SeededDraw {
  #seed: Uint8Array;
  #counter = 0;
  #words: bigint[] = [];
  constructor(seed: Uint8Array) {
    this.#seed = seed;
  }
  #next(): bigint {
    if (this.#words.length === 0) {
      const msg = new Uint8Array(this.#seed.length + 4);
      msg.set(this.#seed);
      new DataView(msg.buffer).setUint32(this.#seed.length, this.#counter++, true);
      const h = new DataView(sha256(msg).buffer);
      for (let i = 3; i >= 0; i--) this.#words.push(h.getBigUint64(8 * i, true));
    }
    return this.#words.pop()!;
  }
  below(bound: number): number {
    const b = BigInt(bound);
    const limit = ((1n << 64n) / b) * b;
    for (;;) {
      const x = this.#next();
      if (x < limit) return Number(x % b);
    }
  }
}

/** The positions to check and why. */
export interface PositionPlan {
  /** Ascending output indices. */
  positions: number[];
  /** Why each position (same order) is checked. */
  kinds: CheckKind[];
}

/**
 * Chooses the checked output positions. Always: 0 (continuity) and, for finish "stop", the last
 * (truncation). Mode "all", or outputs of at most {@link SHORT_OUTPUT} tokens: every position.
 * Mode "sampled": k distinct interior positions drawn uniformly (partial Fisher-Yates over the
 * interior in ascending order, driven by {@link selectionSeed}).
 */
export function choosePositions(
  n: number,
  finishReason: "stop" | "length",
  mode: "all" | "sampled",
  k: number,
  seed?: Uint8Array,
): PositionPlan {
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError("k must be an integer >= 0");
  const kindOf = (p: number): CheckKind =>
    p === 0 ? "continuity" : finishReason === "stop" && p === n - 1 ? "truncation" : "integrity";
  let positions: number[];
  if (n === 0) positions = [];
  else if (mode === "all" || n <= SHORT_OUTPUT) positions = Array.from({ length: n }, (_, i) => i);
  else {
    if (!seed) throw new RangeError("sampled positions need a selection seed");
    const lastInterior = finishReason === "stop" ? n - 2 : n - 1;
    const pool = Array.from({ length: lastInterior }, (_, i) => i + 1);
    const take = Math.min(k, pool.length);
    const draw = new SeededDraw(seed);
    for (let t = 0; t < take; t++) {
      const j = t + draw.below(pool.length - t);
      [pool[t], pool[j]] = [pool[j], pool[t]];
    }
    const set = new Set([0, ...pool.slice(0, take)]);
    if (finishReason === "stop") set.add(n - 1);
    positions = [...set].sort((a, b) => a - b);
  }
  return { positions, kinds: positions.map(kindOf) };
}

/**
 * Structural checks of the record: token ids inside the vocabulary, at most maxTokens outputs,
 * finish "length" has exactly maxTokens and no end token, finish "stop" ends with an end token
 * and has none earlier. Each finding is provable from the record, so it is fraud. `wording` words
 * each fault's `reason` (display only).
 */
export function recordFailures(
  job: JobRecord,
  vocabSize: number,
  endTokens: ReadonlySet<number>,
  wording: VerdictWording = ENGLISH_WORDING,
): RecordFault[] {
  const facts: RecordFaultFacts[] = [];
  const n = job.outputTokens.length;
  const at = (code: RecordFaultFacts["code"], position?: number, token?: number) => {
    const f: RecordFaultFacts = { code, count: n, maxTokens: job.maxTokens };
    if (position !== undefined) f.position = position;
    if (token !== undefined) f.token = token;
    facts.push(f);
  };
  job.outputTokens.forEach((t, i) => {
    if (t >= vocabSize) at("token-outside-vocabulary", i, t);
  });
  if (n > job.maxTokens) at("too-many-tokens");
  const lastEnd = job.finishReason === "stop" ? n - 1 : n;
  for (let i = 0; i < lastEnd; i++) {
    if (endTokens.has(job.outputTokens[i])) at("early-end-token", i, job.outputTokens[i]);
  }
  if (job.finishReason === "length" && n !== job.maxTokens) at("length-not-max-tokens");
  if (job.finishReason === "stop") {
    if (n === 0) at("stop-without-output");
    else if (!endTokens.has(job.outputTokens[n - 1])) {
      at("stop-without-end-token", n - 1, job.outputTokens[n - 1]);
    }
  }
  return facts.map((f) => ({ ...f, reason: wording.fault(f) }));
}

/**
 * How far (logit units) a token the sampler filtered out is from being kept. With all tokens in
 * candidate order and r the token's rank: for top-k (r >= K), the gap to the K-th logit; for top-p,
 * with a = the tokens it would still trail once inside the top-k window (min(r, K - 1)), `before` their
 * mass and Z the window's mass with the token in it, T * ln(before / (topP * Z)) when positive.
 * With top-k every rank read is below K, so `first` (the K + 1 best, or null) stands in for the
 * whole order, and a token outside it counts as rank K (the same a and the same gap as its own).
 */
function filterGap(
  logits: Float32Array,
  params: SamplingParams,
  token: number,
  first: Uint32Array | null,
): number {
  const { temperature: T, topK, topP } = params;
  const V = logits.length;
  const limitK = topK > 0 && topK < V;
  const order = limitK && first !== null ? first.subarray(0, topK) : candidateOrder(logits);
  let r = order.indexOf(token);
  if (r < 0) r = order.length;
  let gap = 0;
  if (limitK && r >= topK) gap = logits[order[topK - 1]] - logits[token];
  if (topP < 1) {
    const m = logits[order[0]] / T;
    const p = (j: number) => Math.exp(logits[j] / T - m);
    const a = limitK ? Math.min(r, topK - 1) : r;
    let before = 0;
    for (let i = 0; i < a; i++) before += p(order[i]);
    let z = before + p(token);
    const window = limitK ? topK : V;
    for (let i = a, filled = a + 1; filled < window && i < order.length; i++) {
      if (order[i] === token) continue;
      z += p(order[i]);
      filled++;
    }
    const target = topP * z;
    if (before >= target && target > 0) gap = Math.max(gap, T * Math.log(before / target));
  }
  return Math.max(gap, 0);
}

/**
 * Kept tokens (T > 0 with top-k/top-p) that logit noise of up to `slack` could have filtered out:
 * top-k, logit within `slack` of the first excluded token's; top-p, mass ranked ahead of it within
 * a factor exp(slack / T) of the cut. Such a token may be missing from the generator's kept set,
 * so it cannot convict a claim. `kept` is the sampler's kept set in candidate order, `first` the
 * K + 1 best tokens in candidate order (null when top-k is off or K + 1 is the whole vocabulary).
 */
function fragileKept(
  logits: Float32Array,
  params: SamplingParams,
  slack: number,
  kept: Uint32Array | null,
  first: Uint32Array | null,
): Set<number> {
  const out = new Set<number>();
  const { temperature: T, topK, topP } = params;
  const V = logits.length;
  const limitK = topK > 0 && topK < V;
  if (T === 0 || kept === null) return out;
  let window: Uint32Array | null = null;
  if (limitK) {
    window = first ? first.subarray(0, topK) : null;
    const excluded = first && first.length > topK ? logits[first[topK]] : -Infinity;
    for (const j of kept) if (logits[j] - excluded <= slack) out.add(j);
  }
  if (topP < 1) {
    const m = logits[kept[0]] / T;
    let z = 0;
    if (window) { for (const j of window) z += Math.exp(logits[j] / T - m); }
    else for (let j = 0; j < V; j++) z += Math.exp(logits[j] / T - m);
    const target = topP * z;
    const factor = Math.exp(slack / T);
    let before = 0;
    for (const j of kept) {
      if (before * factor >= target) out.add(j);
      before += Math.exp(logits[j] / T - m);
    }
  }
  return out;
}

/**
 * Compares a claimed token against the verifier's logits at one output position. The margin is
 * the claimed token's shortfall against the best score in logit units (plus, when the sampler's
 * top-k/top-p filter drops the claim, its distance to the kept set); outcome is pass when it is at
 * most `epsilon`, fail above `fraudThreshold`, near in between. Kept tokens within
 * `fragileSlack` (default 2 epsilon) of the top-k/top-p boundary do not count as competitors.
 * `wording` words the `reason` of a position that does not pass (display only).
 */
export function checkPosition(
  logits: Float32Array,
  params: SamplingParams,
  position: number,
  kind: CheckKind,
  claimed: number,
  epsilon: number,
  fraudThreshold: number,
  fragileSlack: number = 2 * epsilon,
  wording: VerdictWording = ENGLISH_WORDING,
): CheckedPosition {
  validateSamplingParams(params);
  if (!(logits instanceof Float32Array) || logits.length === 0) {
    throw new TypeError("logits must be a non-empty Float32Array");
  }
  let finite = false;
  for (let j = 0; j < logits.length; j++) {
    const v = logits[j];
    // v - v is 0 exactly for finite v (NaN for NaN and either infinity): one test per logit.
    if (v - v !== 0) {
      if (v !== -Infinity) throw new RangeError(`logit ${j} is ${v}`);
    } else finite = true;
  }
  if (!finite) throw new RangeError("every logit is -Infinity");
  if (!Number.isInteger(claimed) || claimed < 0 || claimed >= logits.length) {
    throw new RangeError(`claimed token ${claimed} outside the vocabulary`);
  }
  const T = params.temperature;
  let best = claimed;
  let raw = 0;
  let gap = 0;
  if (T === 0) {
    // Greedy: the argmax logit, lowest id on ties; no filtering.
    for (let j = 0; j < logits.length; j++) {
      if (logits[j] > logits[best] || (logits[j] === logits[best] && j < best)) best = j;
    }
    raw = logits[best] - logits[claimed];
  } else {
    // The sampler's scores (logit / T + g) for the claim and for every competitor that could
    // beat it; G_MAX bounds the noise, so tokens with logit / T + G_MAX below the best score so
    // far cannot win and are not hashed. Competitors: kept tokens, except those backend noise
    // could have filtered out at the generator (within the slack of the top-k/top-p boundary).
    // One heap scan of the vocabulary gives the K + 1 best: the kept set's top-k pool and the
    // first token past the cut (for the near-boundary rule).
    const key = samplingKey(params.seed, params.jobId, position);
    const { topK } = params;
    const first = topK > 0 && topK + 1 < logits.length ? bestTokens(logits, topK + 1) : null;
    const kept = candidateTokens(logits, params, first ?? undefined);
    if (kept !== null && !kept.includes(claimed)) gap = filterGap(logits, params, claimed, first);
    const fragile = fragileKept(logits, params, fragileSlack, kept, first);
    const claimedScore = logits[claimed] / T + gumbelNoise(key, claimed);
    const start = { token: claimed, score: claimedScore };
    const top = bestNoisyToken(logits, T, key, start, kept, fragile);
    best = top.token;
    raw = (top.score - claimedScore) * T;
  }
  const margin = Math.max(0, raw, gap);
  const outcome: PositionOutcome = margin <= epsilon
    ? "pass"
    : margin > fraudThreshold
    ? "fail"
    : "near";
  const result: CheckedPosition = {
    position,
    kind,
    claimed,
    best,
    margin,
    pass: outcome === "pass",
    outcome,
    filtered: gap > 0,
  };
  if (outcome !== "pass") result.reason = wording.position(result, { epsilon, fraudThreshold });
  return result;
}
