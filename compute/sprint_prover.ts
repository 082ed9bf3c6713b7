/**
 * @module The compute node's side of a sprint: iterate nonces on a sprint evaluator (the WASM
 * kernel's {@link SprintModel}, or llama.cpp's `LlamaSprintModel` in sprint_llama.ts) for a time
 * or a nonce count, and keep those whose distance is under the threshold. The proof is the
 * ascending nonce list.
 */

import type { SprintParams } from "../chain/params.ts";
import { isProofDistance, MAX_SPRINT_NONCE } from "../chain/sprint.ts";

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
  /** Distance between the nonces tried (default 1; threads of one node take stripes). */
  step?: number;
  /**
   * Asked before each nonce with the nonces tried and found so far: false stops the run. It may
   * block (a thread's throttle or pause, sprint_worker.ts).
   */
  gate?: (tried: number, found: number) => boolean;
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

/**
 * Tries nonces start, start+step, start+2*step, ... of the node with `nodeSeed`; needs `count` or
 * `timeMs`.
 */
export async function proveSprint(
  model: SprintEvaluator,
  nodeSeed: Uint8Array,
  opts: ProveSprintOptions,
): Promise<SprintProofRun> {
  if (opts.count === undefined && opts.timeMs === undefined) {
    throw new RangeError("proveSprint needs a nonce count or a time budget");
  }
  const step = opts.step ?? 1;
  if (!Number.isInteger(step) || step < 1) throw new RangeError("step must be a positive integer");
  const count = opts.count ?? Infinity;
  const maxFound = Math.min(opts.maxFound ?? Infinity, model.params.maxNonces);
  const t0 = performance.now();
  const deadline = t0 + (opts.timeMs ?? Infinity);
  const nonces: number[] = [];
  let tried = 0;
  for (
    let n = opts.start ?? 0;
    tried < count && n <= MAX_SPRINT_NONCE && nonces.length < maxFound;
    n += step
  ) {
    if (opts.gate && !opts.gate(tried, nonces.length)) break;
    tried++;
    if (isProofDistance(model.params, await model.distance(nodeSeed, n))) nonces.push(n);
    if (performance.now() >= deadline) break;
  }
  return { nonces, tried, ms: performance.now() - t0 };
}
