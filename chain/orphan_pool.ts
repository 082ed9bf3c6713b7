/**
 * @module Orphan transactions, after Bitcoin Core's TxOrphanage: a transaction whose parents have not
 * arrived yet (payments sent to several nodes race their parents) is held, bounded in count and
 * bytes overall and per source, and expires; when a parent is admitted (or mined) its orphans are
 * tried again. Holds bytes only: nothing here is validated beyond what admission checked.
 */

import { outpointKey } from "./mempool.ts";
import { toHex } from "./bytes.ts";
import type { Transaction } from "./tx.ts";

/** Bounds of an {@link OrphanPool}. */
export interface OrphanLimits {
  /** Orphans held at most. */
  maxCount: number;
  /** Bytes of orphans held at most. */
  maxBytes: number;
  /** Orphans held at most from one source (an HTTP client address or a peer). */
  perSourceCount: number;
  /** Bytes held at most from one source. */
  perSourceBytes: number;
  /** An orphan is dropped after this long, ms. */
  ttlMs: number;
}

/** Defaults (reasons in docs/protocol.md, "Orphan transactions"). */
export const DEFAULT_ORPHAN_LIMITS: Readonly<OrphanLimits> = Object.freeze({
  maxCount: 1000,
  maxBytes: 5_000_000,
  perSourceCount: 100,
  perSourceBytes: 1_000_000,
  ttlMs: 20 * 60_000,
});

/** One held orphan. */
export interface Orphan {
  /** Txid. */
  txid: string;
  /** Encoded transaction. */
  bytes: Uint8Array;
  /** Txids of the parents still missing. */
  parents: string[];
  /** Outpoints it spends (`txid:vout`). */
  spends: string[];
  /** Who sent it. */
  source: string;
  /** When it was added, ms. */
  added: number;
}

/** Bounded, expiring pool of orphan transactions. */
export class OrphanPool {
  readonly limits: OrphanLimits;
  readonly #orphans = new Map<string, Orphan>();
  readonly #byParent = new Map<string, Set<string>>();
  readonly #bySpend = new Map<string, string>();
  readonly #bySource = new Map<string, { count: number; bytes: number }>();
  #bytes = 0;

  /** A pool with `limits` (defaults {@link DEFAULT_ORPHAN_LIMITS}). */
  constructor(limits: Partial<OrphanLimits> = {}) {
    this.limits = { ...DEFAULT_ORPHAN_LIMITS, ...limits };
  }

  /** Number of orphans held (expired ones dropped first). */
  get size(): number {
    this.expire();
    return this.#orphans.size;
  }

  /** Bytes of orphans held (expired ones dropped first). */
  get bytes(): number {
    this.expire();
    return this.#bytes;
  }

  /** The orphan `txid`, if held and not expired. */
  get(txid: string): Orphan | undefined {
    this.expire();
    return this.#orphans.get(txid);
  }

  /**
   * Holds `tx` (txid `txid`, waiting for `parents`) from `source`, dropping expired orphans and then,
   * while over a bound, the oldest orphan of the source (or, overall, of the largest source).
   * Returns whether `txid` is held afterwards.
   */
  add(
    txid: string,
    tx: Transaction,
    bytes: Uint8Array,
    parents: string[],
    source: string,
  ): boolean {
    const now = Date.now();
    this.expire(now);
    this.remove(txid);
    const spends = tx.inputs.map((i) => outpointKey(toHex(i.prevout.txid), i.prevout.vout));
    const orphan: Orphan = { txid, bytes: bytes.slice(), parents, spends, source, added: now };
    this.#orphans.set(txid, orphan);
    this.#bytes += bytes.length;
    for (const p of parents) this.#byParent.set(p, (this.#byParent.get(p) ?? new Set()).add(txid));
    for (const s of spends) this.#bySpend.set(s, txid);
    const mine = this.#bySource.get(source) ?? { count: 0, bytes: 0 };
    this.#bySource.set(source, { count: mine.count + 1, bytes: mine.bytes + bytes.length });
    const l = this.limits;
    while (this.#over(this.#bySource.get(source)!, l.perSourceCount, l.perSourceBytes)) {
      this.remove(this.#oldestOf(source)!.txid);
    }
    while (this.#over({ count: this.size, bytes: this.#bytes }, l.maxCount, l.maxBytes)) {
      this.remove(this.#oldestOf(this.#largestSource())!.txid);
    }
    return this.#orphans.has(txid);
  }

  #over(use: { count: number; bytes: number } | undefined, count: number, bytes: number): boolean {
    return !!use && (use.count > count || use.bytes > bytes);
  }

  #oldestOf(source: string): Orphan | undefined {
    for (const o of this.#orphans.values()) if (o.source === source) return o;
  }

  #largestSource(): string {
    let best = "";
    let bytes = -1;
    for (const [source, use] of this.#bySource) {
      if (use.bytes > bytes) [best, bytes] = [source, use.bytes];
    }
    return best;
  }

  /** Drops `txid` if held; returns it. */
  remove(txid: string): Orphan | undefined {
    const o = this.#orphans.get(txid);
    if (!o) return undefined;
    this.#orphans.delete(txid);
    this.#bytes -= o.bytes.length;
    for (const p of o.parents) {
      const set = this.#byParent.get(p);
      set?.delete(txid);
      if (set?.size === 0) this.#byParent.delete(p);
    }
    for (const s of o.spends) if (this.#bySpend.get(s) === txid) this.#bySpend.delete(s);
    const use = this.#bySource.get(o.source)!;
    if (use.count === 1) this.#bySource.delete(o.source);
    else this.#bySource.set(o.source, { count: use.count - 1, bytes: use.bytes - o.bytes.length });
    return o;
  }

  /** Drops orphans older than the time-to-live; returns how many. */
  expire(now = Date.now()): number {
    let n = 0;
    for (const o of this.#orphans.values()) {
      if (now - o.added <= this.limits.ttlMs) break; // insertion order is age order
      this.remove(o.txid);
      n++;
    }
    return n;
  }

  /** Orphans waiting for `parent`, oldest first. */
  childrenOf(parent: string): Orphan[] {
    return [...this.#byParent.get(parent) ?? []].map((t) => this.#orphans.get(t)!);
  }

  /** Drops orphans spending any of `outpoints` (`txid:vout`; a block spent them); returns them. */
  removeSpending(outpoints: Iterable<string>): Orphan[] {
    const out: Orphan[] = [];
    for (const s of outpoints) {
      const t = this.#bySpend.get(s);
      const o = t === undefined ? undefined : this.remove(t);
      if (o) out.push(o);
    }
    return out;
  }
}
