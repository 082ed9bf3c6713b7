/**
 * @module Reputation and validation rates (node policy; the paper's appendix D as issue 16 reads it).
 * A node's reputation starts at 0, grows by 1 at the end of each epoch it was active without proven
 * fraud or a statistical flag, drops to 0 on either, and is deleted after `inactiveEpochs` epochs
 * without activity. The probability that a job of the node is validated falls linearly from 1.0 at
 * reputation 0 to a floor at `maturityEpochs`; the floor follows the network's job volume V (the
 * greater of the last and the current epoch's job count): floor = max(minFloor, min(1,
 * targetChecks / V)), so at any volume about `targetChecks` jobs of a fully reputed node's share are
 * still validated per epoch, and small networks validate everything.
 */

/** Reputation parameters. */
export interface ReputationParams {
  /** Epochs from reputation 0 to the floor. */
  readonly maturityEpochs: number;
  /** Epochs without activity after which a node's record is deleted. */
  readonly inactiveEpochs: number;
  /** Validations per epoch the floor aims at, whatever the volume. */
  readonly targetChecks: number;
  /** Lowest validation probability at any volume. */
  readonly minFloor: number;
}

/** Defaults: 20 epochs to mature, deleted after 30 idle, 100 checks an epoch, floor at least 2%. */
export const DEFAULT_REPUTATION: ReputationParams = {
  maturityEpochs: 20,
  inactiveEpochs: 30,
  targetChecks: 100,
  minFloor: 0.02,
};

/** The validation floor at job volume max(lastVolume, currentVolume). */
export function validationFloor(
  p: ReputationParams,
  lastVolume: number,
  currentVolume: number,
): number {
  const v = Math.max(lastVolume, currentVolume);
  return v <= 0 ? 1 : Math.max(p.minFloor, Math.min(1, p.targetChecks / v));
}

/** The probability that a job of a node with `reputation` is validated. */
export function validationProbability(
  p: ReputationParams,
  reputation: number,
  floor: number,
): number {
  const r = Math.min(Math.max(reputation, 0), p.maturityEpochs) / p.maturityEpochs;
  return r >= 1 ? floor : 1 - (1 - floor) * r;
}

/** One node's record. */
export interface ReputationRecord {
  /** Current reputation (epochs without fraud, capped at maturityEpochs). */
  reputation: number;
  /** Last epoch the node was active. */
  lastActive: number;
}

/** What happened to nodes in one epoch. */
export interface EpochOutcome {
  /** Nodes that executed or validated jobs, or proved compute. */
  readonly active: Iterable<string>;
  /** Nodes with proven fraud (a fraud proof, a confirmed report). */
  readonly fraud?: Iterable<string>;
  /**
   * Nodes flagged by the statistical test (margin_sprt.ts) over the validation records on chain
   * (chain_reputation.ts).
   */
  readonly flagged?: Iterable<string>;
}

/** Reputation records of every known node. */
export class ReputationBook {
  readonly #p: ReputationParams;
  readonly #records = new Map<string, ReputationRecord>();

  /** An empty book, or one restored from {@link toJSON} output. */
  constructor(p: ReputationParams = DEFAULT_REPUTATION, saved?: Record<string, ReputationRecord>) {
    this.#p = p;
    for (const [k, r] of Object.entries(saved ?? {})) this.#records.set(k, { ...r });
  }

  /** A node's reputation (0 when unknown). */
  reputation(node: string): number {
    return this.#records.get(node)?.reputation ?? 0;
  }

  /** Whether the book holds a record of `node`. */
  has(node: string): boolean {
    return this.#records.has(node);
  }

  /** The validation probability of a node's jobs at the given volumes. */
  probability(node: string, lastVolume: number, currentVolume: number): number {
    const floor = validationFloor(this.#p, lastVolume, currentVolume);
    return validationProbability(this.#p, this.reputation(node), floor);
  }

  /** Resets a node's reputation at once (a statistical flag or proven fraud mid-epoch). */
  reset(node: string, epoch: number): void {
    this.#records.set(node, { reputation: 0, lastActive: epoch });
  }

  /** Closes epoch `epoch`: growth, resets, and deletion of long-idle records. */
  endEpoch(epoch: number, outcome: EpochOutcome): void {
    const bad = new Set([...(outcome.fraud ?? []), ...(outcome.flagged ?? [])]);
    for (const node of outcome.active) {
      const r = this.#records.get(node) ?? { reputation: 0, lastActive: epoch };
      r.lastActive = epoch;
      r.reputation = bad.has(node) ? 0 : Math.min(r.reputation + 1, this.#p.maturityEpochs);
      this.#records.set(node, r);
    }
    for (const node of bad) this.#records.set(node, { reputation: 0, lastActive: epoch });
    for (const [node, r] of this.#records) {
      if (epoch - r.lastActive >= this.#p.inactiveEpochs) this.#records.delete(node);
    }
  }

  /** The records, for saving. */
  toJSON(): Record<string, ReputationRecord> {
    return Object.fromEntries([...this.#records].map(([k, r]) => [k, { ...r }]));
  }
}
