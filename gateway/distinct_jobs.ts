/**
 * @module Distinct job ids for identical requests: a job id hashes the job's terms and its timestamp
 * in seconds, so two requests with the same fixed seed, prompt and parameters within one second would
 * be one job. Each such repeat gets one more block of escrow expiry, which changes its id and nothing
 * it samples.
 */

/** How long a job's terms count as recent (ms): longer than the timestamp's one-second step. */
export const RECENT_MS = 5_000;

/** Counts recent jobs per terms. */
export class DistinctJobs {
  readonly #recent = new Map<string, number[]>();

  /** Extra expiry blocks for a job with terms `key`: how many identical ones were issued recently. */
  next(key: string, now = Date.now()): number {
    for (const [k, times] of this.#recent) {
      const kept = times.filter((t) => now - t < RECENT_MS);
      if (kept.length) this.#recent.set(k, kept);
      else this.#recent.delete(k);
    }
    const times = this.#recent.get(key) ?? [];
    times.push(now);
    this.#recent.set(key, times);
    return times.length - 1;
  }
}
