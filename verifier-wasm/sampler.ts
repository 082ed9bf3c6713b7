/**
 * @module The one deterministic sampler of CamelidCoin (RASTiC's F), shared by generation and the
 * verifier. Pure TypeScript, no platform APIs.
 *
 * For output position `position` (0-based index of the token being sampled):
 * - key = SHA256("camelid/sample" (14 ASCII bytes) || seed (u64 LE) || salt (32 bytes) ||
 *   position (u32 LE)), 32 bytes, where salt is the job id, or 32 zero bytes when the seed is a
 *   caller-fixed one (bit 63 set, {@link FIXED_SEED_FLAG}): then the same seed, model, prompt and
 *   parameters give the same output in any job.
 * - Noise of token j: block b = floor(j / 8), D_b = SHA256(key || b (u32 LE)) (36-byte message),
 *   x_j = big-endian u32 of D_b bytes [4 (j mod 8), 4 (j mod 8) + 4),
 *   u_j = (x_j + 0.5) / 2^32 (exact in float64, strictly inside (0, 1)),
 *   g_j = -ln(-ln(u_j)) in float64.
 * - T = 0: greedy. score_j = logit_j; the token is argmax logit (ties: lowest id).
 * - T > 0: candidates = tokens ordered by logit descending, then id ascending; keep the first
 *   topK (0 = all); then top-p (topP < 1): with m = max logit / T, p_i = exp(logit_i / T - m),
 *   Z = sum of p_i over the top-k set in ascending token id order, keep the shortest prefix (in
 *   candidate order) whose running sum in candidate order reaches topP * Z. Kept tokens score
 *   logit_j / T + g_j (float64: f32 logit widened, divided by T, then noise added); others score
 *   -Infinity. The token is the argmax score, ties broken by the lowest id.
 *
 * Implementation note: noise only depends on (key, j), so `sampleToken` hashes only the blocks of
 * tokens that can still win (a token whose logit / T + G_MAX is below the best score so far cannot),
 * which is exact because G_MAX bounds every g_j from above.
 */

import { sha256 } from "../chain/hash.ts";

/** Sampling parameters of a job. */
export interface SamplingParams {
  /** Job seed, 0 <= seed < 2^64. */
  seed: bigint;
  /** Job id, 32 bytes. */
  jobId: Uint8Array;
  /** Temperature T >= 0 (0 = greedy). */
  temperature: number;
  /** Keep only the K most likely tokens (0 = no limit). */
  topK: number;
  /** Nucleus mass in (0, 1] (1 = no limit). */
  topP: number;
}

/** Domain tag of the per-position key. */
export const SAMPLE_TAG: Uint8Array = new TextEncoder().encode("camelid/sample");
/**
 * Bit 63 of a seed: the caller fixed it to reproduce an output, so the noise key leaves the job id
 * out (every job with this seed, model, prompt and parameters samples the same tokens).
 */
export const FIXED_SEED_FLAG: bigint = 1n << 63n;
/** What stands for the job id in the noise key of a caller-fixed seed. */
const FIXED_SEED_SALT = new Uint8Array(32);

/** True when `seed` is a caller-fixed one ({@link FIXED_SEED_FLAG} set). */
export function isFixedSeed(seed: bigint): boolean {
  return (seed & FIXED_SEED_FLAG) !== 0n;
}
/** Tokens per noise block (one SHA-256 yields eight u32 words). */
export const NOISE_BLOCK = 8;

/** Throws `TypeError`/`RangeError` unless `p` is a valid parameter set. */
export function validateSamplingParams(p: SamplingParams): void {
  if (typeof p.seed !== "bigint" || p.seed < 0n || p.seed >= 1n << 64n) {
    throw new RangeError("seed must be a bigint in [0, 2^64)");
  }
  if (!(p.jobId instanceof Uint8Array) || p.jobId.length !== 32) {
    throw new RangeError("jobId must be 32 bytes");
  }
  if (typeof p.temperature !== "number" || !Number.isFinite(p.temperature) || p.temperature < 0) {
    throw new RangeError("temperature must be a finite number >= 0");
  }
  if (!Number.isInteger(p.topK) || p.topK < 0) {
    throw new RangeError("topK must be an integer >= 0 (0 disables it)");
  }
  if (typeof p.topP !== "number" || !(p.topP > 0 && p.topP <= 1)) {
    throw new RangeError("topP must be in (0, 1] (1 disables it)");
  }
}

