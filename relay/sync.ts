/**
 * @module Chain sync over links: headers first, then blocks requested in parallel from every peer
 * that has them; inventory announcements of new transactions and blocks; orphans resolved by asking
 * the announcing peer for headers; reorgs are the chain's job (most work wins), this module only
 * makes sure every node sees every branch.
 */

import { getLogger } from "@logtape/logtape";
import { toHex } from "../chain/bytes.ts";
import { CamelidError } from "../chain/errors.ts";
import { sha256d } from "../chain/hash.ts";
import { checkProofOfWork } from "../chain/pow.ts";
import {
  decodeGetHeaders,
  decodeHeaders,
  decodeInv,
  encodeGetHeaders,
  encodeHeaders,
  encodeInv,
  type Envelope,
  type InvItem,
  MAX_HEADERS,
  MAX_INV,
  Services,
} from "./envelope.ts";
import { decodeFromPeer, Misbehaviour } from "./errors.ts";
import { BucketMap } from "./limits.ts";
import type { Link } from "./link.ts";

const log = getLogger(["camelid", "relay", "sync"]);

/**
 * What the network needs from a chain node. `chain/node.ts`'s `ChainNode` satisfies it
 * structurally.
 */
export interface ChainPort {
  /** Network parameters (name, magic, easiest target). */
  readonly params: { readonly name: string; readonly magic: number; readonly powLimitBits: number };
  /** The active tip. */
  tip(): { hash: string; height: number };
  /** Block locator of the active chain, tip first. */
  locator(): Promise<string[]>;
  /** Up to `max` 80-byte headers on the active chain after the fork point with `locator`. */
  getHeaders(locator: string[], max?: number): Promise<Uint8Array[]>;
  /** Serialized block, or null. */
  getBlockBytes(hash: string): Promise<Uint8Array | null>;
  /** Whether the block is stored. */
  hasBlock(hash: string): Promise<boolean>;
  /** Validates and stores a block; throws a `CamelidError` when invalid. */
  processBlock(bytes: Uint8Array): Promise<{ status: string; hash: string }>;
  /**
   * Validates a transaction into the mempool, or holds it as an orphan from `source` until its
   * parents arrive; throws a `CamelidError` when invalid.
   */
  processTx(bytes: Uint8Array, source?: string): Promise<{ txid: string }>;
  /** Serialized mempool transaction, or null. */
  getMempoolTxBytes(txid: string): Uint8Array | null;
  /** The mempool (optional: its txids are announced to new links and after reorgs). */
  readonly mempool?: { entries(): ReadonlyArray<{ readonly txid: string }> };
  /** Events: "block" ({hash, height}), "tx" ({txid}), "reorg". */
  readonly events: EventTarget;
}

/** What sync needs from the network. */
export interface SyncHost {
  /** Open links. */
  openLinks(): Iterable<Link>;
}

/** Largest number of blocks in flight from one peer. */
export const MAX_BLOCKS_IN_FLIGHT_PER_PEER = 16;
/** Largest number of blocks one getdata may ask for. */
export const MAX_BLOCKS_PER_GETDATA = 128;
/** Largest number of blocks waiting to be fetched. */
export const MAX_WANTED_BLOCKS = 50_000;
/** Bytes of blocks we did not ask for that one peer may send per second (burst: 8 full blocks). */
export const UNREQUESTED_BLOCK_BYTES_PER_SECOND = 1_000_000;
/** Block answers that are not new work from the peer. */
const NOT_NOVEL: ReadonlySet<string> = new Set(["duplicate", "orphan", "ignored"]);

/**
 * New transactions are announced together every this many ms: one inv per link for every
 * transaction admitted in the interval (Bitcoin Core trickles invs in the same way), instead of one
 * signed inv, one signed getdata and their two verifications per transaction and link.
 */
export const TX_ANNOUNCE_INTERVAL_MS = 100;

/** Largest number of transactions remembered as sent or announced to us by a peer. */
const MAX_TX_KNOWN = 50_000;

/** A transaction asked of a peer. */
interface TxRequest {
  /** When, ms. */
  at: number;
  /** The link asked. */
  linkId: number;
  /** Whether it has sent the transaction since. */
  answered: boolean;
}

