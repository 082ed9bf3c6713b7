/**
 * @module NetworkService: wires identity, peer table, links, router, inbox, discovery and chain sync
 * together, and mounts `/v1/ws`, `/v1/messages` and `/v1/peers` on a Hono app.
 */

import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getLogger } from "@logtape/logtape";
import { fromHex, toHex } from "../chain/bytes.ts";
import { DecodeError } from "../chain/errors.ts";
import { networkParams } from "../chain/params.ts";
import {
  decodeEnvelope,
  type Envelope,
  envelopeFromJson,
  envelopeToJson,
  isPeerKey,
  Services,
} from "./envelope.ts";
import { loadIdentity, type NodeIdentity } from "./identity.ts";
import { Inbox } from "./inbox.ts";
import { CloseCode, Link, type LinkHost, Misbehaviour } from "./link.ts";
import { BucketMap, type RelayLimits, resolveLimits } from "./limits.ts";
import { isLoopback, normalizePeerUrl, PeerTable, wsUrlOf } from "./peers.ts";
import { Router, type RouteResult, type RouterHost, type Source } from "./router.ts";
import { Discovery, type DiscoveryHost } from "./discovery.ts";
import { type ChainPort, ChainSync, type SyncHost } from "./sync.ts";

const log = getLogger(["camelid", "relay"]);

/** Software name in hellos. */
export const USER_AGENT = "camelid/0.1.0";

/** Options of {@link NetworkService}. */
export interface NetworkOptions {
  /** Open Deno KV (identity, peer table, discouragements). */
  kv: Deno.Kv;
  /** The chain; absent on a chain-less relay (edge). */
  chain?: ChainPort;
  /** Network name when there is no chain (default "dev"). */
  network?: string;
  /** Seed node URLs. */
  seeds?: string[];
  /**
   * JSON config file: `{"seeds": [...], "peers": [...], "limits": {...}, "advertiseUrl": "..."}`.
   * Read at start when given.
   */
  configPath?: string;
  /** URL to advertise to peers (may also be given to `start`). */
  advertiseUrl?: string;
  /** Limits overriding the defaults. */
  limits?: Partial<RelayLimits>;
  /** Identity to use instead of the one stored in KV. */
  identity?: NodeIdentity;
}

/** Config file contents. */
export interface NetworkConfigFile {
  /** Seed URLs. */
  seeds?: string[];
  /** Further peers to keep in the table. */
  peers?: string[];
  /** Limits. */
  limits?: Partial<RelayLimits>;
  /** URL to advertise. */
  advertiseUrl?: string;
}