function checkPosition(position: number): void {
  if (!Number.isInteger(position) || position < 0 || position > 0xffffffff) {
    throw new RangeError("position must be an integer in [0, 2^32)");
  }
}

/** The 32-byte per-position noise key (the job id is left out for a caller-fixed seed). */
export function samplingKey(seed: bigint, jobId: Uint8Array, position: number): Uint8Array {
  if (typeof seed !== "bigint" || seed < 0n || seed >= 1n << 64n) {
    throw new RangeError("seed must be a bigint in [0, 2^64)");
  }
  if (!(jobId instanceof Uint8Array) || jobId.length !== 32) {
    throw new RangeError("jobId must be 32 bytes");
  }
  checkPosition(position);
  const msg = new Uint8Array(SAMPLE_TAG.length + 8 + 32 + 4);
  const dv = new DataView(msg.buffer);
  msg.set(SAMPLE_TAG, 0);
  dv.setBigUint64(SAMPLE_TAG.length, seed, true);
  msg.set(isFixedSeed(seed) ? FIXED_SEED_SALT : jobId, SAMPLE_TAG.length + 8);
  dv.setUint32(SAMPLE_TAG.length + 40, position, true);
  return sha256(msg);
}

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);

/**
 * Computes noise blocks for one key: SHA-256 of the fixed 36-byte message key || block (u32 LE),
 * as a single padded 64-byte compression (checked against @noble/hashes in the tests).
 */
class NoiseHasher {
  private readonly w = new Int32Array(64);
  /** The last block's words (overwritten by each `block` call). */
  readonly out: Uint32Array = new Uint32Array(8);
  /** Working state after rounds 0..7, which only read the key words. */
  private readonly mid = new Int32Array(8);
  private readonly state = new Int32Array(8);

  constructor(key: Uint8Array) {
    const w = this.w;
    for (let i = 0; i < 8; i++) {
      w[i] = (key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3];
    }
    // Words 9..15 are padding and length; schedule words 16..22 do not depend on word 8 (the
    // counter), so they are computed once per key too.
    w[9] = 0x80000000 | 0;
    w[10] =
      w[11] =
      w[12] =
      w[13] =
      w[14] =
        0;
    w[15] = 36 * 8;
    for (let i = 16; i < 23; i++) w[i] = schedule(w, i);
    this.mid.set(IV);
    rounds(this.mid, w, 0, 8);
  }

  /** The eight u32 words (big-endian digest words) of block `blk`. */
  block(blk: number): Uint32Array {
    const w = this.w;
    // Counter bytes are little-endian; message words are read big-endian.
    w[8] = ((blk & 0xff) << 24) | (((blk >>> 8) & 0xff) << 16) | (((blk >>> 16) & 0xff) << 8) |
      ((blk >>> 24) & 0xff);
    for (let i = 23; i < 64; i++) w[i] = schedule(w, i);
    const state = this.state;
    state.set(this.mid);
    rounds(state, w, 8, 64);
    const o = this.out;
    for (let i = 0; i < 8; i++) o[i] = (IV[i] + state[i]) | 0;
    return o;
  }
}

