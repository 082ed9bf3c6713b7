/**
 * @module Validation of a sprint proof on the deterministic WASM kernel: the nonce list's rules,
 * then min(sampleSize, count) sampled nonces re-run and their mismatches judged by the binomial
 * rule of chain/sprint_stats.ts. A proof padded with bad nonces, another node's nonces or a stale
 * sprint's nonces mismatches far above the honest rate and is rejected.
 */

import { checkSprintNonces, isProofDistance, sprintSample } from "../chain/sprint.ts";
import { sprintMismatchLimit } from "../chain/sprint_stats.ts";
import type { SprintModel } from "./sprint_model.ts";

/** A validator's verdict on one proof. */
export interface SprintVerdict {
  /** Whether the proof is accepted (its nonce count then counts as weight). */
  readonly accepted: boolean;
  /** Indices (into the nonce list) that were re-run. */
  readonly sampled: readonly number[];
  /** Sampled nonces whose distance was not under the threshold. */
  readonly mismatches: number;
  /** Most mismatches the binomial rule allows for this sample size. */
  readonly limit: number;
  /**
   * Weight the proof earns: 0 when rejected, else floor(count * (sampled - mismatches) / sampled),
   * the estimated number of good nonces (so padding under the limit gains nothing on average).
   */
  readonly weight: number;
}

/**
 * Judges the proof `nonces` of the node with `nodeSeed` in `model`'s sprint. `sampleSeed` (32
 * bytes) picks the re-run nonces; it must be unknown to the prover when it chose its nonces (on
 * chain: from the including block's hash). Throws ValidationError `sprint/bad-nonces` for a
 * malformed nonce list.
 */
export function validateSprintProof(
  model: SprintModel,
  nodeSeed: Uint8Array,
  nonces: ArrayLike<number>,
  sampleSeed: Uint8Array,
): SprintVerdict {
  const p = model.params;
  checkSprintNonces(p, nonces);
  const sampled = sprintSample(p, sampleSeed, nonces.length);
  let mismatches = 0;
  for (const i of sampled) {
    if (!isProofDistance(p, model.distance(nodeSeed, nonces[i]))) mismatches++;
  }
  const limit = sprintMismatchLimit(p, sampled.length);
  const accepted = mismatches <= limit;
  const k = sampled.length;
  const weight = accepted ? Math.floor(nonces.length * (k - mismatches) / k) : 0;
  return { accepted, sampled, mismatches, limit, weight };
}
