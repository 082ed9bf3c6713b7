/**
 * @module Misbehaviour scoring, as Bitcoin Core's: each violation adds its points to the offender's
 * score (a link's, or an HTTP client address's); at the ban score the peer is disconnected and its
 * key and address are discouraged for a while.
 */

import { getLogger } from "@logtape/logtape";
import type { Misbehaviour } from "./errors.ts";
import { CloseCode, type Link } from "./link.ts";
import type { RelayLimits } from "./limits.ts";
import { isLoopback, type PeerTable } from "./peers.ts";

const log = getLogger(["camelid", "relay"]);

/** Largest number of HTTP client addresses with a score held at once. */
export const MAX_SCORED_ADDRESSES = 10_000;

/** What scoring needs from the network: the limits in force and the peer table. */
export interface ScoringHost {
  /** Limits (ban score, discouragement time, whether loopback may be discouraged). */
  readonly limits: RelayLimits;
  /** Where discouragements are kept. */
  readonly table: PeerTable;
}

/** Misbehaviour scores of links and of HTTP client addresses. */
export class MisbehaviourScores {
  readonly #host: ScoringHost;
  readonly #ipScores = new Map<string, { points: number; at: number }>();

  /** Creates scores that discourage through `host`'s table at `host`'s limits. */
  constructor(host: ScoringHost) {
    this.#host = host;
  }

  /** Adds a link's violation; at the ban score the link is closed, its key and address discouraged. */
  chargeLink(link: Link, m: Misbehaviour): void {
    link.misbehaviour += m.points;
    log.info("Peer {peer} misbehaved: {code} ({points} points, {total} total): {msg}", {
      peer: link.label,
      code: m.code,
      points: m.points,
      total: link.misbehaviour,
      msg: m.message,
    });
    const l = this.#host.limits;
    if (link.misbehaviour < l.banScore) return;
    if (link.peerKeyHex) this.#discourage("key", link.peerKeyHex, m);
    if (l.discourageLoopback || !isLoopback(link.remoteIp)) {
      this.#discourage("ip", link.remoteIp, m);
    }
    link.close(CloseCode.policy, m.code);
  }

  /** Adds an HTTP client's violation; at the ban score its address is discouraged. */
  chargeAddress(ip: string, m: Misbehaviour): void {
    const l = this.#host.limits;
    const now = Date.now();
    const e = this.#ipScores.get(ip);
    const points = (e && now - e.at < l.discourageMs ? e.points : 0) + m.points;
    this.#ipScores.set(ip, { points, at: now });
    if (this.#ipScores.size > MAX_SCORED_ADDRESSES) {
      this.#ipScores.delete(this.#ipScores.keys().next().value!);
    }
    if (points >= l.banScore && (l.discourageLoopback || !isLoopback(ip))) {
      this.#discourage("ip", ip, m);
      this.#ipScores.delete(ip);
    }
  }

  #discourage(kind: "key" | "ip", value: string, m: Misbehaviour): void {
    this.#host.table.discourage(kind, value, this.#host.limits.discourageMs, m.code).catch(
      () => {},
    );
  }
}