/** SHA-256 compression rounds `from` .. `to` - 1 over the working state `v` (updated in place). */
function rounds(v: Int32Array, w: Int32Array, from: number, to: number): void {
  let a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
  for (let i = from; i < to; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  v[0] = a;
  v[1] = b;
  v[2] = c;
  v[3] = d;
  v[4] = e;
  v[5] = f;
  v[6] = g;
  v[7] = h;
}

/** SHA-256 message schedule word i (i >= 16). */
function schedule(w: Int32Array, i: number): number {
  const x = w[i - 15];
  const y = w[i - 2];
  const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
  const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
  return (w[i - 16] + s0 + w[i - 7] + s1) | 0;
}

/** Noise lookup for one key that hashes each block at most once in a row. */
function noiseFn(key: Uint8Array): (token: number) => number {
  const hasher = new NoiseHasher(key);
  let cachedBlock = -1;
  let words: Uint32Array = new Uint32Array(NOISE_BLOCK);
  return (j: number) => {
    const b = Math.floor(j / NOISE_BLOCK);
    if (b !== cachedBlock) {
      words = hasher.block(b);
      cachedBlock = b;
    }
    return gumbelFromWord(words[j - b * NOISE_BLOCK]);
  };
}

/** Gumbel value of a u32 word: g = -ln(-ln((x + 0.5) / 2^32)). */
export function gumbelFromWord(x: number): number {
  return -Math.log(-Math.log((x + 0.5) / 4294967296));
}

/** Largest possible noise value (x = 2^32 - 1), plus a margin against rounding. */
export const G_MAX: number = gumbelFromWord(0xffffffff) + 1e-9;

/** Words per noise bucket (x >>> BUCKET_SHIFT is the bucket). */
const BUCKET_SHIFT = 20;
/**
 * Upper bound of the noise of any word in each bucket: g of the bucket's largest word plus the
 * G_MAX margin (g grows with x). A token whose logit / T plus its bucket's bound is below the best
 * score cannot win, so its logarithms are skipped; only the word (the hash) is needed.
 */
const G_BUCKET: Float64Array = (() => {
  const n = 2 ** (32 - BUCKET_SHIFT);
  const t = new Float64Array(n);
  for (let b = 0; b < n; b++) t[b] = gumbelFromWord((b + 1) * 2 ** BUCKET_SHIFT - 1) + 1e-9;
  return t;
})();

/** A token and its sampler score. */
export interface NoisyBest {
  /** Token id. */
  token: number;
  /** logit / T + g of the token. */
  score: number;
}

/**
 * The best sampler score among competitors, starting from `start` (a token already scored): every
 * token (`candidates` null) or the candidates (in candidate order, logit descending), except those
 * in `skip`. A competitor replaces the best when its score is higher, or equal with a lower id.
 * Scores are exactly `logit / T + g` as the sampler computes them; tokens whose bound (logit / T
 * plus G_MAX before hashing, plus their word's bucket bound after) is below the best are skipped.
 */
export function bestNoisyToken(
  logits: Float32Array,
  temperature: number,
  key: Uint8Array,
  start: NoisyBest,
  candidates: ArrayLike<number> | null,
  skip?: ReadonlySet<number>,
): NoisyBest {
  if (!(temperature > 0)) throw new RangeError("bestNoisyToken needs a temperature > 0");
  const T = temperature;
  const hasher = new NoiseHasher(key);
  let best = start.score;
  let bestId = start.token;
  const consider = (j: number, base: number, x: number) => {
    if (base + G_BUCKET[x >>> BUCKET_SHIFT] < best || (skip !== undefined && skip.has(j))) return;
    const sc = base + gumbelFromWord(x);
    if (sc > best || (sc === best && j < bestId)) {
      best = sc;
      bestId = j;
    }
  };
  if (candidates !== null) {
    let cachedBlock = -1;
    let words = hasher.out;
    for (let i = 0; i < candidates.length; i++) {
      const j = candidates[i];
      const base = logits[j] / T;
      if (base + G_MAX < best) break; // candidate order is logit descending
      const b = Math.floor(j / NOISE_BLOCK);
      if (b !== cachedBlock) {
        words = hasher.block(b);
        cachedBlock = b;
      }
      consider(j, base, words[j - b * NOISE_BLOCK]);
    }
    return { token: bestId, score: best };
  }
  const vocab = logits.length;
  const blocks = Math.ceil(vocab / NOISE_BLOCK);
  const blockMax = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const first = b * NOISE_BLOCK;
    const end = Math.min(vocab, first + NOISE_BLOCK);
    let m = logits[first];
    for (let j = first + 1; j < end; j++) if (logits[j] > m) m = logits[j];
    blockMax[b] = m;
  }
  // With a batch hasher installed, every block that can reach the start score is hashed up
  // front, in runs (a superset of what the pruned loop below reads: the best only rises).
  const batch = blockHasher === null ? null : new Uint32Array(blocks * NOISE_BLOCK);
  if (batch !== null) {
    for (let b = 0; b < blocks;) {
      if (blockMax[b] / T + G_MAX < best) {
        b++;
        continue;
      }
      let e = b + 1;
      while (e < blocks && blockMax[e] / T + G_MAX >= best) e++;
      blockHasher!(key, b, e - b, batch.subarray(b * NOISE_BLOCK, e * NOISE_BLOCK));
      b = e;
    }
  }
  for (let b = 0; b < blocks; b++) {
    if (blockMax[b] / T + G_MAX < best) continue;
    const first = b * NOISE_BLOCK;
    const end = Math.min(vocab, first + NOISE_BLOCK);
    const words = batch !== null ? batch.subarray(first, first + NOISE_BLOCK) : hasher.block(b);
    for (let j = first; j < end; j++) consider(j, logits[j] / T, words[j - first]);
  }
  return { token: bestId, score: best };
}

