/**
 * @module The compute node's side of a sprint: iterate nonces on the sprint model for a time (or
 * a nonce count) and keep those whose distance is under the threshold. Runs on the WASM kernel
 * (threads optional); the proof is the ascending nonce list.
 */

import { isProofDistance } from "../chain/sprint.ts";
import type { SprintModel } from "../verifier-wasm/sprint_model.ts";

/** Options of {@link proveSprint}. */
export interface ProveSprintOptions {
  /** First nonce tried (default 0). */
  start?: number;
  /** Most nonces tried. */
  count?: number;
  /** Stop after this many milliseconds (checked between nonces). */
  timeMs?: number;
  /** Stop once this many proof nonces are found (default the network's maxNonces). */
  maxFound?: number;
}

/** What a proving run did. */
export interface SprintProofRun {
  /** Proof nonces found, ascending. */
  readonly nonces: number[];
  /** Nonces tried. */
  readonly tried: number;
  /** Milliseconds spent. */
  readonly ms: number;
}

/** Tries nonces start, start+1, ... of the node with `nodeSeed`; needs `count` or `timeMs`. */
export function proveSprint(
  model: SprintModel,
  nodeSeed: Uint8Array,
  opts: ProveSprintOptions,
): SprintProofRun {
  if (opts.count === undefined && opts.timeMs === undefined) {
    throw new RangeError("proveSprint needs a nonce count or a time budget");
  }
  const start = opts.start ?? 0;
  const end = Math.min(0x1_0000_0000, start + (opts.count ?? Infinity));
  const maxFound = Math.min(opts.maxFound ?? Infinity, model.params.maxNonces);
  const t0 = performance.now();
  const deadline = t0 + (opts.timeMs ?? Infinity);
  const nonces: number[] = [];
  let n = start;
  for (; n < end && nonces.length < maxFound; n++) {
    if (isProofDistance(model.params, model.distance(nodeSeed, n))) nonces.push(n);
    if (performance.now() >= deadline) {
      n++;
      break;
    }
  }
  return { nonces, tried: n - start, ms: performance.now() - t0 };
}
