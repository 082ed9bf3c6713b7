/**
 * @module Peer discovery: seeds and configured peers, peer exchange (at most 1000 entries per
 * answer), a target number of outbound links, an inbound cap, a cap of links per IP, and the
 * bounded peer table in KV.
 */

import { getLogger } from "@logtape/logtape";
import { fromHex, toHex } from "../chain/bytes.ts";
import {
  decodePeers,
  encodePeers,
  type Envelope,
  MAX_PEERS_PER_ANSWER,
  type PeerAddress,
} from "./envelope.ts";
import { decodeFromPeer, Misbehaviour } from "./errors.ts";
import type { Link } from "./link.ts";
import type { RelayLimits } from "./limits.ts";
import { hostOf, normalizePeerUrl, type PeerTable } from "./peers.ts";

const log = getLogger(["camelid", "relay", "discovery"]);

/** What discovery needs from the network. */
export interface DiscoveryHost {
  /** Our key hex. */
  readonly selfKeyHex: string;
  /** The URL we advertise (empty: none). */
  readonly advertiseUrl: string;
  /** Limits. */
  readonly limits: RelayLimits;
  /** The peer table. */
  readonly table: PeerTable;
  /** Open and opening links. */
  allLinks(): Iterable<Link>;
  /** Dials a peer; resolves when the link is open, rejects when it fails. */
  dial(url: string): Promise<Link>;
}

/** Entries taken from an unsolicited peers message. */
export const MAX_UNSOLICITED_PEERS = 10;

/** Delay before retrying a peer after `failures` consecutive failures, ms. */
export function retryDelay(failures: number): number {
  return failures === 0 ? 0 : Math.min(60_000, 500 * 2 ** Math.min(failures, 10));
}

/** The discovery loop. */
export class Discovery {
  readonly #host: DiscoveryHost;
  readonly #dialing = new Set<string>();
  readonly #lastExchange = new Map<number, number>();
  /** Links we asked for peers and whose answer is pending. */
  readonly #asked = new Set<number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking = false;

  /** Creates discovery for `host`. */
  constructor(host: DiscoveryHost) {
    this.#host = host;
  }

  /** Starts the loop (and runs it once now). */
  start(): void {
    this.#timer = setInterval(() => this.tick(), this.#host.limits.discoveryIntervalMs);
    this.tick();
  }

  /** Stops the loop. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Number of outbound links open or being dialed. */
  #outbound(): number {
    let n = this.#dialing.size;
    for (const l of this.#host.allLinks()) if (l.direction === "outbound") n++;
    return n;
  }

