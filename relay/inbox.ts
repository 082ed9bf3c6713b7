/**
 * @module A bounded, expiring inbox of envelopes addressed to keys that have no link here, for
 * clients without a socket (`GET /v1/messages?to=PUBKEY`). Reading does not remove messages (anyone
 * may read an inbox, so draining one must not be a way to steal it); they expire after a TTL.
 * Bounded by count (the oldest make room) and by bytes: in total, per recipient, per sender key and
 * per origin (the HTTP client address or the link a message came from); past a byte budget a
 * message is refused with a {@link Misbehaviour} (429, or 413 for one that can never fit).
 */

import { toHex } from "../chain/bytes.ts";
import type { Envelope } from "./envelope.ts";
import { Misbehaviour } from "./errors.ts";
import type { RelayLimits } from "./limits.ts";

/** One stored message with its sequence number (a cursor for `after=`). */
export interface InboxEntry {
  /** Increasing sequence number within this node. */
  seq: number;
  /** When it was stored, ms. */
  storedAt: number;
  /** The envelope. */
  envelope: Envelope;
  /** Bytes it is counted for (see {@link inboxBytesOf}). */
  bytes: number;
  /** Hex of the recipient key it is kept for. */
  recipient: string;
  /** Hex of the sender key. */
  sender: string;
  /** Where it came from (`ip:...`, `link:...`), or null for our own messages. */
  origin: string | null;
}

/** Byte budgets of an inbox (see `RelayLimits`). */
export interface InboxBudgets {
  /** Messages kept per recipient (the oldest make room). */
  perRecipient: number;
  /** Messages kept in total (the oldest make room). */
  total: number;
  /** How long a message is kept, ms. */
  ttlMs: number;
  /** Bytes kept in total. */
  totalBytes: number;
  /** Bytes kept per recipient. */
  perRecipientBytes: number;
  /** Bytes kept per sender key. */
  perSenderBytes: number;
  /** Bytes kept per origin. */
  perOriginBytes: number;
}

/** Fixed part of an envelope's binary form with the largest CompactSize (161 + 9 bytes). */
const ENVELOPE_FIXED_BYTES = 170;

/** Bytes an envelope is counted for: its payload plus the largest fixed part of the binary form. */
export function inboxBytesOf(env: Envelope): number {
  return env.payload.length + ENVELOPE_FIXED_BYTES;
}

/** The inbox. */
export class Inbox {
  readonly #byKey = new Map<string, InboxEntry[]>();
  readonly #recipientBytes = new Map<string, number>();
  readonly #senderBytes = new Map<string, number>();
  readonly #originBytes = new Map<string, number>();
  #total = 0;
  #bytes = 0;
  #seq = 0;
  #lastPrune = 0;
  readonly #listeners = new Set<(entry: InboxEntry) => void>();

  /** Creates an inbox with these bounds. */
  constructor(readonly budgets: InboxBudgets) {}

  /** Number of messages held. */
  get size(): number {
    return this.#total;
  }