/**
 * Hashes noise blocks `first .. first + count - 1` of a 32-byte key into `out` (eight digest
 * words a block, as `gumbelBlock` reads them).
 */
export type NoiseBlockHasher = (
  key: Uint8Array,
  first: number,
  count: number,
  out: Uint32Array,
) => void;

let blockHasher: NoiseBlockHasher | null = null;

/**
 * Installs a faster noise block hasher (the WASM kernel's, see kernel_module.ts), or removes it
 * with null. It is checked against the TypeScript hasher on a few blocks first and refused
 * (RangeError) when any word differs, so an installed hasher changes no result, only speed.
 */
export function useNoiseBlockHasher(h: NoiseBlockHasher | null): void {
  if (h !== null) {
    const probes: [bigint, number, number][] = [[0n, 0, 0], [7n, 3, 4095], [
      1n << 63n,
      99,
      2 ** 32 - 8,
    ]];
    for (const [seed, position, first] of probes) {
      const key = samplingKey(seed, new Uint8Array(32).fill(position), position);
      const got = new Uint32Array(3 * NOISE_BLOCK);
      h(key, first, 3, got);
      const ref = new NoiseHasher(key);
      for (let i = 0; i < 3; i++) {
        const want = ref.block(first + i);
        for (let w = 0; w < NOISE_BLOCK; w++) {
          if (got[i * NOISE_BLOCK + w] !== want[w]) {
            throw new RangeError("the noise block hasher disagrees with the reference");
          }
        }
      }
    }
  }
  blockHasher = h;
}

/** The eight Gumbel values of noise block `block` (tokens 8 block .. 8 block + 7). */
export function gumbelBlock(key: Uint8Array, block: number): Float64Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new RangeError("key must be 32 bytes");
  }
  if (!Number.isInteger(block) || block < 0 || block > 0xffffffff) {
    throw new RangeError("block must be an integer in [0, 2^32)");
  }
  const words = new NoiseHasher(key).block(block);
  const out = new Float64Array(NOISE_BLOCK);
  for (let i = 0; i < NOISE_BLOCK; i++) out[i] = gumbelFromWord(words[i]);
  return out;
}

/** Gumbel noise g_j of token `token` under `key`. */
export function gumbelNoise(key: Uint8Array, token: number): number {
  if (!Number.isInteger(token) || token < 0) throw new RangeError("token must be an integer >= 0");
  return gumbelBlock(key, Math.floor(token / NOISE_BLOCK))[token % NOISE_BLOCK];
}

function checkLogits(logits: Float32Array): void {
  if (!(logits instanceof Float32Array) || logits.length === 0) {
    throw new TypeError("logits must be a non-empty Float32Array");
  }
  let finite = false;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v !== v || v === Infinity) throw new RangeError(`logit ${i} is ${v}`);
    if (v !== -Infinity) finite = true;
  }
  if (!finite) throw new RangeError("every logit is -Infinity");
}

const SORT_F32 = new Float32Array(1);
const SORT_U32 = new Uint32Array(SORT_F32.buffer);
const ID_BITS = 2 ** 21;

/**
 * Token ids (all, or `ids`) ordered by logit descending, then id ascending (the candidate order).
 * Uses one native Float64Array sort over packed keys: (2^32 - 1 - orderable(logit)) * 2^21 + id.
 */
