/**
 * @module Providers judged on evidence (node policy): a sequential likelihood-ratio test over the
 * per-position margins of a provider's verified jobs. Each checked position scores 1 when its margin
 * exceeds `level` (a margin that honest backends rarely reach but that passes the single-position
 * check, e.g. below epsilon), else 0. Under honesty the exceedance rate is at most p0 (calibrated
 * from honest margins); a substituted model (q8_0 served as f16, perturbed weights) raises it to p1.
 * The log-likelihood ratio sum over positions is tested against ln(1/alpha): by Ville's inequality an
 * honest provider is ever flagged with probability at most alpha, however long the test runs. The
 * test restarts each epoch (`newEpoch`), so alpha is the false-flag rate per provider per epoch.
 * A flag only moves reputation (reputation.ts: reset to 0, validation back to 1.0); it never slashes.
 */

/** Test parameters. */
export interface MarginTestParams {
  /** Honest exceedance rate bound p0, in (0, 1). */
  readonly p0: number;
  /** Exceedance rate of the substitution to detect, p1 in (p0, 1). */
  readonly p1: number;
  /** False-flag rate per provider per epoch. */
  readonly alpha: number;
}

/**
 * The network's margin test, one definition for a node's own evidence (local_evidence.ts) and the
 * evidence every node derives from validation records on chain (chain_reputation.ts): level 0 (the
 * verifier scores another token above the claim), p0 = 0.016% and p1 = 1.32% as measured for q8_0
 * served as f16 (llama.cpp -> WASM, tiny fixture; docs/verification.md, "the margin test"), alpha
 * 1/1,000 per executor per epoch. A validator's record counts as exceeding the positions whose
 * margin is above `level`.
 */
export const MARGIN_TEST: MarginTestParams & { readonly level: number } = {
  level: 0,
  p0: 0.00016,
  p1: 0.0132,
  alpha: 0.001,
};

/** Log-likelihood ratio of one exceeding / non-exceeding position. */
function steps(p: MarginTestParams): { up: number; down: number } {
  if (!(p.p0 > 0 && p.p1 > p.p0 && p.p1 < 1 && p.alpha > 0 && p.alpha < 1)) {
    throw new RangeError("margin test needs 0 < p0 < p1 < 1 and 0 < alpha < 1");
  }
  return { up: Math.log(p.p1 / p.p0), down: Math.log((1 - p.p1) / (1 - p.p0)) };
}

/**
 * Expected positions until a provider exceeding at rate p1 is flagged (Wald's approximation:
 * ln(1/alpha) / KL(p1 || p0)).
 */
export function expectedPositionsToFlag(p: MarginTestParams): number {
  const { up, down } = steps(p);
  return Math.log(1 / p.alpha) / (p.p1 * up + (1 - p.p1) * down);
}

/** One provider's state. */
export interface ProviderEvidence {
  /** Log-likelihood ratio this epoch. */
  llr: number;
  /** Positions observed this epoch. */
  positions: number;
  /** Exceeding positions this epoch. */
  exceeded: number;
  /** Whether the provider was flagged this epoch. */
  flagged: boolean;
}

/** The test over every provider a node has verified. */
export class MarginEvidence {
  readonly #p: MarginTestParams;
  readonly #up: number;
  readonly #down: number;
  readonly #bound: number;
  readonly #providers = new Map<string, ProviderEvidence>();

  /** A test with parameters `p`. */
  constructor(p: MarginTestParams) {
    const { up, down } = steps(p);
    this.#p = p;
    this.#up = up;
    this.#down = down;
    this.#bound = Math.log(1 / p.alpha);
  }

  /** The test's parameters. */
  get params(): MarginTestParams {
    return this.#p;
  }

  /**
   * Adds one verified job's per-position margins for `provider` (margins above `level` exceed).
   * Returns true when this job makes the provider flagged (once per epoch).
   */
  observe(provider: string, margins: readonly number[], level: number): boolean {
    const e = this.#state(provider);
    for (const m of margins) {
      const x = m > level;
      e.llr += x ? this.#up : this.#down;
      e.positions++;
      if (x) e.exceeded++;
    }
    return this.#cross(e);
  }

  /**
   * Adds one verified job's counts for `provider`: `positions` checked, `exceeded` of them above the
   * level (as a validation record states them). The job's log-likelihood ratio is exceeded x
   * ln(p1/p0) + (positions - exceeded) x ln((1-p1)/(1-p0)), added at once. Returns true when this
   * job makes the provider flagged (once per epoch).
   */
  observeCounts(provider: string, positions: number, exceeded: number): boolean {
    if (!(Number.isInteger(positions) && Number.isInteger(exceeded) && exceeded >= 0)) {
      throw new RangeError("positions and exceeded must be whole numbers");
    }
    if (exceeded > positions) throw new RangeError("more exceeded than positions");
    const e = this.#state(provider);
    e.llr += exceeded * this.#up + (positions - exceeded) * this.#down;
    e.positions += positions;
    e.exceeded += exceeded;
    return this.#cross(e);
  }

  #state(provider: string): ProviderEvidence {
    let e = this.#providers.get(provider);
    if (!e) {
      e = { llr: 0, positions: 0, exceeded: 0, flagged: false };
      this.#providers.set(provider, e);
    }
    return e;
  }

  /** Marks `e` flagged the first time its sum reaches the bound; true then. */
  #cross(e: ProviderEvidence): boolean {
    if (!e.flagged && e.llr >= this.#bound) {
      e.flagged = true;
      return true;
    }
    return false;
  }

  /** Loads a provider's saved state this epoch (a node keeps it between jobs, e.g. in its KV). */
  restore(provider: string, e: Readonly<ProviderEvidence>): void {
    this.#providers.set(provider, { ...e });
  }

  /** A provider's evidence this epoch (undefined when none). */
  evidence(provider: string): Readonly<ProviderEvidence> | undefined {
    return this.#providers.get(provider);
  }

  /** Providers flagged this epoch. */
  flagged(): string[] {
    return [...this.#providers].filter(([, e]) => e.flagged).map(([k]) => k);
  }

  /** Starts a new epoch: every provider's test restarts. */
  newEpoch(): void {
    this.#providers.clear();
  }
}
