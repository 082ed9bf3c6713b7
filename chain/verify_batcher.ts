/**
 * @module Coalesces signature checks that arrive one at a time (relayed envelopes, transactions
 * submitted concurrently) into pool batches: every check queued before the next timer tick goes to
 * the verify pool together, and each caller gets its own verdict. Verdicts are verifySignature's.
 */

import { defaultVerifyPool, type SignatureCheck, type VerifyPool } from "./verify_pool.ts";

/** One queued check and the caller waiting for it. */
interface Queued {
  check: SignatureCheck;
  resolve: (ok: boolean) => void;
  reject: (e: unknown) => void;
}

/** Gathers single checks into batches for a {@link VerifyPool}. */
export class SignatureBatcher {
  readonly #pool: VerifyPool;
  #queue: Queued[] = [];
  #batches = 0;

  /** A batcher feeding `pool` (default: the process-wide pool). */
  constructor(pool: VerifyPool = defaultVerifyPool()) {
    this.#pool = pool;
  }

  /** Batches sent so far (each covers every check queued since the previous one). */
  get batches(): number {
    return this.#batches;
  }

  /** Verdicts on several checks, queued with those of other callers in the same tick. */
  verifyBatch(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    return Promise.all(checks.map((c) => this.verify(c)));
  }

  /** The verdict on one check, verified with the others queued in the same tick. */
  verify(check: SignatureCheck): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (this.#queue.length === 0) setTimeout(() => this.#flush(), 0);
      this.#queue.push({ check, resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    this.#batches++;
    try {
      const verdicts = await this.#pool.verifyBatch(batch.map((q) => q.check));
      batch.forEach((q, i) => q.resolve(verdicts[i]));
    } catch (e) {
      for (const q of batch) q.reject(e);
    }
  }
}

let shared: SignatureBatcher | undefined;

/** The process-wide batcher, on the process-wide pool. */
export function defaultSignatureBatcher(): SignatureBatcher {
  shared ??= new SignatureBatcher();
  return shared;
}