function sortedOrder(logits: Float32Array, ids?: Uint32Array): Uint32Array {
  const n = ids ? ids.length : logits.length;
  if (logits.length > ID_BITS) {
    const order = ids ?? Uint32Array.from({ length: n }, (_, i) => i);
    return order.sort((a, b) => (logits[b] - logits[a]) || (a - b));
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids ? ids[i] : i;
    const v = logits[id];
    SORT_F32[0] = v === 0 ? 0 : v;
    const b = SORT_U32[0];
    const u = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - u) * ID_BITS + id;
  }
  keys.sort();
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = keys[i] % ID_BITS;
  return out;
}

/** Every token id in candidate order (logit descending, then id ascending), by one native sort. */
export function candidateOrder(logits: Float32Array): Uint32Array {
  return sortedOrder(logits);
}

/**
 * The K best tokens in candidate order (K < vocab), by a bounded min-heap then a sort. Ids are
 * scanned in ascending order, so a token enters the full heap only when its logit exceeds the
 * heap's worst (an equal logit has a higher id and ranks after it): one compare per token.
 */
function topKHeap(logits: Float32Array, k: number): Uint32Array {
  const heap = new Uint32Array(k);
  // "worse(a, b)": a ranks after b in candidate order.
  const worse = (a: number, b: number) =>
    logits[a] < logits[b] || (logits[a] === logits[b] && a > b);
  const siftDown = (i: number, n: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && worse(heap[l], heap[m])) m = l;
      if (r < n && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      const t = heap[i];
      heap[i] = heap[m];
      heap[m] = t;
      i = m;
    }
  };
  for (let j = 0; j < k; j++) heap[j] = j;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i, k);
  let worst = logits[heap[0]];
  for (let j = k; j < logits.length; j++) {
    if (logits[j] > worst) {
      heap[0] = j;
      siftDown(0, k);
      worst = logits[heap[0]];
    }
  }
  return sortedOrder(logits, heap);
}

/**
 * The `n` best tokens in candidate order (logit descending, then id ascending), 0 < n < vocab, from
 * one bounded-heap scan of the logits. Its first K entries are exactly the top-K set of any K <= n
 * (the order is total), so a caller that needs the kept set and the tokens just past the top-k cut
 * scans the vocabulary once (see {@link candidateTokens}' `ranked`).
 */
export function bestTokens(logits: Float32Array, n: number): Uint32Array {
  if (!Number.isInteger(n) || n < 1 || n >= logits.length) {
    throw new RangeError(`bestTokens needs 0 < n < ${logits.length}, got ${n}`);
  }
  return topKHeap(logits, n);
}

/**
 * The kept candidates for T > 0 in candidate order, or `null` when nothing is filtered
 * (topK = 0 or >= vocab, and topP = 1). `ranked`, when given, is {@link bestTokens} of these
 * logits with at least topK entries: the top-k set is its prefix instead of a second scan.
 */