  /** One round: dial towards the outbound target, ask links for peers now and then. */
  tick(): void {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const h = this.#host;
      const now = Date.now();
      for (const l of h.allLinks()) {
        if (l.state !== "open") continue;
        // A live link keeps its peer's last-seen time fresh (written to KV once a minute).
        if (l.url) h.table.touch(l.url).catch(() => {});
        const last = this.#lastExchange.get(l.id) ?? 0;
        if (now - last >= h.limits.peerExchangeIntervalMs) {
          this.#lastExchange.set(l.id, now);
          this.#asked.add(l.id);
          l.send("getpeers", new Uint8Array(0));
        }
      }
      const open = this.#host.limits.targetOutbound - this.#outbound();
      if (open <= 0) return;
      const linkedUrls = new Set<string>();
      const linkedKeys = new Set<string>();
      const perIp = new Map<string, number>();
      for (const l of h.allLinks()) {
        if (l.url) linkedUrls.add(l.url);
        if (l.peerKeyHex) linkedKeys.add(l.peerKeyHex);
        perIp.set(l.remoteIp, (perIp.get(l.remoteIp) ?? 0) + 1);
      }
      const candidates = h.table.list().filter((p) =>
        p.url !== h.advertiseUrl &&
        !linkedUrls.has(p.url) &&
        !this.#dialing.has(p.url) &&
        !(p.key && (linkedKeys.has(p.key) || p.key === h.selfKeyHex)) &&
        !(p.key && h.table.isDiscouraged("key", p.key)) &&
        now - p.lastAttempt >= retryDelay(p.failures)
      );
      // Seeds and configured peers first, then the best scored; a little shuffle among equals.
      candidates.sort((a, b) =>
        Number(b.source === "seed" || b.source === "config") -
          Number(a.source === "seed" || a.source === "config") ||
        b.score - a.score || Math.random() - 0.5
      );
      let started = 0;
      for (const p of candidates) {
        if (started >= open) break;
        let host: string;
        try {
          host = hostOf(p.url);
        } catch {
          continue;
        }
        if ((perIp.get(host) ?? 0) >= h.limits.maxPeersPerIp) continue;
        perIp.set(host, (perIp.get(host) ?? 0) + 1);
        started++;
        this.#dialing.add(p.url);
        h.table.markAttempt(p.url);
        h.dial(p.url).then(
          (link) => {
            this.#dialing.delete(p.url);
            h.table.markSeen(p.url, link.peerKeyHex, link.hello?.services ?? 0).catch(() => {});
          },
          (e) => {
            this.#dialing.delete(p.url);
            log.debug("dial {url} failed: {err}", { url: p.url, err: String(e) });
            h.table.markFailure(p.url).catch(() => {});
          },
        );
      }
    } finally {
      this.#ticking = false;
    }
  }

  /** A link opened: record the peer's advertised address, pass it on, ask for its peers. */
  async onLinkOpen(link: Link): Promise<void> {
    const h = this.#host;
    this.#lastExchange.set(link.id, Date.now());
    this.#asked.add(link.id);
    link.send("getpeers", new Uint8Array(0));
    const adv = link.hello?.listenUrl;
    if (!adv) return;
    let url: string;
    try {
      url = normalizePeerUrl(adv);
    } catch {
      return;
    }
    if (link.direction === "inbound") link.url = url;
    const known = h.table.get(url);
    const added = await h.table.add(url, {
      source: link.direction === "inbound" ? "inbound" : "exchange",
      key: link.peerKeyHex,
      services: link.hello?.services ?? 0,
      lastSeen: Date.now(),
    });
    if (added && link.direction === "inbound") {
      await h.table.markSeen(url, link.peerKeyHex, link.hello?.services ?? 0);
    }
    if (!known && added) {
      // Address relay: tell the other links about a newcomer.
      const payload = encodePeers([{
        key: link.peerKey!,
        url,
        services: link.hello?.services ?? 0,
        lastSeen: Date.now(),
      }]);
      for (const l of h.allLinks()) if (l !== link && l.state === "open") l.send("peers", payload);
    }
  }

  /** A link closed. */
  onLinkClose(link: Link): void {
    this.#lastExchange.delete(link.id);
    this.#asked.delete(link.id);
  }

  /** Entries for a peers answer: live, reachable peers we know, at most 1000. */
  answer(exceptKey: string): PeerAddress[] {
    const h = this.#host;
    const out: PeerAddress[] = [];
    const now = Date.now();
    for (const p of h.table.list()) {
      if (out.length >= MAX_PEERS_PER_ANSWER) break;
      if (!p.key || p.key === exceptKey || p.key === h.selfKeyHex) continue;
      if (now - p.lastSeen > 3 * 3600_000 || h.table.isDiscouraged("key", p.key)) continue;
      out.push({ key: fromHex(p.key, 33), url: p.url, services: p.services, lastSeen: p.lastSeen });
    }
    return out;
  }

  /** Handles getpeers and peers messages. */
  async handle(env: Envelope, link: Link): Promise<void> {
    const h = this.#host;
    if (env.type === "getpeers") {
      if (env.payload.length !== 0) {
        throw new Misbehaviour("envelope/malformed", "getpeers has an empty payload", 100);
      }
      link.send("peers", encodePeers(this.answer(link.peerKeyHex)));
      return;
    }
    const peers = decodeFromPeer(decodePeers, env.payload);
    const now = Date.now();
    // A full answer is taken only when we asked; unsolicited address relay is a few entries.
    const asked = this.#asked.delete(link.id);
    for (const p of asked ? peers : peers.slice(0, MAX_UNSOLICITED_PEERS)) {
      let url: string;
      try {
        url = normalizePeerUrl(p.url);
      } catch {
        continue;
      }
      const keyHex = toHex(p.key);
      if (keyHex === h.selfKeyHex || url === h.advertiseUrl) continue;
      if (h.table.isDiscouraged("key", keyHex)) continue;
      if (!h.table.get(url)) {
        // The key in an answer is hearsay: it is recorded only once our own handshake proves it.
        await h.table.add(url, {
          source: "exchange",
          services: p.services,
          lastSeen: Math.min(p.lastSeen, now),
        });
      }
    }
  }
}