/** A block request unanswered for this long goes to another peer, ms. */
export const BLOCK_REQUEST_TIMEOUT_MS = 10_000;

/** The block id of an 80-byte header. */
export function headerHash(header: Uint8Array): string {
  return toHex(sha256d(header));
}

/** The previous-block id inside an 80-byte header. */
export function headerPrevHash(header: Uint8Array): string {
  return toHex(header.subarray(4, 36));
}

/** Chain sync for one node. */
export class ChainSync {
  readonly #chain: ChainPort;
  readonly #host: SyncHost;
  /** Blocks to fetch (insertion order = chain order) and the links known to have each. */
  readonly #wanted = new Map<string, Set<number>>();
  /** Blocks requested: hash to link id and time. */
  readonly #inflight = new Map<string, { linkId: number; at: number }>();
  /** Transactions requested (txid to time, the link asked and whether it answered yet). */
  readonly #txRequested = new Map<string, TxRequest>();
  /** Recently rejected transactions (txid to time). */
  readonly #txRejected = new Map<string, number>();
  /** Transactions waiting to be announced, and the links that sent or announced each to us. */
  #txToAnnounce = new Set<string>();
  readonly #txKnownBy = new Map<string, Set<number>>();
  #txAnnounceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Per-peer budget of block bytes we did not request. */
  readonly #unrequested = new BucketMap(UNREQUESTED_BLOCK_BYTES_PER_SECOND, 8_000_000);
  /** Blocks processed recently (includes orphans the chain holds). */
  readonly #recentBlocks = new Map<string, number>();
  #announceTimer: ReturnType<typeof setTimeout> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #onBlock = () => this.#scheduleTipAnnounce();
  readonly #onTx: EventListener = (e) =>
    this.#announceTx((e as CustomEvent<{ txid: string }>).detail.txid);
  readonly #onReorg = () => this.#announceMempool();
  /** Counters. */
  readonly stats = {
    blocksReceived: 0,
    blocksRequested: 0,
    txsReceived: 0,
    headersReceived: 0,
    /** Blocks received per peer key (hex). */
    blocksByPeer: {} as Record<string, number>,
  };

  /** Creates sync for `chain` over `host`'s links. */
  constructor(chain: ChainPort, host: SyncHost) {
    this.#chain = chain;
    this.#host = host;
  }

  /** Starts listening to chain events and the request-timeout timer. */
  start(): void {
    this.#chain.events.addEventListener("block", this.#onBlock);
    this.#chain.events.addEventListener("tx", this.#onTx);
    this.#chain.events.addEventListener("reorg", this.#onReorg);
    this.#timer = setInterval(() => this.#expire(), 1000);
  }

