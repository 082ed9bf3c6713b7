/**
 * @module What became of transactions that left the mempool without being mined (evicted from a full
 * pool, or conflicted by a block), so that `GET /v1/txs/:id` and wallets can say why a transaction
 * they were told was accepted is gone. Bounded: the oldest records go first.
 */

/** Why a transaction left the pool unmined. */
export type TxFateReason = "evicted" | "conflicted";

/** One record. */
export interface TxFate {
  /** Why it left. */
  reason: TxFateReason;
  /** When, ms since the epoch. */
  at: number;
  /** Its fee rate, base units per byte. */
  feeRate: number;
}

/** Records kept at most (about 1 MB). */
export const MAX_TX_FATES = 10_000;

/** A bounded map from txid to its {@link TxFate}. */
export class TxFates {
  readonly #records = new Map<string, TxFate>();
  readonly #max: number;

  /** Keeps at most `max` records. */
  constructor(max = MAX_TX_FATES) {
    this.#max = max;
  }

  /** Records what became of `txid` (replacing an older record of it). */
  record(txid: string, fate: TxFate): void {
    this.#records.delete(txid);
    this.#records.set(txid, fate);
    if (this.#records.size > this.#max) this.#records.delete(this.#records.keys().next().value!);
  }

  /** Forgets `txid` (it is back in the pool or mined). */
  forget(txid: string): void {
    this.#records.delete(txid);
  }

  /** What became of `txid`, if recorded. */
  get(txid: string): TxFate | undefined {
    return this.#records.get(txid);
  }
}
