/**
 * @module Sprint proof of compute, the rules without the model (the "Decentralized AI" paper's
 * appendix B): sprint timing, the sprint, node and nonce seeds, the SHA-256 word streams every
 * node derives alike, the input sequence, the coordinate permutation, the target vector, the
 * distance, the proof's nonce list rules and the validator's sample. The seeded transformer that
 * maps an input sequence to the output vector runs on the WASM kernel (verifier-wasm/sprint_model.ts).
 * See docs/protocol.md, "Compute weight".
 */

import { ValidationError } from "./errors.ts";
import { sha256, sha256Concat } from "./hash.ts";
import type { SprintParams } from "./params.ts";

const enc = (s: string) => new TextEncoder().encode(s);
/** Domain tags of the sprint's hashes. */
export const SPRINT_TAGS = {
  node: enc("camelid/sprint/node"),
  nonce: enc("camelid/sprint/nonce"),
  target: enc("camelid/sprint/target"),
  model: enc("camelid/sprint/model"),
} as const;

/** Largest nonce (nonces are u32). */
export const MAX_SPRINT_NONCE = 0xffff_ffff;

/**
 * Words `0 .. count-1` of the stream of a 32-byte key: block b is SHA-256(key || b as u32 LE), read
 * as eight big-endian u32 words. Same words as the kernel's `sampler_noise_blocks`.
 */
export type SprintWords = (key: Uint8Array, count: number) => Uint32Array;

/** The reference {@link SprintWords} (TypeScript SHA-256; the kernel's is faster). */
export function referenceSprintWords(key: Uint8Array, count: number): Uint32Array {
  if (key.length !== 32) throw new RangeError("stream key must be 32 bytes");
  const out = new Uint32Array(Math.ceil(count / 8) * 8);
  const msg = new Uint8Array(36);
  msg.set(key);
  const view = new DataView(msg.buffer);
  for (let b = 0; b * 8 < count; b++) {
    view.setUint32(32, b, true);
    const d = new DataView(sha256(msg).buffer);
    for (let w = 0; w < 8; w++) out[b * 8 + w] = d.getUint32(4 * w, false);
  }
  return out.subarray(0, count);
}

/** Index of the sprint whose window contains `height` and its start, or null outside any window. */
export function sprintAt(
  p: SprintParams,
  height: number,
): { index: number; start: number } | null {
  const index = Math.floor((height - 1) / p.interval);
  const start = index * p.interval;
  if (index < 1 || height - start > p.window) return null;
  return { index, start };
}

/**
 * First height of the epoch after the one holding `height` (epoch k is heights k x interval ..
 * (k + 1) x interval - 1): a reward paid at `height` is held until this height (docs/protocol.md,
 * "Held rewards").
 */
export function epochEnd(p: SprintParams, height: number): number {
  return (Math.floor(height / p.interval) + 1) * p.interval;
}

/**
 * The newest sprint whose proof window had closed below `height` (window end < height), the newest
 * whose weights a record or a report bond at `height` may name (0: none yet).
 */
export function newestClosedSprint(
  height: number,
  p: Pick<SprintParams, "interval" | "window">,
): number {
  return Math.max(0, Math.floor((height - 1 - p.window) / p.interval));
}

/** The 32-byte node seed of a compute node: SHA-256("camelid/sprint/node" || public key). */
export function sprintNodeSeed(publicKey: Uint8Array): Uint8Array {
  return sha256Concat([SPRINT_TAGS.node, publicKey]);
}

/** Stream key of one nonce: SHA-256(tag || sprint seed || node seed || nonce u32 LE). */
export function sprintNonceKey(
  sprintSeed: Uint8Array,
  nodeSeed: Uint8Array,
  nonce: number,
): Uint8Array {
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, nonce, true);
  return sha256Concat([SPRINT_TAGS.nonce, sprintSeed, nodeSeed, n]);
}

/** Stream key of tensor `name` of the sprint model: SHA-256(tag || sprint seed || name). */
export function sprintModelKey(sprintSeed: Uint8Array, name: string): Uint8Array {
  return sha256Concat([SPRINT_TAGS.model, sprintSeed, enc(name)]);
}

/** Words of a nonce's stream it takes: `seqLen` tokens then `vocab - 1` permutation draws. */
export function nonceStreamLength(p: SprintParams): number {
  return p.model.seqLen + p.model.vocab - 1;
}