/** Reads and checks a network config file. Throws `TypeError` for a malformed file. */
export async function readNetworkConfig(path: string): Promise<NetworkConfigFile> {
  const text = await Deno.readTextFile(path);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${path}: expected a JSON object`);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["seeds", "peers", "limits", "advertiseUrl"].includes(k)) {
      throw new TypeError(`${path}: unknown field "${k}"`);
    }
  }
  const strings = (k: string) => {
    const a = o[k];
    if (a === undefined) return undefined;
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) {
      throw new TypeError(`${path}: "${k}" must be an array of URLs`);
    }
    return a as string[];
  };
  if (o.limits !== undefined && (typeof o.limits !== "object" || o.limits === null)) {
    throw new TypeError(`${path}: "limits" must be an object`);
  }
  if (o.advertiseUrl !== undefined && typeof o.advertiseUrl !== "string") {
    throw new TypeError(`${path}: "advertiseUrl" must be a string`);
  }
  return {
    seeds: strings("seeds"),
    peers: strings("peers"),
    limits: o.limits as Partial<RelayLimits> | undefined,
    advertiseUrl: o.advertiseUrl as string | undefined,
  };
}

/** A message delivered to this node: detail of the "message" event. */
export interface MessageEventDetail {
  /** The envelope. */
  envelope: Envelope;
  /** Where it came from. */
  source: Source;
}

function remoteIpOf(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}

function jsonError(c: Context, status: number, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status as 400);
}

/** The network side of a node (or of a chain-less relay). */
export class NetworkService implements LinkHost, RouterHost, DiscoveryHost, SyncHost {
  /** Limits in force. */
  limits: RelayLimits;
  /** Network magic. */
  readonly magic: number;
  /** Network name. */
  readonly networkName: string;
  /** The peer table. */
  readonly table: PeerTable;
  /** Inbox for socket-less clients. */
  inbox: Inbox;
  /** Emits "message" ({@link MessageEventDetail}) for routed messages addressed here or broadcast. */
  readonly events: EventTarget = new EventTarget();
  /** The chain, if any. */
  readonly chain: ChainPort | undefined;
  /** Chain sync, when there is a chain. */
  sync: ChainSync | undefined;
  /** The router (after start). */
  router!: Router;
  /** Discovery (after start). */
  discovery!: Discovery;

  readonly #options: NetworkOptions;
  #identity: NodeIdentity | undefined;
  #advertiseUrl = "";
  readonly #links = new Set<Link>();
  #httpBuckets: BucketMap;
  readonly #ipScores = new Map<string, { points: number; at: number }>();
  #started = false;
  #stopped = false;

  /** Creates the service; call {@link mount} and then {@link start}. */
  constructor(options: NetworkOptions) {
    this.#options = options;
    this.chain = options.chain;
    const params = options.chain?.params ?? networkParams(options.network ?? "dev");
    this.magic = params.magic;
    this.networkName = params.name;
    this.limits = resolveLimits(options.limits);
    this.table = new PeerTable(options.kv, this.limits.maxTableSize);
    this.inbox = new Inbox(0, 0, 0);
    this.#httpBuckets = new BucketMap(this.limits.messagesPerSecond, this.limits.messageBurst);
    this.#advertiseUrl = options.advertiseUrl ? normalizePeerUrl(options.advertiseUrl) : "";
  }

  /** This node's identity (after start). */
  get identity(): NodeIdentity {
    if (!this.#identity) throw new Error("NetworkService not started");
    return this.#identity;
  }

  /** Our public key. */
  get selfKey(): Uint8Array {
    return this.identity.publicKey;
  }

  /** Our public key, hex. */
  get selfKeyHex(): string {
    return this.identity.keyHex;
  }

  /** The URL we advertise. */
  get advertiseUrl(): string {
    return this.#advertiseUrl;
  }

  /** Loads identity, config and peer table, then starts discovery and sync. */
  async start(opts: { advertiseUrl?: string } = {}): Promise<void> {
    if (this.#started) return;
    const o = this.#options;
    const seeds = [...(o.seeds ?? [])];
    const peers: string[] = [];
    if (o.configPath) {
      const cfg = await readNetworkConfig(o.configPath);
      seeds.push(...(cfg.seeds ?? []));
      peers.push(...(cfg.peers ?? []));
      if (cfg.limits) this.limits = resolveLimits({ ...cfg.limits, ...o.limits });
      if (cfg.advertiseUrl && !this.#advertiseUrl) {
        this.#advertiseUrl = normalizePeerUrl(cfg.advertiseUrl);
      }
    }
    if (opts.advertiseUrl) this.#advertiseUrl = normalizePeerUrl(opts.advertiseUrl);
    const l = this.limits;
    this.inbox = new Inbox(l.inboxPerRecipient, l.inboxTotal, l.inboxTtlMs);
    this.#httpBuckets = new BucketMap(l.messagesPerSecond, l.messageBurst);
    this.#identity = o.identity ?? (await loadIdentity(o.kv));
    this.router = new Router(this);
    await this.table.load();
    for (const s of seeds) await this.table.add(s, { source: "seed" });
    for (const p of peers) await this.table.add(p, { source: "config" });
    if (this.chain) {
      this.sync = new ChainSync(this.chain, this);
      this.sync.start();
    }
    this.discovery = new Discovery(this);
    this.#started = true;
    this.discovery.start();
    log.info("Relay {key} on {network}, advertising {url}, {n} known peers", {
      key: this.selfKeyHex,
      network: this.networkName,
      url: this.#advertiseUrl || "(nothing)",
      n: this.table.size,
    });
  }

  /** Closes every link and stops the loops. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.discovery?.stop();
    this.sync?.stop();
    for (const l of [...this.#links]) l.close(CloseCode.normal, "shutting down");
    await new Promise((r) => setTimeout(r, 0));
  }

  // ---------------------------------------------------------------------------------- links

  /** Open links. */
  *openLinks(): Iterable<Link> {
    for (const l of this.#links) if (l.state === "open") yield l;
  }

  /** Every link, open or in handshake. */
  allLinks(): Iterable<Link> {
    return this.#links;
  }

  /** The open link to the peer with key `hex`. */
  linkByKey(hex: string): Link | undefined {
    for (const l of this.#links) if (l.state === "open" && l.peerKeyHex === hex) return l;
    return undefined;
  }

  /** Hello fields. */
  helloInfo(): { services: number; listenUrl: string; height: number; userAgent: string } {
    return {
      services: Services.relay | (this.chain ? Services.chain : 0),
      listenUrl: this.#advertiseUrl,
      height: this.chain ? this.chain.tip().height : 0,
      userAgent: USER_AGENT,
    };
  }

  /** Dials `url`; resolves with the link once the handshake completes. */
  dial(url: string): Promise<Link> {
    const base = normalizePeerUrl(url);
    const challenge = crypto.getRandomValues(new Uint8Array(32));
    const ws = new WebSocket(`${wsUrlOf(base)}?challenge=${toHex(challenge)}`);
    let hostname = "unknown";
    try {
      hostname = new URL(base).hostname;
    } catch { /* normalized already */ }
    const link = new Link({
      ws,
      host: this,
      direction: "outbound",
      remoteIp: hostname,
      url: base,
      myChallenge: challenge,
    });
    this.#links.add(link);
    return new Promise((resolve, reject) => {
      const check = setInterval(() => {
        if (link.state === "open") {
          clearInterval(check);
          resolve(link);
        } else if (link.state === "closed") {
          clearInterval(check);
          reject(new Error(`link to ${base} closed during handshake`));
        }
      }, 10);
    });
  }

  /** Handshake done: refuse self, duplicates, discouraged keys; then start discovery and sync. */
  onLinkOpen(link: Link): number | undefined {
    const key = link.peerKeyHex;
    if (key === this.selfKeyHex) {
      if (link.direction === "outbound") this.table.remove(link.url).catch(() => {});
      return CloseCode.self;
    }
    if (this.table.isDiscouraged("key", key)) return CloseCode.discouraged;
    for (const other of this.#links) {
      if (other !== link && other.state === "open" && other.peerKeyHex === key) {
        // Both sides dialed at once: both keep the link dialed by the smaller key.
        const dialer = (l: Link) => (l.direction === "outbound" ? this.selfKeyHex : key);
        if (dialer(link) < dialer(other)) {
          other.close(CloseCode.duplicate, "duplicate link");
          break;
        }
        return CloseCode.duplicate;
      }
    }
    log.debug("Link {dir} {key} open", { dir: link.direction, key });
    this.discovery.onLinkOpen(link).catch((e) => log.warn("discovery: {e}", { e: String(e) }));
    this.sync?.onLinkOpen(link).catch((e) => log.warn("sync: {e}", { e: String(e) }));
    return undefined;
  }

  /** A link closed. */
  onLinkClose(link: Link): void {
    this.#links.delete(link);
    if (!this.#started) return;
    this.discovery.onLinkClose(link);
    this.sync?.onLinkClose(link);
  }

  /** An envelope on an open link. */
  async onEnvelope(link: Link, env: Envelope): Promise<void> {
    await this.router.accept(env, { kind: "link", link });
  }

  /** Scores a link's violation; at the ban score the peer is disconnected and discouraged. */
  onMisbehaviour(link: Link, m: Misbehaviour): void {
    this.misbehaving(link, m);
  }

  /** Scores a link's violation (also used by sync). */
  misbehaving(link: Link, m: Misbehaviour): void {
    link.misbehaviour += m.points;
    log.info("Peer {peer} misbehaved: {code} ({points} points, {total} total): {msg}", {
      peer: link.label,
      code: m.code,
      points: m.points,
      total: link.misbehaviour,
      msg: m.message,
    });
    if (link.misbehaviour < this.limits.banScore) return;
    const ms = this.limits.discourageMs;
    if (link.peerKeyHex) {
      this.table.discourage("key", link.peerKeyHex, ms, m.code).catch(() => {});
    }
    if (this.limits.discourageLoopback || !isLoopback(link.remoteIp)) {
      this.table.discourage("ip", link.remoteIp, ms, m.code).catch(() => {});
    }
    link.close(CloseCode.policy, m.code);
  }

  #ipMisbehaving(ip: string, m: Misbehaviour): void {
    const now = Date.now();
    const e = this.#ipScores.get(ip);
    const points = (e && now - e.at < this.limits.discourageMs ? e.points : 0) + m.points;
    this.#ipScores.set(ip, { points, at: now });
    if (this.#ipScores.size > 10_000) this.#ipScores.delete(this.#ipScores.keys().next().value!);
    if (points >= this.limits.banScore && (this.limits.discourageLoopback || !isLoopback(ip))) {
      this.table.discourage("ip", ip, this.limits.discourageMs, m.code).catch(() => {});
      this.#ipScores.delete(ip);
    }
  }

  #ipDiscouraged(ip: string): boolean {
    return this.table.isDiscouraged("ip", ip);
  }

  // ---------------------------------------------------------------------------------- routing

  /** Link-local messages: discovery and chain sync. */
  async handleLinkLocal(env: Envelope, link: Link): Promise<void> {
    if (env.type === "getpeers" || env.type === "peers") {
      await this.discovery.handle(env, link);
    } else if (env.type === "hello") {
      throw new Misbehaviour("link/hello-again", "hello after the handshake", 20, 400);
    } else if (this.sync) {
      await this.sync.handle(env, link);
    }
    // A chain-less relay ignores chain traffic.
  }

  /** Routed messages for us (or broadcast): emitted as "message" events. */
  deliverLocal(env: Envelope, source: Source): void {
    this.events.dispatchEvent(
      new CustomEvent<MessageEventDetail>("message", { detail: { envelope: env, source } }),
    );
  }

  /**
   * Sends a `direct` message with an opaque payload to `to` (key bytes or hex; omit for broadcast).
   * Returns the signed envelope.
   */
  send(
    payload: Uint8Array,
    to?: Uint8Array | string,
    opts: { hopLimit?: number } = {},
  ): { envelope: Envelope; result: RouteResult } {
    const toKey = typeof to === "string" ? fromHex(to, 33) : to;
    const envelope = this.identity.sign({
      magic: this.magic,
      type: "direct",
      to: toKey,
      payload,
      hopLimit: opts.hopLimit ?? this.limits.defaultHopLimit,
    });
    return { envelope, result: this.router.route(envelope, { kind: "self" }) };
  }

  // ---------------------------------------------------------------------------------- HTTP

  /** Information served by `GET /v1/peers`. */
  peersInfo(): Record<string, unknown> {
    const started = this.#started;
    return {
      self: {
        key: started ? this.selfKeyHex : null,
        url: this.#advertiseUrl,
        network: this.networkName,
        services: this.helloInfo().services,
      },
      links: [...this.#links].filter((l) => l.state === "open").map((l) => ({
        key: l.peerKeyHex,
        url: l.url,
        direction: l.direction,
        ip: l.remoteIp,
        services: l.hello?.services ?? 0,
        height: l.hello?.height ?? 0,
        userAgent: l.hello?.userAgent ?? "",
        rttMs: l.rttMs,
        misbehaviour: l.misbehaviour,
        since: l.openedAt,
      })),
      table: this.table.list(),
      discouraged: this.table.discouraged(),
      stats: started
        ? { router: this.router.stats, sync: this.sync?.stats ?? null, inbox: this.inbox.size }
        : null,
    };
  }

  /** Adds `/v1/ws`, `/v1/messages` and `/v1/peers` to `app`. */
  mount(app: Hono): void {
    const notReady = (c: Context) =>
      this.#started ? null : jsonError(c, 503, "relay/starting", "the relay is starting");

    app.get("/v1/ws", (c) => {
      const nr = notReady(c);
      if (nr) return nr;
      const ip = remoteIpOf(c);
      if (this.#ipDiscouraged(ip)) {
        return jsonError(c, 403, "peer/discouraged", "this address is discouraged");
      }
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        return jsonError(c, 400, "ws/upgrade", "expected a WebSocket upgrade");
      }
      const ch = c.req.query("challenge") ?? "";
      if (!/^[0-9a-f]{64}$/.test(ch)) {
        return jsonError(
          c,
          400,
          "ws/challenge",
          "query challenge must be 32 bytes of lowercase hex",
        );
      }
      let inbound = 0;
      let fromIp = 0;
      for (const l of this.#links) {
        if (l.direction === "inbound") inbound++;
        if (l.remoteIp === ip) fromIp++;
      }
      if (inbound >= this.limits.maxInbound) {
        return jsonError(c, 503, "peer/full", "no inbound slots left");
      }
      if (fromIp >= this.limits.maxPeersPerIp) {
        return jsonError(c, 429, "peer/ip-full", "too many links from this address");
      }
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 0 });
      const link = new Link({
        ws: socket,
        host: this,
        direction: "inbound",
        remoteIp: ip,
        myChallenge: crypto.getRandomValues(new Uint8Array(32)),
        peerChallenge: fromHex(ch, 32),
      });
      this.#links.add(link);
      return response;
    });

    app.post(
      "/v1/messages",
      (c, next) => {
        const nr = notReady(c);
        if (nr) return nr;
        const ip = remoteIpOf(c);
        if (this.#ipDiscouraged(ip)) {
          return jsonError(c, 403, "peer/discouraged", "this address is discouraged");
        }
        if (!this.#httpBuckets.take(ip)) {
          this.#ipMisbehaving(ip, new Misbehaviour("rate/limited", "rate limited", 1, 429));
          return jsonError(c, 429, "rate/limited", "too many messages; slow down");
        }
        return next();
      },
      (c, next) =>
        bodyLimit({
          // The JSON form doubles the payload (hex) and adds field names.
          maxSize: this.limits.maxEnvelopeBytes * 2 + 4096,
          onError: (c) => {
            this.#ipMisbehaving(
              remoteIpOf(c),
              new Misbehaviour("envelope/too-large", "body too large", 20, 413),
            );
            return jsonError(c, 413, "envelope/too-large", "envelope too large");
          },
        })(c, next),
      async (c) => {
        const ip = remoteIpOf(c);
        let env: Envelope;
        try {
          const type = c.req.header("content-type") ?? "";
          if (type.startsWith("application/octet-stream")) {
            env = decodeEnvelope(
              new Uint8Array(await c.req.arrayBuffer()),
              this.limits.maxEnvelopeBytes,
            );
          } else {
            let body: unknown;
            try {
              body = await c.req.json();
            } catch {
              throw new DecodeError("envelope/json", "body is not valid JSON");
            }
            env = envelopeFromJson(body, this.limits.maxEnvelopeBytes);
          }
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          const big = e.code === "envelope/too-large" || e.code === "decode/too-large";
          const m = new Misbehaviour(
            big ? "envelope/too-large" : "envelope/malformed",
            e.message,
            big ? 20 : 10,
            big ? 413 : 400,
          );
          this.#ipMisbehaving(ip, m);
          return jsonError(c, m.status, m.code, m.message);
        }
        try {
          const result = await this.router.accept(env, { kind: "http", ip });
          return c.json({ id: toHex(env.id), from: toHex(env.from), result }, 202);
        } catch (e) {
          if (!(e instanceof Misbehaviour)) throw e;
          this.#ipMisbehaving(ip, e);
          return jsonError(c, e.status, e.code, e.message);
        }
      },
    );

    app.get("/v1/messages", (c) => {
      const nr = notReady(c);
      if (nr) return nr;
      const ip = remoteIpOf(c);
      if (!this.#httpBuckets.take(ip)) {
        return jsonError(c, 429, "rate/limited", "too many requests; slow down");
      }
      const to = c.req.query("to") ?? "";
      let key: Uint8Array;
      try {
        key = fromHex(to, 33);
      } catch {
        return jsonError(c, 400, "messages/to", "query to must be a 33-byte public key in hex");
      }
      if (!isPeerKey(key)) {
        return jsonError(c, 400, "messages/to", "query to is not a valid public key");
      }
      const after = Number(c.req.query("after") ?? "0");
      const limit = Number(c.req.query("limit") ?? "100");
      if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1) {
        return jsonError(c, 400, "messages/query", "after and limit must be non-negative integers");
      }
      const entries = this.inbox.get(toHex(key), after, Math.min(limit, 1000));
      return c.json({
        messages: entries.map((e) => ({ seq: e.seq, ...envelopeToJson(e.envelope) })),
      });
    });

    app.get("/v1/peers", (c) => {
      const ip = remoteIpOf(c);
      if (!this.#httpBuckets.take(ip)) {
        return jsonError(c, 429, "rate/limited", "too many requests; slow down");
      }
      return c.json(this.peersInfo());
    });

    // Operator actions: only from the node's own host.
    const adminOnly = (c: Context) =>
      isLoopback(remoteIpOf(c))
        ? null
        : jsonError(c, 403, "admin/forbidden", "operator actions are only allowed from loopback");

    app.post("/v1/peers", async (c) => {
      const nr = notReady(c) ?? adminOnly(c);
      if (nr) return nr;
      const body = await c.req.json().catch(() => null) as { url?: unknown } | null;
      if (!body || typeof body.url !== "string") {
        return jsonError(c, 400, "peers/url", 'body must be {"url": "http://host:port"}');
      }
      let url: string;
      try {
        url = normalizePeerUrl(body.url);
      } catch (e) {
        return jsonError(c, 400, "peers/url", (e as Error).message);
      }
      const added = await this.table.add(url, { source: "admin" });
      this.discovery.tick();
      return c.json({ url, added }, 202);
    });

    app.post("/v1/peers/discourage", async (c) => {
      const nr = notReady(c) ?? adminOnly(c);
      if (nr) return nr;
      const body = await c.req.json().catch(() => null) as Record<string, unknown> | null;
      const seconds = body?.seconds ?? 3600;
      if (
        !body || (typeof body.key !== "string" && typeof body.ip !== "string") ||
        typeof seconds !== "number" || !(seconds > 0)
      ) {
        return jsonError(c, 400, "peers/discourage", 'body must be {"key"|"ip", "seconds"}');
      }
      const kind = typeof body.key === "string" ? "key" : "ip";
      const value = (body.key ?? body.ip) as string;
      await this.table.discourage(kind, value, seconds * 1000, "operator");
      for (const l of [...this.#links]) {
        if ((kind === "key" && l.peerKeyHex === value) || (kind === "ip" && l.remoteIp === value)) {
          l.close(CloseCode.discouraged, "discouraged");
        }
      }
      return c.json({ kind, value, seconds });
    });

    app.delete("/v1/peers/discourage", async (c) => {
      const nr = notReady(c) ?? adminOnly(c);
      if (nr) return nr;
      const key = c.req.query("key");
      const ip = c.req.query("ip");
      if (!key && !ip) return jsonError(c, 400, "peers/discourage", "query key or ip is required");
      await this.table.lift(key ? "key" : "ip", (key ?? ip)!);
      this.discovery.tick();
      return c.json({ lifted: key ?? ip });
    });
  }
}

/** A chain-less relay app: `/v1/status` plus the network routes, JSON errors everywhere. */
export function createRelayApp(options: NetworkOptions): { app: Hono; network: NetworkService } {
  const network = new NetworkService(options);
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof DecodeError) return jsonError(c, 400, err.code, err.message);
    log.error("internal error: {err}", { err: String(err) });
    return jsonError(c, 500, "internal", "internal error");
  });
  app.notFound((c) =>
    jsonError(c, 404, "route/not-found", `no route ${c.req.method} ${c.req.path}`)
  );
  app.get("/v1/status", (c) => {
    const links = [...network.openLinks()].length;
    return c.json({
      network: network.networkName,
      role: "relay",
      version: USER_AGENT,
      key: network.identity.keyHex,
      peers: { links, known: network.table.size },
    });
  });
  network.mount(app);
  return { app, network };
}