  /** Stops timers and listeners. */
  stop(): void {
    this.#chain.events.removeEventListener("block", this.#onBlock);
    this.#chain.events.removeEventListener("tx", this.#onTx);
    this.#chain.events.removeEventListener("reorg", this.#onReorg);
    clearInterval(this.#timer);
    clearTimeout(this.#announceTimer);
    clearTimeout(this.#txAnnounceTimer);
    this.#txAnnounceTimer = undefined;
  }

  /** Blocks waiting to be fetched or in flight. */
  get pending(): number {
    return this.#wanted.size;
  }

  #chainLinks(): Link[] {
    return [...this.#host.openLinks()].filter((l) =>
      ((l.hello?.services ?? 0) & Services.chain) !== 0
    );
  }

  /** A new link: ask it for headers and tell it what our mempool holds. */
  async onLinkOpen(link: Link): Promise<void> {
    if (((link.hello?.services ?? 0) & Services.chain) === 0) return;
    await this.requestHeaders(link);
    const txids = (this.#chain.mempool?.entries() ?? []).map((e) => e.txid);
    for (let i = 0; i < txids.length; i += MAX_INV) {
      link.send(
        "inv",
        encodeInv(txids.slice(i, i + MAX_INV).map((hash) => ({ kind: "tx", hash }))),
      );
    }
  }

  /** A link closed: its block requests go elsewhere. */
  onLinkClose(link: Link): void {
    for (const [hash, f] of this.#inflight) if (f.linkId === link.id) this.#inflight.delete(hash);
    for (const holders of this.#wanted.values()) holders.delete(link.id);
    this.#schedule();
  }

  /** Sends our locator to `link`. */
  async requestHeaders(link: Link): Promise<void> {
    const locator = await this.#chain.locator();
    link.send("getheaders", encodeGetHeaders(locator.slice(0, 101)));
  }

  /**
   * True, once, for a transaction `link` sends because we asked it for that transaction: such
   * answers are paced by our requests, not by the link's message rate limit (a burst of a few
   * hundred requested transactions would otherwise exceed it and cost the peer its link).
   */
  isAnswer(env: Envelope, link: Link): boolean {
    if (env.type !== "tx") return false;
    const request = this.#txRequested.get(toHex(sha256d(env.payload)));
    if (!request || request.answered || request.linkId !== link.id) return false;
    request.answered = true;
    return true;
  }

  /** Handles a chain message from `link`. */
  async handle(env: Envelope, link: Link): Promise<void> {
    switch (env.type) {
      case "inv":
        await this.#onInv(decodeFromPeer(decodeInv, env.payload), link);
        return;
      case "getdata":
        await this.#onGetData(decodeFromPeer(decodeInv, env.payload), link);
        return;
      case "notfound":
        for (const it of decodeFromPeer(decodeInv, env.payload)) {
          if (it.kind === "block") {
            this.#inflight.delete(it.hash);
            this.#wanted.get(it.hash)?.delete(link.id);
          } else this.#txRequested.delete(it.hash);
        }
        this.#schedule();
        return;
      case "tx":
        await this.#onTx_(env.payload, link);
        return;
      case "block":
        await this.#onBlockMsg(env.payload, link);
        return;
      case "getheaders": {
        const locator = decodeFromPeer(decodeGetHeaders, env.payload);
        const headers = await this.#chain.getHeaders(locator, MAX_HEADERS);
        link.send("headers", encodeHeaders(headers.slice(0, MAX_HEADERS)));
        return;
      }
      case "headers":
        await this.#onHeaders(decodeFromPeer(decodeHeaders, env.payload), link);
        return;
    }
  }

  async #onInv(items: InvItem[], link: Link): Promise<void> {
    const want: InvItem[] = [];
    const now = Date.now();
    for (const it of items) {
      if (it.kind === "tx") {
        this.#knownBy(it.hash, link);
        if (this.#chain.getMempoolTxBytes(it.hash)) continue;
        if (now - (this.#txRequested.get(it.hash)?.at ?? 0) < 30_000) continue;
        if (now - (this.#txRejected.get(it.hash) ?? 0) < 600_000) continue;
        this.#txRequested.set(it.hash, { at: now, linkId: link.id, answered: false });
        want.push(it);
      } else {
        if (await this.#known(it.hash)) continue;
        this.#want(it.hash, link.id);
      }
    }
    if (want.length) link.send("getdata", encodeInv(want));
    this.#schedule();
  }

  async #onGetData(items: InvItem[], link: Link): Promise<void> {
    if (items.filter((it) => it.kind === "block").length > MAX_BLOCKS_PER_GETDATA) {
      throw new Misbehaviour(
        "sync/getdata-too-many",
        `at most ${MAX_BLOCKS_PER_GETDATA} blocks per getdata`,
        20,
      );
    }
    const missing: InvItem[] = [];
    for (const it of items) {
      if (it.kind === "tx") {
        const bytes = this.#chain.getMempoolTxBytes(it.hash);
        if (bytes) link.send("tx", bytes);
        else missing.push(it);
      } else {
        // A peer that does not read what we send gets no more blocks until it catches up
        // (the link's backlog bound, maxLinkBacklogBytes).
        const bytes = link.backlogged ? null : await this.#chain.getBlockBytes(it.hash);
        if (bytes) link.send("block", bytes);
        else missing.push(it);
      }
    }
    if (missing.length) link.send("notfound", encodeInv(missing));
  }

  async #onTx_(bytes: Uint8Array, link: Link): Promise<void> {
    this.stats.txsReceived++;
    this.#knownBy(toHex(sha256d(bytes)), link);
    try {
      const { txid } = await this.#chain.processTx(bytes, `peer:${link.peerKeyHex}`);
      this.#txRequested.delete(txid);
      link.lastTxAt = Date.now();
    } catch (e) {
      if (!(e instanceof CamelidError)) throw e;
      // Invalid or conflicting transactions are common in honest gossip (races, reorgs): remember
      // and ignore them; only undecodable bytes cost the peer.
      const id = toHex(sha256d(bytes));
      this.#txRejected.set(id, Date.now());
      if (e.code.startsWith("decode/")) throw new Misbehaviour(e.code, e.message, 20);
      log.debug("tx from {peer} rejected: {code}", { peer: link.label, code: e.code });
    }
    if (this.#txRejected.size > 50_000) this.#txRejected.clear();
  }

  async #onBlockMsg(bytes: Uint8Array, link: Link): Promise<void> {
    this.stats.blocksReceived++;
    const by = this.stats.blocksByPeer;
    by[link.peerKeyHex] = (by[link.peerKeyHex] ?? 0) + 1;
    const hash = bytes.length >= 80 ? headerHash(bytes.subarray(0, 80)) : "";
    // Honest peers send blocks only when asked (getdata); pushed ones are rationed per peer.
    if (!this.#inflight.has(hash) && !this.#unrequested.take(link.peerKeyHex, bytes.length)) {
      throw new Misbehaviour("sync/unrequested-blocks", "too many blocks we did not ask for", 10);
    }
    this.#inflight.delete(hash);
    this.#wanted.delete(hash);
    this.#recentBlocks.set(hash, Date.now());
    let status: string;
    try {
      status = (await this.#chain.processBlock(bytes)).status;
    } catch (e) {
      if (!(e instanceof CamelidError)) throw e;
      this.#schedule();
      throw new Misbehaviour(e.code, `invalid block ${hash.slice(0, 16)}: ${e.message}`, 50);
    }
    // A block that extends or competes with our chain is useful work (it protects the peer's
    // inbound slot from eviction); duplicates, orphans and ignored blocks are not.
    if (!NOT_NOVEL.has(status)) link.lastBlockAt = Date.now();
    if (status === "orphan") {
      // Blocks fetched in parallel arrive out of order: only when the parent is neither stored,
      // received nor on its way do we ask this peer where its chain forks from ours.
      const prev = headerPrevHash(bytes.subarray(0, 80));
      if (!this.#wanted.has(prev) && !this.#inflight.has(prev) && !(await this.#known(prev))) {
        await this.requestHeaders(link);
      }
    }
    this.#schedule();
  }

  async #onHeaders(headers: Uint8Array[], link: Link): Promise<void> {
    this.stats.headersReceived += headers.length;
    let prev: string | null = null;
    let added = 0;
    const powLimit = this.#chain.params.powLimitBits;
    for (const h of headers) {
      const digest = sha256d(h);
      const hash = toHex(digest);
      const prevHash = headerPrevHash(h);
      if (prev !== null && prevHash !== prev) {
        throw new Misbehaviour("sync/headers-unconnected", "headers do not form a chain", 20);
      }
      const bits = new DataView(h.buffer, h.byteOffset + 72, 4).getUint32(0, true);
      let pow = false;
      try {
        pow = checkProofOfWork(digest, bits, powLimit);
      } catch {
        // bits that do not decode to a target
      }
      if (!pow) {
        throw new Misbehaviour("sync/headers-pow", "a header lacks its proof of work", 50);
      }
      prev = hash;
      if (this.#wanted.size >= MAX_WANTED_BLOCKS) break;
      if (await this.#known(hash)) continue;
      this.#want(hash, link.id);
      added++;
    }
    if (headers.length === MAX_HEADERS && prev) {
      link.send("getheaders", encodeGetHeaders([prev]));
    }
    if (added) log.debug("{n} new headers from {peer}", { n: added, peer: link.label });
    this.#schedule();
  }

  /** Stored, just received, or already wanted (checked after the await: no race with arrivals). */
  async #known(hash: string): Promise<boolean> {
    const stored = await this.#chain.hasBlock(hash);
    return stored || this.#recentBlocks.has(hash);
  }

  #want(hash: string, linkId: number): void {
    let s = this.#wanted.get(hash);
    if (!s) {
      s = new Set();
      this.#wanted.set(hash, s);
    }
    s.add(linkId);
  }

  /** Assigns wanted blocks to links, spreading them over every peer that has them. */
  #schedule(): void {
    if (!this.#wanted.size) return;
    const links = new Map<number, Link>();
    for (const l of this.#chainLinks()) links.set(l.id, l);
    const load = new Map<number, number>();
    for (const f of this.#inflight.values()) load.set(f.linkId, (load.get(f.linkId) ?? 0) + 1);
    const batches = new Map<number, InvItem[]>();
    const now = Date.now();
    for (const [hash, holders] of this.#wanted) {
      if (this.#inflight.has(hash)) continue;
      let best: number | undefined;
      let bestLoad = MAX_BLOCKS_IN_FLIGHT_PER_PEER;
      for (const id of holders) {
        if (!links.has(id)) continue;
        const n = load.get(id) ?? 0;
        if (n < bestLoad) {
          best = id;
          bestLoad = n;
        }
      }
      if (best === undefined) continue;
      load.set(best, bestLoad + 1);
      this.#inflight.set(hash, { linkId: best, at: now });
      let b = batches.get(best);
      if (!b) batches.set(best, b = []);
      b.push({ kind: "block", hash });
    }
    for (const [id, items] of batches) {
      this.stats.blocksRequested += items.length;
      links.get(id)!.send("getdata", encodeInv(items));
    }
  }

  #expire(): void {
    const now = Date.now();
    let changed = false;
    for (const [hash, f] of this.#inflight) {
      if (now - f.at > BLOCK_REQUEST_TIMEOUT_MS) {
        this.#inflight.delete(hash);
        const holders = this.#wanted.get(hash);
        if (holders && holders.size > 1) holders.delete(f.linkId);
        changed = true;
      }
    }
    // Wanted blocks nobody connected can serve are dropped (headers will bring them back).
    for (const [hash, holders] of this.#wanted) {
      if (!holders.size && !this.#inflight.has(hash)) this.#wanted.delete(hash);
    }
    for (const [h, t] of this.#recentBlocks) if (now - t > 60_000) this.#recentBlocks.delete(h);
    for (const [h, r] of this.#txRequested) if (now - r.at > 60_000) this.#txRequested.delete(h);
    if (changed) this.#schedule();
  }

  #scheduleTipAnnounce(): void {
    if (this.#announceTimer !== undefined) return;
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined;
      const tip = this.#chain.tip();
      const payload = encodeInv([{ kind: "block", hash: tip.hash }]);
      for (const l of this.#chainLinks()) l.send("inv", payload);
    }, 10);
  }

  /** Records that `link` has the transaction `txid` (it need not be told of it). */
  #knownBy(txid: string, link: Link): void {
    if (this.#txKnownBy.size >= MAX_TX_KNOWN) this.#txKnownBy.clear();
    let links = this.#txKnownBy.get(txid);
    if (!links) this.#txKnownBy.set(txid, links = new Set());
    links.add(link.id);
  }

  #announceTx(txid: string): void {
    this.#txToAnnounce.add(txid);
    this.#txAnnounceTimer ??= setTimeout(
      () => this.#flushTxAnnouncements(),
      TX_ANNOUNCE_INTERVAL_MS,
    );
  }

  /** Sends each link one inv (per {@link MAX_INV}) of the new transactions it has not shown us. */
  #flushTxAnnouncements(): void {
    this.#txAnnounceTimer = undefined;
    const txids = [...this.#txToAnnounce];
    this.#txToAnnounce = new Set();
    for (const l of this.#chainLinks()) {
      const items = txids.filter((txid) => !this.#txKnownBy.get(txid)?.has(l.id))
        .map((hash) => ({ kind: "tx" as const, hash }));
      for (let i = 0; i < items.length; i += MAX_INV) {
        l.send("inv", encodeInv(items.slice(i, i + MAX_INV)));
      }
    }
    for (const txid of txids) this.#txKnownBy.delete(txid);
  }

  #announceMempool(): void {
    const txids = (this.#chain.mempool?.entries() ?? []).map((e) => e.txid);
    for (let i = 0; i < txids.length; i += MAX_INV) {
      const payload = encodeInv(
        txids.slice(i, i + MAX_INV).map((hash) => ({ kind: "tx" as const, hash })),
      );
      for (const l of this.#chainLinks()) l.send("inv", payload);
    }
  }
}