  /** Bytes held (as counted by {@link inboxBytesOf}). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores `env` for recipient `recipient` (key hex), arriving from `origin` (null: our own). The oldest make
   * room when a count bound is hit; past a byte budget the message is refused: throws
   * {@link Misbehaviour} `inbox/too-large` (413), `inbox/sender-full`, `inbox/origin-full`,
   * `inbox/recipient-full` or `inbox/full` (429).
   */
  put(recipient: string, env: Envelope, origin: string | null): void {
    const now = Date.now();
    if (now - this.#lastPrune > 1000) this.prune(now);
    const b = this.budgets;
    const bytes = inboxBytesOf(env);
    const sender = toHex(env.from);
    const smallest = Math.min(
      b.totalBytes,
      b.perRecipientBytes,
      b.perSenderBytes,
      origin === null ? Infinity : b.perOriginBytes,
    );
    if (bytes > smallest) {
      throw new Misbehaviour("inbox/too-large", `message of ${bytes} bytes over ${smallest}`, 20);
    }
    const over = (m: Map<string, number>, k: string, max: number) => (m.get(k) ?? 0) + bytes > max;
    if (over(this.#senderBytes, sender, b.perSenderBytes)) {
      throw new Misbehaviour("inbox/sender-full", "the sender's inbox budget is used up", 10);
    }
    if (origin !== null && over(this.#originBytes, origin, b.perOriginBytes)) {
      throw new Misbehaviour("inbox/origin-full", "this origin's inbox budget is used up", 10);
    }
    if (over(this.#recipientBytes, recipient, b.perRecipientBytes)) {
      throw new Misbehaviour("inbox/recipient-full", "the recipient's inbox is full", 5);
    }
    if (this.#bytes + bytes > b.totalBytes) {
      throw new Misbehaviour("inbox/full", "the inbox is full", 1);
    }
    let list = this.#byKey.get(recipient);
    if (!list) {
      list = [];
      this.#byKey.set(recipient, list);
    }
    if (list.length >= b.perRecipient) this.#drop(recipient, list, 1);
    while (this.#total >= b.total && this.#evictOldest()) { /* made room */ }
    if (!this.#byKey.has(recipient)) this.#byKey.set(recipient, list);
    const entry = {
      seq: ++this.#seq,
      storedAt: now,
      envelope: env,
      bytes,
      recipient,
      sender,
      origin,
    };
    list.push(entry);
    this.#count(entry, 1);
    for (const listener of this.#listeners) listener(entry);
  }

  /** Calls `listener` with every message stored from now on; returns the call that stops it. */
  onPut(listener: (entry: InboxEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #count(e: InboxEntry, sign: 1 | -1): void {
    const add = (m: Map<string, number>, k: string) => {
      const v = (m.get(k) ?? 0) + sign * e.bytes;
      if (v > 0) m.set(k, v);
      else m.delete(k);
    };
    add(this.#recipientBytes, e.recipient);
    add(this.#senderBytes, e.sender);
    if (e.origin !== null) add(this.#originBytes, e.origin);
    this.#total += sign;
    this.#bytes += sign * e.bytes;
  }

  /** Drops the `n` oldest entries of recipient `key`'s `list`. */
  #drop(key: string, list: InboxEntry[], n: number): void {
    for (const e of list.splice(0, n)) this.#count(e, -1);
    if (!list.length) this.#byKey.delete(key);
  }

  #evictOldest(): boolean {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, l] of this.#byKey) {
      if (l.length && l[0].storedAt < oldest) {
        oldest = l[0].storedAt;
        oldestKey = k;
      }
    }
    if (oldestKey === undefined) return false;
    this.#drop(oldestKey, this.#byKey.get(oldestKey)!, 1);
    return true;
  }

  /** Messages for `recipient` with a sequence number above `after`, oldest first, at most `limit`. */
  get(recipient: string, after = 0, limit = 100): InboxEntry[] {
    this.prune();
    const l = this.#byKey.get(recipient) ?? [];
    return l.filter((e) => e.seq > after).slice(0, limit);
  }

  /** Drops expired messages. */
  prune(now: number = Date.now()): void {
    this.#lastPrune = now;
    for (const [k, l] of this.#byKey) {
      let n = 0;
      while (n < l.length && now - l[n].storedAt > this.budgets.ttlMs) n++;
      if (n) this.#drop(k, l, n);
      else if (!l.length) this.#byKey.delete(k);
    }
  }
}

/** An inbox with the budgets of `limits`. */
export function inboxFor(limits: RelayLimits): Inbox {
  return new Inbox({
    perRecipient: limits.inboxPerRecipient,
    total: limits.inboxTotal,
    ttlMs: limits.inboxTtlMs,
    totalBytes: limits.inboxTotalBytes,
    perRecipientBytes: limits.inboxPerRecipientBytes,
    perSenderBytes: limits.inboxPerSenderBytes,
    perOriginBytes: limits.inboxPerOriginBytes,
  });
}