export function candidateTokens(
  logits: Float32Array,
  params: SamplingParams,
  ranked?: Uint32Array,
): Uint32Array | null {
  const { temperature: T, topK, topP } = params;
  const vocab = logits.length;
  const limitK = topK > 0 && topK < vocab;
  if (!limitK && topP >= 1) return null;
  const topKOrder = (l: Float32Array, k: number) =>
    !limitK
      ? sortedOrder(l)
      : ranked !== undefined && ranked.length >= k
      ? ranked.subarray(0, k)
      : topKHeap(l, k);
  if (topP >= 1) return topKOrder(logits, topK);
  // Top-p: p_i = exp(logit_i / T - m), Z summed in ascending token id order over the top-k set.
  const pool = limitK ? topKOrder(logits, topK) : null;
  // m = max logit / T; with a top-k pool the max is its first token's logit.
  let m = pool ? logits[pool[0]] : -Infinity;
  if (!pool) { for (let j = 0; j < vocab; j++) if (logits[j] > m) m = logits[j]; }
  m /= T;
  if (pool) {
    const ids = pool.slice().sort();
    let z = 0;
    for (const j of ids) z += Math.exp(logits[j] / T - m);
    return massPrefix(logits, T, m, pool, topP * z) ?? pool;
  }
  const p = new Float64Array(vocab);
  let z = 0;
  for (let j = 0; j < vocab; j++) z += p[j] = Math.exp(logits[j] / T - m);
  const target = topP * z;
  // The kept prefix lies inside any prefix of the candidate order whose mass reaches the target,
  // so only such a group is sorted: tokens by bins of (m - logit / T) (1/16 logit wide, monotone
  // in the logit, so the bins up to any one form a prefix), up to the first bin where the mass
  // reaches the target with a margin for summation order. Should rounding still fall short, the
  // whole vocabulary is sorted.
  const BINS = 1024;
  const bin = new Uint16Array(vocab);
  const binMass = new Float64Array(BINS + 1);
  for (let j = 0; j < vocab; j++) {
    const d = (m - logits[j] / T) * 16;
    const b = d < BINS ? Math.floor(d) : BINS;
    bin[j] = b;
    binMass[b] += p[j];
  }
  let last = 0;
  for (let mass = binMass[0]; last < BINS && mass < target * (1 + 1e-9);) mass += binMass[++last];
  if (last < BINS) {
    const sel: number[] = [];
    for (let j = 0; j < vocab; j++) if (bin[j] <= last) sel.push(j);
    const kept = massPrefix(logits, T, m, sortedOrder(logits, Uint32Array.from(sel)), target);
    if (kept) return kept;
  }
  const all = sortedOrder(logits);
  return massPrefix(logits, T, m, all, target) ?? all;
}

/** The shortest prefix of `order` whose running mass in that order reaches `target`, or null. */
function massPrefix(
  logits: Float32Array,
  T: number,
  m: number,
  order: Uint32Array,
  target: number,
): Uint32Array | null {
  let cum = 0;
  for (let i = 0; i < order.length; i++) {
    cum += Math.exp(logits[order[i]] / T - m);
    if (cum >= target) return order.subarray(0, i + 1);
  }
  return null;
}

/** Argmax of raw logits, ties to the lowest id. */
function greedy(logits: Float32Array): number {
  let best = 0;
  for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
  return best;
}

/**
 * Scores of every token at output position `position`: logit (T = 0), or logit / T + g for kept
 * tokens and -Infinity for filtered ones (T > 0). The sampled token is their argmax (lowest id on
 * ties). Computes the noise of every kept token.
 */
export function samplerScores(
  logits: Float32Array,
  params: SamplingParams,
  position: number,
): Float64Array {
  validateSamplingParams(params);
  checkPosition(position);
  checkLogits(logits);
  const vocab = logits.length;
  const scores = new Float64Array(vocab);
  const T = params.temperature;
  if (T === 0) {
    scores.set(logits);
    return scores;
  }
  const kept = candidateTokens(logits, params);
  if (kept === null) {
    const hasher = new NoiseHasher(samplingKey(params.seed, params.jobId, position));
    for (let b = 0; b * NOISE_BLOCK < vocab; b++) {
      const words = hasher.block(b);
      const end = Math.min(vocab, (b + 1) * NOISE_BLOCK);
      for (let j = b * NOISE_BLOCK; j < end; j++) {
        scores[j] = logits[j] / T + gumbelFromWord(words[j - b * NOISE_BLOCK]);
      }
    }
    return scores;
  }
  scores.fill(-Infinity);
  const noise = noiseFn(samplingKey(params.seed, params.jobId, position));
  for (const j of kept) scores[j] = logits[j] / T + noise(j);
  return scores;
}

/** The sampled token id at output position `position` (see the module doc for the rule). */
export function sampleToken(
  logits: Float32Array,
  params: SamplingParams,
  position: number,
): number {
  validateSamplingParams(params);
  checkPosition(position);
  checkLogits(logits);
  const T = params.temperature;
  if (T === 0) return greedy(logits);
  const key = samplingKey(params.seed, params.jobId, position);
  const kept = candidateTokens(logits, params);
  // Start from the most likely kept token (it raises the bound early), then every other one.
  const first = kept !== null ? kept[0] : greedy(logits);
  const start = { token: first, score: logits[first] / T + gumbelNoise(key, first) };
  return bestNoisyToken(logits, T, key, start, kept).token;
}