/** `floor(word * bound / 2^32)`: a draw in [0, bound) (exact in f64 for bound < 2^21). */
function draw(word: number, bound: number): number {
  return Math.floor(word * bound / 4294967296);
}

/** Input sequence of a nonce: token i = draw(word i, vocab). */
export function sprintInput(p: SprintParams, words: Uint32Array): Uint32Array {
  const out = new Uint32Array(p.model.seqLen);
  for (let i = 0; i < out.length; i++) out[i] = draw(words[i], p.model.vocab);
  return out;
}

/**
 * Coordinate permutation of a nonce: Fisher-Yates over 0..n-1 from i = n-1 down to 1, swapping i
 * with draw(word seqLen + (n-1-i), i + 1).
 */
export function sprintPermutation(p: SprintParams, words: Uint32Array): Uint32Array {
  const n = p.model.vocab;
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1, w = p.model.seqLen; i >= 1; i--, w++) {
    const j = draw(words[w], i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Centers `v` (subtracts its mean) and scales it to unit length, in f64, in index order. */
export function centeredUnit(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += v[i];
  const mean = sum / n;
  const out = new Float64Array(n);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    out[i] = v[i] - mean;
    sq += out[i] * out[i];
  }
  const norm = Math.sqrt(sq);
  if (!(norm > 0) || !Number.isFinite(norm)) return out.fill(NaN);
  for (let i = 0; i < n; i++) out[i] /= norm;
  return out;
}

/** The sprint's target: `vocab` stream words of SHA-256(tag || sprint seed), uniform in [-1, 1), centered unit. */
export function sprintTarget(
  p: SprintParams,
  sprintSeed: Uint8Array,
  words: SprintWords = referenceSprintWords,
): Float64Array {
  const w = words(sha256Concat([SPRINT_TAGS.target, sprintSeed]), p.model.vocab);
  return centeredUnit(Array.from(w, (x) => (x >>> 8) * 2 ** -23 - 1));
}

/**
 * Distance of a nonce: the output vector centered to unit length, its coordinates permuted
 * (y[i] = u[perm[i]]), Euclidean distance to the target. NaN for a degenerate output.
 */
export function sprintDistance(
  output: ArrayLike<number>,
  perm: Uint32Array,
  target: Float64Array,
): number {
  const u = centeredUnit(output);
  let sq = 0;
  for (let i = 0; i < u.length; i++) {
    const d = u[perm[i]] - target[i];
    sq += d * d;
  }
  return Math.sqrt(sq);
}

/** Whether a distance makes a proof nonce (strictly below the threshold; NaN never does). */
export function isProofDistance(p: SprintParams, distance: number): boolean {
  return distance < p.threshold;
}

/**
 * Checks a proof's nonce list: 1 to maxNonces u32 nonces, strictly ascending (so distinct).
 * Throws ValidationError `sprint/bad-nonces`.
 */
export function checkSprintNonces(p: SprintParams, nonces: ArrayLike<number>): void {
  const bad = (why: string) => new ValidationError("sprint/bad-nonces", `sprint proof ${why}`);
  if (nonces.length < 1) throw bad("has no nonce");
  if (nonces.length > p.maxNonces) throw bad(`has ${nonces.length} nonces (> ${p.maxNonces})`);
  for (let i = 0; i < nonces.length; i++) {
    const n = nonces[i];
    if (!Number.isInteger(n) || n < 0 || n > MAX_SPRINT_NONCE) throw bad(`nonce ${n} is not a u32`);
    if (i > 0 && n <= nonces[i - 1]) throw bad("nonces are not strictly ascending");
  }
}

/**
 * Indices of the nonces a validator re-runs: min(sampleSize, count) distinct indices by a partial
 * Fisher-Yates over 0..count-1 drawn from the stream of `sampleSeed` (32 bytes; on chain the hash
 * of the including block with the transaction id, see docs/protocol.md), ascending.
 */
export function sprintSample(
  p: SprintParams,
  sampleSeed: Uint8Array,
  count: number,
  words: SprintWords = referenceSprintWords,
): number[] {
  const k = Math.min(p.sampleSize, count);
  const w = words(sampleSeed, k);
  const idx = new Map<number, number>();
  const at = (i: number) => idx.get(i) ?? i;
  const picked: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + draw(w[i], count - i);
    const v = at(j);
    idx.set(j, at(i));
    picked.push(v);
  }
  return picked.sort((a, b) => a - b);
}
