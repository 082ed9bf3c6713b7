/** @module Test helper: counts of random draws checked against their expected shares. */

import assert from "node:assert/strict";

/** Standard deviations allowed per count: a false alarm chance of about 6e-5 per candidate. */
export const SIGMAS = 4;

/**
 * Asserts each count is within {@link SIGMAS} binomial standard deviations of n x its share, and
 * that the counts sum to n (every draw was a candidate).
 */
export function assertBinomial(
  counts: ReadonlyMap<string, number>,
  shares: ReadonlyMap<string, number>,
  n: number,
): void {
  for (const [node, p] of shares) {
    const got = counts.get(node) ?? 0;
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(
      Math.abs(got - n * p) <= SIGMAS * sd,
      `${node}: ${got} of ${n}, expected ${(n * p).toFixed(1)} ± ${(SIGMAS * sd).toFixed(1)}`,
    );
  }
  assert.equal([...counts.values()].reduce((s, c) => s + c, 0), n, "every draw is a candidate");
}
