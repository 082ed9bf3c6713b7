/**
 * @module The mempool: unconfirmed transactions ordered by fee rate, double spends rejected,
 * bounded by total size with lowest-fee-rate eviction (descendants leave with their ancestors).
 */

import { toHex } from "./bytes.ts";
import type { Transaction } from "./tx.ts";
import { ValidationError } from "./errors.ts";

/** One mempool entry. */
export interface MempoolEntry {
  /** Txid (hex). */
  txid: string;
  /** Decoded transaction. */
  tx: Transaction;
  /** Encoded bytes. */
  bytes: Uint8Array;
  /** Fee in base units. */
  fee: bigint;
  /** Fee per byte (base units, float for ordering). */
  feeRate: number;
  /** Time it entered the pool (ms). */
  added: number;
}

/** Key of an outpoint in the spends map. */
export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${vout}`;
}

/** Bounded fee-rate-ordered pool of unconfirmed transactions. */
export class Mempool {
  readonly #entries = new Map<string, MempoolEntry>();
  readonly #spends = new Map<string, string>();
  #bytes = 0;
  /** Size bound in bytes of all entries. */
  readonly maxBytes: number;

  /** Creates a pool bounded to `maxBytes` of transactions. */
  constructor(maxBytes = 5_000_000) {
    this.maxBytes = maxBytes;
  }

  /** Number of transactions. */
  get size(): number {
    return this.#entries.size;
  }

  /** Total bytes of all transactions. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entry for `txid`. */
  get(txid: string): MempoolEntry | undefined {
    return this.#entries.get(txid);
  }

  /** True when `txid` is in the pool. */
  has(txid: string): boolean {
    return this.#entries.has(txid);
  }

  /** All entries, in insertion order. */
  entries(): MempoolEntry[] {
    return [...this.#entries.values()];
  }

  /** Txid of the pool transaction spending `txid:vout`, if any. */
  spender(txid: string, vout: number): string | undefined {
    return this.#spends.get(outpointKey(txid, vout));
  }

  /**
   * Adds an entry, then evicts the lowest fee rates while over the size bound. Throws
   * `ValidationError` `mempool/conflict` on a double spend and `mempool/full` when the new entry
   * itself would be evicted (nothing is changed then).
   */
  add(entry: MempoolEntry): void {
    for (const input of entry.tx.inputs) {
      const other = this.#spends.get(outpointKey(toHex(input.prevout.txid), input.prevout.vout));
      if (other) {
        throw new ValidationError(
          "mempool/conflict",
          `input already spent by mempool transaction ${other}`,
        );
      }
    }
    this.#insert(entry);
    const evicted: MempoolEntry[] = [];
    while (this.#bytes > this.maxBytes) {
      const worst = this.#lowestFeeRate();
      if (!worst) break;
      evicted.push(...this.remove(worst.txid, true));
    }
    if (evicted.some((e) => e.txid === entry.txid)) {
      for (const e of evicted) if (e.txid !== entry.txid) this.#insert(e);
      throw new ValidationError(
        "mempool/full",
        "mempool is full and the fee rate is too low to enter",
      );
    }
  }

  #insert(entry: MempoolEntry): void {
    this.#entries.set(entry.txid, entry);
    this.#bytes += entry.bytes.length;
    for (const input of entry.tx.inputs) {
      this.#spends.set(outpointKey(toHex(input.prevout.txid), input.prevout.vout), entry.txid);
    }
  }

  #lowestFeeRate(): MempoolEntry | undefined {
    let worst: MempoolEntry | undefined;
    for (const e of this.#entries.values()) if (!worst || e.feeRate < worst.feeRate) worst = e;
    return worst;
  }

  /** Removes `txid` (and, when `descendants`, every transaction spending its outputs); returns what left. */
  remove(txid: string, descendants = true): MempoolEntry[] {
    const entry = this.#entries.get(txid);
    if (!entry) return [];
    const removed = [entry];
    this.#entries.delete(txid);
    this.#bytes -= entry.bytes.length;
    for (const input of entry.tx.inputs) {
      this.#spends.delete(outpointKey(toHex(input.prevout.txid), input.prevout.vout));
    }
    if (descendants) {
      for (let vout = 0; vout < entry.tx.outputs.length; vout++) {
        const child = this.#spends.get(outpointKey(txid, vout));
        if (child) removed.push(...this.remove(child, true));
      }
    }
    return removed;
  }

  /**
   * Picks transactions for a block: highest fee rate first, a transaction only after the pool
   * parents it spends, within `maxBytes`.
   */
  select(maxBytes: number): MempoolEntry[] {
    const sorted = [...this.#entries.values()].sort((a, b) =>
      b.feeRate - a.feeRate || a.added - b.added
    );
    const chosen: MempoolEntry[] = [];
    const included = new Set<string>();
    let used = 0;
    let progress = true;
    while (progress) {
      progress = false;
      for (const e of sorted) {
        if (included.has(e.txid) || used + e.bytes.length > maxBytes) continue;
        const parentsIn = e.tx.inputs.every((i) => {
          const parent = toHex(i.prevout.txid);
          return !this.#entries.has(parent) || included.has(parent);
        });
        if (!parentsIn) continue;
        chosen.push(e);
        included.add(e.txid);
        used += e.bytes.length;
        progress = true;
      }
    }
    return chosen;
  }
}
