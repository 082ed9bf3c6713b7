/**
 * @module The compute node's side of a sprint: iterate nonces on a sprint evaluator (the WASM
 * kernel's {@link SprintModel}, or llama.cpp's `LlamaSprintModel` in sprint_llama.ts) for a time
 * or a nonce count, and keep those whose distance is under the threshold. The proof is the
 * ascending nonce list.
 */

import type { SprintParams } from "../chain/params.ts";
import { isProofDistance } from "../chain/sprint.ts";

/** Anything that gives a nonce's distance in a sprint (WASM kernel, llama.cpp). */
export interface SprintEvaluator {
  /** The network's sprint parameters. */
  readonly params: SprintParams;
  /** Distance of a nonce of the node with `nodeSeed` to the target. */
  distance(nodeSeed: Uint8Array, nonce: number): number | Promise<number>;
}

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
export async function proveSprint(
  model: SprintEvaluator,
  nodeSeed: Uint8Array,
  opts: ProveSprintOptions,
): Promise<SprintProofRun> {
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
    if (isProofDistance(model.params, await model.distance(nodeSeed, n))) nonces.push(n);
    if (performance.now() >= deadline) {
      n++;
      break;
    }
  }
  return { nonces, tried: n - start, ms: performance.now() - t0 };
}
