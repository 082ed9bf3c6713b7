/**
 * @module Routing of envelopes: checks (network, hop limit, timestamp skew, replay, signature once
 * per message id), then deliver to self, forward to a peer with a known route, or flood within the
 * hop limit. Link-local messages (handshake, peer exchange, chain sync) are checked the same way
 * and handed to their handler, never forwarded. Envelopes from links have their signatures checked
 * as they arrive ({@link Router.verifyAhead}), batched with those arriving on every other link.
 */

import { equalBytes, toHex } from "../chain/bytes.ts";
import { defaultSignatureBatcher } from "../chain/verify_batcher.ts";
import type { SignatureCheck } from "../chain/verify_pool.ts";
import {
  type Envelope,
  isBroadcast,
  LINK_LOCAL_TYPES,
  messageKey,
  signingPreimage,
  verifyEnvelope,
} from "./envelope.ts";
import type { Inbox } from "./inbox.ts";
import { Misbehaviour } from "./errors.ts";
import type { Link, SignatureVerdict } from "./link.ts";
import type { RelayLimits } from "./limits.ts";

/** Where an envelope came from. */
export type Source =
  | { kind: "link"; link: Link }
  | { kind: "http"; ip: string }
  | { kind: "self" };

/** The inbox origin of a message from `source`: its client address or link, null for our own. */
export function originOf(source: Source): string | null {
  if (source.kind === "http") return `ip:${source.ip}`;
  if (source.kind === "link") return `link:${source.link.peerKeyHex}`;
  return null;
}

/** What happened to an accepted envelope. */
export type RouteResult = "delivered" | "forwarded" | "flooded" | "stored" | "duplicate";

/** What the router needs from its node. */
export interface RouterHost {
  /** Our key. */
  readonly selfKey: Uint8Array;
  /** Network magic. */
  readonly magic: number;
  /** Limits. */
  readonly limits: RelayLimits;
  /** Open links. */
  openLinks(): Iterable<Link>;
  /** The open link to the peer with key `hex`, if any. */
  linkByKey(hex: string): Link | undefined;
  /** Delivers a routed message addressed to us (or broadcast) to local subscribers. */
  deliverLocal(env: Envelope, source: Source): void;
  /** Handles a link-local message. */
  handleLinkLocal(env: Envelope, link: Link): Promise<void> | void;
  /** The inbox for recipients without a link. */
  readonly inbox: Inbox;
}

