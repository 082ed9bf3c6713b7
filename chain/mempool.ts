/**
 * @module The mempool: unconfirmed transactions ordered by fee rate, double spends rejected, bounded
 * by total size. Over the bound it evicts as Bitcoin Core's TrimToSize: the lowest descendant score
 * first (a package leaves whole; on equal scores the newest goes), and the rolling fee floor
 * (chain/fee_floor.ts) then keeps out newcomers that do not beat what left. Transactions that leave
 * unmined are recorded (chain/tx_fates.ts).
 */

import { toHex } from "./bytes.ts";
import type { Transaction } from "./tx.ts";
import { ValidationError } from "./errors.ts";
import { FeeFloor } from "./fee_floor.ts";
import { type TxFateReason, TxFates } from "./tx_fates.ts";

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

/** Default size bound of the pool, bytes. */
export const DEFAULT_MEMPOOL_BYTES = 5_000_000;

/** Options of a {@link Mempool}. */
export interface MempoolOptions {
  /** Size bound in bytes (default {@link DEFAULT_MEMPOOL_BYTES}). */
  maxBytes?: number;
  /** Incremental relay fee rate, base units per byte, by which the floor exceeds an eviction (1). */
  incrementalFeeRate?: number;
  /** Half-life of the fee floor's decay, ms (Core: 12 h). */
  floorHalfLifeMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Bounded fee-rate-ordered pool of unconfirmed transactions. */
export class Mempool {
  readonly #entries = new Map<string, MempoolEntry>();
  readonly #spends = new Map<string, string>();
  /** Every entry by fee rate, then newest first: the order in which eviction looks at them. */
  readonly #byRate: MempoolEntry[] = [];
  /** Arrival order of entries (kept when a refused newcomer puts evicted entries back). */
  readonly #arrival = new WeakMap<MempoolEntry, number>();
  #arrivals = 0;
  #bytes = 0;
  readonly #floor: FeeFloor;
  readonly #now: () => number;
  /** Size bound in bytes of all entries. */
  readonly maxBytes: number;
  /** What became of transactions that left unmined. */
  readonly fates = new TxFates();

