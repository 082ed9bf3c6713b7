/** @module Relay limits (all configurable) and a per-peer token bucket for HTTP and WebSocket. */

import { DEFAULT_MAX_ENVELOPE } from "./envelope.ts";

const MIB = 1024 * 1024;

/** Every limit of the relay. */
export interface RelayLimits {
  /** Largest envelope, bytes (413 / WS close 1009 above). */
  maxEnvelopeBytes: number;
  /** Largest hop limit accepted on a routed message. */
  maxHopLimit: number;
  /** Default hop limit of messages this node originates. */
  defaultHopLimit: number;
  /** Largest accepted distance between an envelope's timestamp and our clock, ms. */
  maxTimestampSkewMs: number;
  /** Sustained messages per second per peer (WS link or HTTP client address). */
  messagesPerSecond: number;
  /** Burst size of the per-peer bucket. */
  messageBurst: number;
  /** Largest number of links from one IP address. */
  maxPeersPerIp: number;
  /** Largest number of entries in the peer table. */
  maxTableSize: number;
  /** Target number of outbound links. */
  targetOutbound: number;
  /** Largest number of inbound links. */
  maxInbound: number;
  /** Misbehaviour score at which a peer is disconnected and discouraged. */
  banScore: number;
  /** How long a discouraged peer is refused, ms. */
  discourageMs: number;
  /** Inbox: messages kept per recipient. */
  inboxPerRecipient: number;
  /** Inbox: messages kept in total. */
  inboxTotal: number;
  /** Inbox: how long a message is kept, ms. */
  inboxTtlMs: number;
  /** Inbox: bytes kept in total (refused past it: 429 `inbox/full`). */
  inboxTotalBytes: number;
  /** Inbox: bytes kept per recipient key (429 `inbox/recipient-full`). */
  inboxPerRecipientBytes: number;
  /** Inbox: bytes kept per sender key (429 `inbox/sender-full`). */
  inboxPerSenderBytes: number;
  /** Inbox: bytes kept per origin, an HTTP client address or a link (429 `inbox/origin-full`). */
  inboxPerOriginBytes: number;
  /** Unsent bytes on a link above which nothing more is sent to it (requests go unanswered). */
  maxLinkBacklogBytes: number;
  /** A link whose backlog stays above {@link maxLinkBacklogBytes} this long is closed, ms. */
  backlogTimeoutMs: number;
  /** Unread received bytes queued on a link above which the link is closed. */
  maxLinkQueueBytes: number;
  /** An inbound link that has not finished the handshake by then is closed, ms. */
  handshakeTimeoutMs: number;
  /** Inbound links still in the handshake (they do not count toward {@link maxInbound}). */
  maxPendingInbound: number;
  /** Sustained HTTP requests per second per client address, on every route. */
  httpRequestsPerSecond: number;
  /** Burst of the per-address HTTP request bucket. */
  httpRequestBurst: number;
  /** Request body bytes in flight per client address (429 `request/busy` past it). */
  httpBodyBytesPerAddress: number;
  /** Whether loopback clients take request tokens too (off: they are this host's own tools). */
  rateLimitLoopback: boolean;
  /** How long a message id stays in the seen-set, ms. */
  seenTtlMs: number;
  /** Largest seen-set size. */
  seenMax: number;
  /** Interval of liveness pings, ms. */
  pingIntervalMs: number;
  /** A link with no traffic for this long is closed, ms. */
  idleTimeoutMs: number;
  /** Interval of the discovery loop (connect, re-ask for peers), ms. */
  discoveryIntervalMs: number;
  /** Interval between peer-exchange requests on each link, ms. */
  peerExchangeIntervalMs: number;
  /** Whether loopback addresses may be discouraged by IP (off: loopback is one shared host). */
  discourageLoopback: boolean;
}

/** Defaults of every limit. */
export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxEnvelopeBytes: DEFAULT_MAX_ENVELOPE,
  maxHopLimit: 16,
  defaultHopLimit: 8,
  maxTimestampSkewMs: 5 * 60_000,
  messagesPerSecond: 200,
  messageBurst: 400,
  maxPeersPerIp: 16,
  maxTableSize: 5000,
  targetOutbound: 8,
  maxInbound: 64,
  banScore: 100,
  discourageMs: 60 * 60_000,
  inboxPerRecipient: 256,
  inboxTotal: 20_000,
  inboxTtlMs: 10 * 60_000,
  inboxTotalBytes: 64 * MIB,
  inboxPerRecipientBytes: 4 * MIB,
  inboxPerSenderBytes: 2 * MIB,
  inboxPerOriginBytes: 8 * MIB,
  maxLinkBacklogBytes: 8 * MIB,
  backlogTimeoutMs: 10_000,
  maxLinkQueueBytes: 24 * MIB,
  handshakeTimeoutMs: 5_000,
  maxPendingInbound: 16,
  httpRequestsPerSecond: 100,
  httpRequestBurst: 400,
  httpBodyBytesPerAddress: 16 * MIB,
  rateLimitLoopback: false,
  seenTtlMs: 10 * 60_000,
  seenMax: 200_000,
  pingIntervalMs: 15_000,
  idleTimeoutMs: 60_000,
  discoveryIntervalMs: 5_000,
  peerExchangeIntervalMs: 60_000,
  discourageLoopback: false,
});

/** Merges partial limits over the defaults, rejecting non-positive or non-finite numbers. */
export function resolveLimits(partial: Partial<RelayLimits> = {}): RelayLimits {
  const out = { ...DEFAULT_LIMITS, ...partial } as RelayLimits;
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === "number" && (!Number.isFinite(v) || v < 0)) {
      throw new RangeError(`limit ${k} must be a non-negative finite number, got ${v}`);
    }
  }
  return out;
}

/** A token bucket: `rate` tokens per second up to `burst`. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  /** Creates a full bucket. */
  constructor(readonly rate: number, readonly burst: number) {
    this.#tokens = burst;
    this.#last = performance.now();
  }
  /** Takes `n` tokens; false (and nothing taken) when not enough are left. */
  take(n = 1): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}

/** Token buckets keyed by peer (address or key), with the idle ones dropped. */
export class BucketMap {
  #buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  /** Creates a map whose buckets allow `rate`/s with `burst`. */
  constructor(readonly rate: number, readonly burst: number, readonly maxEntries = 10_000) {}
  /** Takes one token from `key`'s bucket. */
  take(key: string, n = 1): boolean {
    let e = this.#buckets.get(key);
    if (!e) {
      if (this.#buckets.size >= this.maxEntries) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      e = { bucket: new TokenBucket(this.rate, this.burst), used: 0 };
      this.#buckets.set(key, e);
    }
    e.used = Date.now();
    return e.bucket.take(n);
  }
}
