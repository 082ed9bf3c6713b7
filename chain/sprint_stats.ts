/**
 * @module The sprint's statistical acceptance rule (Gonka's): a validator re-runs k sampled nonces
 * of a proof and counts mismatches (a claimed nonce whose distance is not under the threshold). An
 * honest prover on another backend mismatches at most at rate p0 (float noise near the threshold), so
 * a proof is rejected when P(X >= mismatches) < alpha for X ~ Binomial(k, p0). The limit is computed
 * in exact rational arithmetic (BigInt), so every node gets the same answer on every runtime.
 */

import type { SprintParams } from "./params.ts";

const cache = new Map<string, number>();

/**
 * Most mismatches among `k` re-run nonces that still accept: the largest m with
 * P(X >= m | Binomial(k, p0)) >= alpha (P(X >= 0) = 1, so at least 0).
 */
export function maxSprintMismatches(
  k: number,
  p0: { readonly num: number; readonly den: number },
  alpha: { readonly num: number; readonly den: number },
): number {
  if (!Number.isInteger(k) || k < 0) throw new RangeError("sample size must be a natural number");
  const key = `${k}/${p0.num}/${p0.den}/${alpha.num}/${alpha.den}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const a = BigInt(p0.num), b = BigInt(p0.den);
  // term j = C(k, j) a^j (b - a)^(k - j); P(X >= m) = sum_{j >= m} term j / b^k.
  const terms: bigint[] = [];
  let c = 1n;
  for (let j = 0; j <= k; j++) {
    if (j > 0) c = c * BigInt(k - j + 1) / BigInt(j);
    terms.push(c * a ** BigInt(j) * (b - a) ** BigInt(k - j));
  }
  const total = b ** BigInt(k);
  let tail = 0n;
  let m = k + 1;
  // Walk down from the top: the first m whose tail reaches alpha is the limit.
  for (let j = k; j >= 0; j--) {
    tail += terms[j];
    // tail / total >= alpha.num / alpha.den
    if (tail * BigInt(alpha.den) >= total * BigInt(alpha.num)) {
      m = j;
      break;
    }
  }
  const limit = Math.max(0, m);
  cache.set(key, limit);
  return limit;
}

/** {@link maxSprintMismatches} under a network's sprint parameters. */
export function sprintMismatchLimit(p: SprintParams, k: number): number {
  return maxSprintMismatches(k, p.honestMismatch, p.alpha);
}
