/**
 * @module The mempool's rolling minimum fee rate, after Bitcoin Core's `rollingMinimumFeeRate`: a
 * full pool that evicts a package raises the floor to that package's fee rate plus the incremental
 * relay fee, so nothing enters for the same rate as what just left; after the next block the floor
 * halves every half-life (faster while the pool is emptier) and drops to zero below half the
 * incremental rate.
 */

/** Core's ROLLING_FEE_HALFLIFE: 12 hours. */
export const FEE_FLOOR_HALF_LIFE_MS = 12 * 60 * 60_000;
/** The floor decays at most this often (Core: 10 s). */
const DECAY_STEP_MS = 10_000;

/** Options of a {@link FeeFloor}. */
export interface FeeFloorOptions {
  /** Incremental relay fee rate, base units per byte (Core: 1 sat/vB). */
  incrementalRate: number;
  /** Half-life of the decay, ms (default {@link FEE_FLOOR_HALF_LIFE_MS}). */
  halfLifeMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** A minimum fee rate that rises on eviction and decays after blocks. */
export class FeeFloor {
  readonly #incremental: number;
  readonly #halfLifeMs: number;
  readonly #now: () => number;
  #rate = 0;
  #lastUpdate = 0;
  #blockSinceBump = false;

  /** A floor at zero. */
  constructor(options: FeeFloorOptions) {
    this.#incremental = options.incrementalRate;
    this.#halfLifeMs = options.halfLifeMs ?? FEE_FLOOR_HALF_LIFE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Records that a package of fee rate `packageRate` was evicted: the floor rises above it. */
  evicted(packageRate: number): void {
    const rate = packageRate + this.#incremental;
    if (rate > this.#rate) {
      this.#rate = rate;
      this.#blockSinceBump = false;
    }
  }

  /** Records a connected block: from now on the floor decays. */
  blockConnected(): void {
    this.#lastUpdate = this.#now();
    this.#blockSinceBump = true;
  }

  /**
   * The floor now, base units per byte (0 when not raised). `usage` is the pool's fill (bytes over
   * its bound): below 1/4 the half-life is a quarter, below 1/2 a half, as in Core.
   */
  current(usage: number): number {
    if (!this.#blockSinceBump || this.#rate === 0) return this.#rate;
    const now = this.#now();
    if (now > this.#lastUpdate + DECAY_STEP_MS) {
      const halfLife = this.#halfLifeMs / (usage < 0.25 ? 4 : usage < 0.5 ? 2 : 1);
      this.#rate /= 2 ** ((now - this.#lastUpdate) / halfLife);
      this.#lastUpdate = now;
      if (this.#rate < this.#incremental / 2) {
        this.#rate = 0;
        return 0;
      }
    }
    return Math.max(this.#rate, this.#incremental);
  }
}
