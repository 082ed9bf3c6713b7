/**
 * @module The peer table in Deno KV: each known peer's address, key, services, last seen time and
 * score, bounded in size; plus discouragement (temporary bans) by key or IP address.
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["camelid", "relay", "peers"]);

/** Where a peer table entry came from. */
export type PeerSource = "seed" | "config" | "exchange" | "inbound" | "admin";

/** One entry of the peer table. */
export interface PeerRecord {
  /** Base HTTP URL of the peer, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** Hex of the peer's key once a handshake proved it, else null. */
  key: string | null;
  /** Service bits the peer advertised. */
  services: number;
  /** Last time a link with the peer was alive, ms (0: never). */
  lastSeen: number;
  /** Quality score: successful contacts minus failures, bounded to [-100, 100]. */
  score: number;
  /** Consecutive failed connection attempts. */
  failures: number;
  /** Last connection attempt, ms. */
  lastAttempt: number;
  /** How the entry was learned. */
  source: PeerSource;
}

/** A discouragement (temporary ban). */
export interface Discouragement {
  /** "key" (peer key hex) or "ip". */
  kind: "key" | "ip";
  /** The key hex or IP address. */
  value: string;
  /** Until when, ms. */
  until: number;
  /** Why. */
  reason: string;
}

const PEER_PREFIX: Deno.KvKey = ["relay", "peer"];
const BAN_PREFIX: Deno.KvKey = ["relay", "ban"];

/**
 * Normalizes a peer URL to its base HTTP form (`http(s)://host:port`, no path). Accepts `http`,
 * `https`, `ws` and `wss`; throws `TypeError` on anything else.
 */
export function normalizePeerUrl(input: string): string {
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw new TypeError(`not a valid peer URL: ${JSON.stringify(input.slice(0, 100))}`);
  }
  const proto = u.protocol === "ws:" ? "http:" : u.protocol === "wss:" ? "https:" : u.protocol;
  if (proto !== "http:" && proto !== "https:") {
    throw new TypeError(`peer URL must be http(s) or ws(s): ${input.slice(0, 100)}`);
  }
  if (u.username || u.password) throw new TypeError("peer URL must not hold credentials");
  return `${proto}//${u.host}`;
}

/** The WebSocket URL of a peer's link endpoint. */
export function wsUrlOf(baseUrl: string): string {
  return baseUrl.replace(/^http/, "ws") + "/v1/ws";
}

/** Host part of a peer URL (for per-IP limits). */
export function hostOf(url: string): string {
  return new URL(url).hostname;
}

/** True for loopback addresses. */
export function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip === "localhost" || ip === "::ffff:127.0.0.1";
}

/** The peer table: an in-memory view written through to Deno KV. */
export class PeerTable {
  readonly #kv: Deno.Kv;
  readonly #maxSize: number;
  readonly #peers = new Map<string, PeerRecord>();
  readonly #bans = new Map<string, Discouragement>();

  /** Creates a table over `kv` holding at most `maxSize` peers. */
  constructor(kv: Deno.Kv, maxSize: number) {
    this.#kv = kv;
    this.#maxSize = maxSize;
  }

  /** Loads peers and live discouragements from KV. */
  async load(): Promise<void> {
    for await (const e of this.#kv.list<PeerRecord>({ prefix: PEER_PREFIX })) {
      if (e.value && typeof e.value.url === "string") this.#peers.set(e.value.url, e.value);
    }
    const now = Date.now();
    for await (const e of this.#kv.list<Discouragement>({ prefix: BAN_PREFIX })) {
      if (e.value && e.value.until > now) {
        this.#bans.set(`${e.value.kind}:${e.value.value}`, e.value);
      } else await this.#kv.delete(e.key);
    }
  }

  /** Number of peers in the table. */
  get size(): number {
    return this.#peers.size;
  }