  /** Creates a pool bounded to `maxBytes` of transactions (a number, or options). */
  constructor(options: number | MempoolOptions = {}) {
    const o = typeof options === "number" ? { maxBytes: options } : options;
    this.maxBytes = o.maxBytes ?? DEFAULT_MEMPOOL_BYTES;
    this.#now = o.now ?? Date.now;
    this.#floor = new FeeFloor({
      incrementalRate: o.incrementalFeeRate ?? 1,
      halfLifeMs: o.floorHalfLifeMs,
      now: this.#now,
    });
  }

  /** The rolling minimum fee rate a newcomer must reach, base units per byte (0 when not raised). */
  minFeeRate(): number {
    return this.#floor.current(this.#bytes / this.maxBytes);
  }

  /** Records a connected block (the fee floor starts to decay). */
  blockConnected(): void {
    this.#floor.blockConnected();
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
   * Adds an entry, then evicts the lowest descendant scores while over the size bound. Throws
   * `ValidationError` `mempool/conflict` on a double spend, `mempool/min-fee` below the rolling fee
   * floor, and `mempool/full` when the new entry itself would be evicted (nothing changes then).
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
    const floor = this.minFeeRate();
    if (entry.feeRate < floor) {
      throw new ValidationError(
        "mempool/min-fee",
        `mempool is full: fee rate ${entry.feeRate.toFixed(2)} is below its minimum ` +
          `${floor.toFixed(2)} per byte`,
      );
    }
    this.#insert(entry);
    const evicted: { package: MempoolEntry[]; rate: number }[] = [];
    while (this.#bytes > this.maxBytes) {
      const worst = this.#lowestScore();
      if (!worst) break;
      const removed = this.remove(worst.txid, true);
      evicted.push({ package: removed, rate: packageRate(removed) });
      if (removed.includes(entry)) break;
    }
    if (evicted.some((e) => e.package.includes(entry))) {
      for (const e of evicted) for (const x of e.package) if (x !== entry) this.#insert(x);
      throw new ValidationError(
        "mempool/full",
        "mempool is full and the fee rate is too low to enter",
      );
    }
    const at = this.#now();
    for (const e of evicted) {
      this.#floor.evicted(e.rate);
      for (const x of e.package) {
        this.fates.record(x.txid, { reason: "evicted", at, feeRate: x.feeRate });
      }
    }
  }

  #insert(entry: MempoolEntry): void {
    if (!this.#arrival.has(entry)) this.#arrival.set(entry, this.#arrivals++);
    this.#entries.set(entry.txid, entry);
    this.#byRate.splice(this.#rateIndex(entry), 0, entry);
    this.#bytes += entry.bytes.length;
    this.fates.forget(entry.txid);
    for (const input of entry.tx.inputs) {
      this.#spends.set(outpointKey(toHex(input.prevout.txid), input.prevout.vout), entry.txid);
    }
  }

  /** True when `a` arrived after `b`. */
  #newer(a: MempoolEntry, b: MempoolEntry): boolean {
    return this.#arrival.get(a)! > this.#arrival.get(b)!;
  }

  /** Position of `entry` in the eviction order (binary search). */
  #rateIndex(entry: MempoolEntry): number {
    let lo = 0;
    let hi = this.#byRate.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.#byRate[mid];
      if (e.feeRate < entry.feeRate || (e.feeRate === entry.feeRate && this.#newer(e, entry))) {
        lo = mid + 1;
      } else hi = mid;
    }
    return lo;
  }

  /** `txid` and every pool transaction spending its outputs, directly or not. */
  #withDescendants(entry: MempoolEntry): MempoolEntry[] {
    const out = [entry];
    const seen = new Set([entry.txid]);
    for (let i = 0; i < out.length; i++) {
      for (let vout = 0; vout < out[i].tx.outputs.length; vout++) {
        const child = this.#spends.get(outpointKey(out[i].txid, vout));
        if (child && !seen.has(child)) {
          seen.add(child);
          out.push(this.#entries.get(child)!);
        }
      }
    }
    return out;
  }

  /**
   * The entry whose descendant score (the higher of its own fee rate and that of its package with
   * its descendants, as Core) is lowest; on equal scores the newest. Entries are scanned by own fee
   * rate, which bounds the score from below, so the scan stops early.
   */
  #lowestScore(): MempoolEntry | undefined {
    let best: MempoolEntry | undefined;
    let bestScore = Infinity;
    for (const e of this.#byRate) {
      if (e.feeRate > bestScore || (e.feeRate === bestScore && !this.#newer(e, best!))) break;
      const score = Math.max(e.feeRate, packageRate(this.#withDescendants(e)));
      if (score < bestScore || (score === bestScore && this.#newer(e, best!))) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * Removes `txid` (and, when `descendants`, every transaction spending its outputs); returns what
   * left. With a `fate`, records why each left (see {@link fates}).
   */
  remove(txid: string, descendants = true, fate?: TxFateReason): MempoolEntry[] {
    const entry = this.#entries.get(txid);
    if (!entry) return [];
    const removed = [entry];
    this.#entries.delete(txid);
    this.#byRate.splice(this.#rateIndex(entry), 1);
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
    if (fate) {
      const at = this.#now();
      for (const e of removed) this.fates.record(e.txid, { reason: fate, at, feeRate: e.feeRate });
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

/** Fee rate of a package: its fees over its bytes. */
function packageRate(entries: MempoolEntry[]): number {
  let fee = 0n;
  let bytes = 0;
  for (const e of entries) {
    fee += e.fee;
    bytes += e.bytes.length;
  }
  return Number(fee) / bytes;
}