/** A set of message keys with expiry; remembers which link delivered each first. */
export class SeenSet {
  readonly #map = new Map<string, { at: number; source: number }>();
  /** Creates a set whose entries live `ttlMs` and which holds at most `max` entries. */
  constructor(readonly ttlMs: number, readonly max: number) {}
  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }
  /** The entry for `key` if present and not expired. */
  get(key: string): { at: number; source: number } | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (Date.now() - e.at > this.ttlMs) {
      this.#map.delete(key);
      return undefined;
    }
    return e;
  }
  /** Adds `key`, first delivered by link `source` (0: HTTP or self). */
  add(key: string, source: number): void {
    this.#map.set(key, { at: Date.now(), source });
    if (this.#map.size > this.max) this.prune();
  }
  /** Drops expired entries, then the oldest while over the bound. */
  prune(): void {
    const now = Date.now();
    for (const [k, e] of this.#map) {
      if (now - e.at > this.ttlMs || this.#map.size > this.max) this.#map.delete(k);
      else break;
    }
  }
}

/** What verifies signatures one at a time, batching them (chain/verify_batcher.ts). */
export interface SignatureVerifier {
  /** The verdict on one check. */
  verify(check: SignatureCheck): Promise<boolean>;
}

/** The router. */
export class Router {
  readonly #host: RouterHost;
  readonly #verifier: SignatureVerifier;
  /** Message keys seen (and verified). */
  readonly seen: SeenSet;
  /** Reverse-path routes: sender key hex to the link its messages arrived on. */
  readonly #routes = new Map<string, { linkId: number; at: number }>();
  /** Counters (checkedAhead: signature verdicts that came from {@link verifyAhead}). */
  readonly stats = {
    accepted: 0,
    duplicates: 0,
    forwarded: 0,
    verified: 0,
    rejected: 0,
    checkedAhead: 0,
  };

  /**
   * Creates a router for `host`; signatures checked ahead go to `verifier` (default: the
   * process-wide batcher on the verify pool).
   */
  constructor(host: RouterHost, verifier: SignatureVerifier = defaultSignatureBatcher()) {
    this.#host = host;
    this.#verifier = verifier;
    const l = host.limits;
    this.seen = new SeenSet(Math.max(l.seenTtlMs, 2 * l.maxTimestampSkewMs), l.seenMax);
  }

  /**
   * Accepts an envelope from `source`. Throws {@link Misbehaviour} (its code maps to an HTTP status) when the
   * envelope breaks a rule.
   */
  async accept(
    env: Envelope,
    source: Source,
    verdict?: SignatureVerdict,
  ): Promise<RouteResult> {
    try {
      return await this.#accept(env, source, verdict);
    } catch (e) {
      if (e instanceof Misbehaviour) this.stats.rejected++;
      throw e;
    }
  }

  /**
   * Starts the signature check of an envelope that has just arrived on a link, batched with the
   * others started before the next timer tick; the verdict is handed back to {@link accept} with
   * the envelope. Undefined for a message already seen (a duplicate needs no check). The verdict
   * counts only for this envelope, from this link: accept still runs every check in order.
   */
  verifyAhead(env: Envelope): SignatureVerdict | undefined {
    if (this.seen.get(messageKey(env))) return undefined;
    const check = { signature: env.signature, preimage: signingPreimage(env), publicKey: env.from };
    // A failed pool decides nothing: accept then checks the envelope inline.
    return this.#verifier.verify(check).catch(() => undefined);
  }

  async #accept(
    env: Envelope,
    source: Source,
    verdict: SignatureVerdict | undefined,
  ): Promise<RouteResult> {
    // Waited for before anything is read, so that the checks and the seen-set update below run
    // in one turn, as for an envelope checked inline.
    const checkedAhead = verdict === undefined ? undefined : await verdict;
    const host = this.#host;
    const l = host.limits;
    if (env.magic !== host.magic) {
      throw new Misbehaviour("envelope/network", "envelope is for another network", 0);
    }
    const linkLocal = LINK_LOCAL_TYPES.has(env.type);
    if (linkLocal) {
      if (source.kind !== "link") {
        throw new Misbehaviour(
          "envelope/link-local",
          `type ${env.type} travels only on links`,
          10,
        );
      }
      if (!equalBytes(env.from, source.link.peerKey!)) {
        throw new Misbehaviour("link/from", "link message signed by another key", 50);
      }
      if (!equalBytes(env.to, host.selfKey)) {
        throw new Misbehaviour("link/to", "link message addressed to another key", 50);
      }
    } else if (env.hopLimit > l.maxHopLimit) {
      throw new Misbehaviour(
        "envelope/hop-limit",
        `hop limit ${env.hopLimit} exceeds ${l.maxHopLimit}`,
        20,
      );
    }
    if (Math.abs(env.timestamp - Date.now()) > l.maxTimestampSkewMs) {
      throw new Misbehaviour(
        "envelope/skew",
        `timestamp is more than ${l.maxTimestampSkewMs} ms from our clock`,
        10,
      );
    }
    const key = messageKey(env);
    const sourceId = source.kind === "link" ? source.link.id : 0;
    const seen = this.seen.get(key);
    if (seen) {
      this.stats.duplicates++;
      // The same sender link (or an HTTP client) sending a message twice is a replay; the same
      // message arriving over another link is ordinary flooding.
      if (source.kind === "http" || (source.kind === "link" && seen.source === sourceId)) {
        throw new Misbehaviour("envelope/replay", "message already seen", 20);
      }
      return "duplicate";
    }
    if (checkedAhead !== undefined) this.stats.checkedAhead++;
    if (!(checkedAhead ?? verifyEnvelope(env))) {
      throw new Misbehaviour("envelope/signature", "bad envelope signature", 100);
    }
    this.stats.verified++;
    this.seen.add(key, sourceId);
    this.stats.accepted++;
    if (linkLocal) {
      await host.handleLinkLocal(env, (source as { link: Link }).link);
      return "delivered";
    }
    const fromHex = toHex(env.from);
    if (source.kind === "link") {
      this.#routes.delete(fromHex);
      this.#routes.set(fromHex, { linkId: source.link.id, at: Date.now() });
    }
    if (this.#routes.size > l.maxTableSize * 4) this.#pruneRoutes();
    return this.route(env, source);
  }

  /** Routes an accepted (or locally created) routed envelope. */
  route(env: Envelope, source: Source): RouteResult {
    const host = this.#host;
    if (source.kind === "self") this.seen.add(messageKey(env), 0);
    const sourceLink = source.kind === "link" ? source.link : undefined;
    if (equalBytes(env.to, host.selfKey)) {
      host.deliverLocal(env, source);
      return "delivered";
    }
    const next = { ...env, hopLimit: env.hopLimit - 1 };
    if (isBroadcast(env.to)) {
      if (source.kind !== "self") host.deliverLocal(env, source);
      return env.hopLimit > 0 && this.#flood(next, sourceLink, env.from) ? "flooded" : "delivered";
    }
    const toHexKey = toHex(env.to);
    if (env.hopLimit > 0) {
      const direct = host.linkByKey(toHexKey);
      if (direct && direct !== sourceLink) {
        direct.forward(next);
        this.stats.forwarded++;
        return "forwarded";
      }
      const r = this.#routes.get(toHexKey);
      if (r && Date.now() - r.at < 10 * 60_000) {
        for (const link of host.openLinks()) {
          if (link.id === r.linkId && link !== sourceLink) {
            link.forward(next);
            this.stats.forwarded++;
            // A copy for the inbox too, in case the route is stale; past a budget it is only
            // forwarded (its sender is charged where it is stored).
            try {
              host.inbox.put(toHexKey, env, originOf(source));
            } catch (e) {
              if (!(e instanceof Misbehaviour)) throw e;
            }
            return "forwarded";
          }
        }
      }
    }
    // Stored first: a peer's message refused by the inbox's budgets (Misbehaviour) is not flooded
    // either; our own is flooded even when we cannot keep a copy.
    try {
      host.inbox.put(toHexKey, env, originOf(source));
    } catch (e) {
      if (!(e instanceof Misbehaviour) || source.kind !== "self") throw e;
    }
    if (env.hopLimit > 0) this.#flood(next, sourceLink, env.from);
    return "stored";
  }

  #flood(env: Envelope, except: Link | undefined, from: Uint8Array): boolean {
    let n = 0;
    for (const link of this.#host.openLinks()) {
      if (link === except || (link.peerKey && equalBytes(link.peerKey, from))) continue;
      link.forward(env);
      n++;
    }
    this.stats.forwarded += n;
    return n > 0;
  }

  #pruneRoutes(): void {
    const now = Date.now();
    const max = this.#host.limits.maxTableSize * 4;
    for (const [k, r] of this.#routes) {
      // Oldest first (re-learned routes are re-inserted at the end).
      if (now - r.at > 10 * 60_000 || this.#routes.size > max / 2) this.#routes.delete(k);
      else break;
    }
  }
}