  /** Every peer, best first (score, then last seen). */
  list(): PeerRecord[] {
    return [...this.#peers.values()].sort((a, b) => b.score - a.score || b.lastSeen - a.lastSeen);
  }

  /** The entry for `url`, if any. */
  get(url: string): PeerRecord | undefined {
    return this.#peers.get(url);
  }

  /** The entry whose key is `keyHex`, if any. */
  byKey(keyHex: string): PeerRecord | undefined {
    for (const p of this.#peers.values()) if (p.key === keyHex) return p;
    return undefined;
  }

  async #write(p: PeerRecord): Promise<void> {
    this.#peers.set(p.url, p);
    await this.#kv.set([...PEER_PREFIX, p.url], p);
  }

  /**
   * Adds a peer (or merges into the existing entry). When the table is full the worst entry that
   * is not a seed is evicted, if it is worse than the newcomer; otherwise the newcomer is dropped.
   * Returns whether the peer is in the table afterwards.
   */
  async add(
    url: string,
    init: Partial<Omit<PeerRecord, "url">> & { source: PeerSource },
  ): Promise<boolean> {
    const norm = normalizePeerUrl(url);
    const old = this.#peers.get(norm);
    if (old) {
      const merged: PeerRecord = {
        ...old,
        key: init.key ?? old.key,
        services: init.services ?? old.services,
        lastSeen: Math.max(old.lastSeen, init.lastSeen ?? 0),
        source: old.source === "seed" || old.source === "config" ? old.source : init.source,
      };
      if (JSON.stringify(merged) !== JSON.stringify(old)) await this.#write(merged);
      return true;
    }
    const rec: PeerRecord = {
      url: norm,
      key: init.key ?? null,
      services: init.services ?? 0,
      lastSeen: init.lastSeen ?? 0,
      score: init.score ?? 0,
      failures: 0,
      lastAttempt: 0,
      source: init.source,
    };
    if (this.#peers.size >= this.#maxSize) {
      let worst: PeerRecord | undefined;
      for (const p of this.#peers.values()) {
        if (p.source === "seed" || p.source === "config") continue;
        if (
          !worst || p.score < worst.score ||
          (p.score === worst.score && p.lastSeen < worst.lastSeen)
        ) {
          worst = p;
        }
      }
      if (!worst || (worst.score > rec.score && rec.source !== "seed")) return false;
      await this.remove(worst.url);
    }
    await this.#write(rec);
    return true;
  }

  /** Removes a peer. */
  async remove(url: string): Promise<void> {
    this.#peers.delete(url);
    await this.#kv.delete([...PEER_PREFIX, url]);
  }

  /** Records a successful handshake with the peer at `url`. */
  async markSeen(url: string, key: string, services: number): Promise<void> {
    const p = this.#peers.get(url);
    if (!p) return;
    // A key now at this URL is no longer at any other URL we hold.
    await this.#write({
      ...p,
      key,
      services,
      lastSeen: Date.now(),
      failures: 0,
      score: Math.min(100, p.score + 1),
    });
  }

  /** Refreshes the last seen time of a live peer (kept in memory, written at most once a minute). */
  async touch(url: string): Promise<void> {
    const p = this.#peers.get(url);
    if (!p) return;
    const now = Date.now();
    const stale = now - p.lastSeen > 60_000;
    p.lastSeen = now;
    if (stale) await this.#write(p);
  }

  /** Records a failed connection attempt. */
  async markFailure(url: string): Promise<void> {
    const p = this.#peers.get(url);
    if (!p) return;
    await this.#write({
      ...p,
      failures: p.failures + 1,
      lastAttempt: Date.now(),
      score: Math.max(-100, p.score - 1),
    });
  }

  /** Records a connection attempt starting now. */
  markAttempt(url: string): void {
    const p = this.#peers.get(url);
    if (p) p.lastAttempt = Date.now();
  }

  /** Discourages a key or IP for `ms` milliseconds. */
  async discourage(kind: "key" | "ip", value: string, ms: number, reason: string): Promise<void> {
    const d: Discouragement = { kind, value, until: Date.now() + ms, reason };
    this.#bans.set(`${kind}:${value}`, d);
    log.info("discouraged {kind} {value} for {ms} ms: {reason}", { kind, value, ms, reason });
    await this.#kv.set([...BAN_PREFIX, kind, value], d, { expireIn: ms });
    if (kind === "key") {
      const p = this.byKey(value);
      if (p) await this.#write({ ...p, score: -100 });
    }
  }

  /** Lifts a discouragement. */
  async lift(kind: "key" | "ip", value: string): Promise<void> {
    this.#bans.delete(`${kind}:${value}`);
    await this.#kv.delete([...BAN_PREFIX, kind, value]);
    if (kind === "key") {
      const p = this.byKey(value);
      if (p) await this.#write({ ...p, score: 0 });
    }
  }

  /** True while `value` is discouraged. */
  isDiscouraged(kind: "key" | "ip", value: string): boolean {
    const d = this.#bans.get(`${kind}:${value}`);
    if (!d) return false;
    if (d.until > Date.now()) return true;
    this.#bans.delete(`${kind}:${value}`);
    return false;
  }

  /** Live discouragements. */
  discouraged(): Discouragement[] {
    const now = Date.now();
    return [...this.#bans.values()].filter((d) => d.until > now);
  }
}
