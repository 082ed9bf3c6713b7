/**
 * @module A bounded, expiring inbox of envelopes addressed to keys that have no link here, for
 * clients without a socket (`GET /v1/messages?to=PUBKEY`). Reading does not remove messages (anyone
 * may read an inbox, so draining one must not be a way to steal it); they expire after a TTL.
 */

import type { Envelope } from "./envelope.ts";

/** One stored message with its sequence number (a cursor for `after=`). */
export interface InboxEntry {
  /** Increasing sequence number within this node. */
  seq: number;
  /** When it was stored, ms. */
  storedAt: number;
  /** The envelope. */
  envelope: Envelope;
}

/** The inbox. */
export class Inbox {
  readonly #byKey = new Map<string, InboxEntry[]>();
  #total = 0;
  #seq = 0;
  #lastPrune = 0;

  /** Creates an inbox with per-recipient and total bounds and a TTL in ms. */
  constructor(readonly perRecipient: number, readonly total: number, readonly ttlMs: number) {}

  /** Number of messages held. */
  get size(): number {
    return this.#total;
  }

  /** Stores `env` for recipient `toHex`, evicting the oldest when a bound is hit. */
  put(toHex: string, env: Envelope): void {
    if (Date.now() - this.#lastPrune > 1000) this.prune();
    let list = this.#byKey.get(toHex);
    if (!list) {
      list = [];
      this.#byKey.set(toHex, list);
    }
    if (list.length >= this.perRecipient) {
      list.shift();
      this.#total--;
    }
    while (this.#total >= this.total) this.#evictOldest();
    list.push({ seq: ++this.#seq, storedAt: Date.now(), envelope: env });
    this.#total++;
  }

  #evictOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, l] of this.#byKey) {
      if (l.length && l[0].storedAt < oldest) {
        oldest = l[0].storedAt;
        oldestKey = k;
      }
    }
    if (oldestKey === undefined) {
      this.#total = 0;
      return;
    }
    const l = this.#byKey.get(oldestKey)!;
    l.shift();
    this.#total--;
    if (!l.length) this.#byKey.delete(oldestKey);
  }

  /** Messages for `toHex` with a sequence number above `after`, oldest first, at most `limit`. */
  get(toHex: string, after = 0, limit = 100): InboxEntry[] {
    this.prune();
    const l = this.#byKey.get(toHex) ?? [];
    return l.filter((e) => e.seq > after).slice(0, limit);
  }

  /** Drops expired messages. */
  prune(now: number = Date.now()): void {
    this.#lastPrune = now;
    for (const [k, l] of this.#byKey) {
      let n = 0;
      while (n < l.length && now - l[n].storedAt > this.ttlMs) n++;
      if (n) {
        l.splice(0, n);
        this.#total -= n;
      }
      if (!l.length) this.#byKey.delete(k);
    }
  }
}
