/**
 * @module Job assignment by compute weight (node policy): a client picks among the nodes that
 * accepted its offer in proportion to their sprint weight; a node with little or no weight is
 * raised to a newcomer floor (a fraction of the mean weight), so newcomers get some jobs and can
 * build reputation.
 */

/** Options of {@link assignmentShares}. */
export interface AssignmentPolicy {
  /** Floor of each candidate's effective weight as a fraction of the candidates' mean weight. */
  readonly newcomerShare: number;
}

/** Default: a weightless node counts as 5% of the mean. */
export const DEFAULT_ASSIGNMENT: AssignmentPolicy = { newcomerShare: 0.05 };

/**
 * Each candidate's probability of being picked: effective weight max(w, newcomerShare x mean w)
 * over the sum (uniform when every weight is 0). Unknown nodes have weight 0.
 */
export function assignmentShares(
  candidates: readonly string[],
  weights: ReadonlyMap<string, number>,
  policy: AssignmentPolicy = DEFAULT_ASSIGNMENT,
): Map<string, number> {
  const raw = candidates.map((c) => Math.max(0, weights.get(c) ?? 0));
  const mean = raw.reduce((s, w) => s + w, 0) / Math.max(1, candidates.length);
  const eff = raw.map((w) => mean > 0 ? Math.max(w, policy.newcomerShare * mean) : 1);
  const total = eff.reduce((s, w) => s + w, 0);
  return new Map(candidates.map((c, i) => [c, eff[i] / total]));
}

/** The candidate a draw u in [0, 1) picks from `shares` (cumulative, in insertion order). */
export function pickByShare(shares: ReadonlyMap<string, number>, u: number): string {
  if (shares.size === 0) throw new RangeError("no candidate to pick");
  let acc = 0;
  let last = "";
  for (const [c, s] of shares) {
    acc += s;
    last = c;
    if (u < acc) return c;
  }
  return last;
}
