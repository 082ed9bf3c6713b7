/**
 * @module NetworkService: wires identity, peer table, links, router, inbox, discovery, chain sync
 * and misbehaviour scoring together; its HTTP routes (`/v1/ws`, `/v1/messages`, `/v1/peers`) live
 * in relay/routes/ and are mounted on a Hono app by {@link NetworkService.mount}.
 */

import { Hono, type MiddlewareHandler } from "hono";
import { getLogger } from "@logtape/logtape";
import { fromHex, toHex } from "../chain/bytes.ts";
import { networkParams } from "../chain/params.ts";
import { type NetworkOptions, readNetworkConfig } from "./config.ts";
import { type Envelope, Services } from "./envelope.ts";
import { Misbehaviour, notFound, onError, RequestError } from "./errors.ts";
import { loadIdentity, type NodeIdentity } from "./identity.ts";
import { type Inbox, inboxFor } from "./inbox.ts";
import { CloseCode, Link, type LinkHost, type LinkSocket, type SignatureVerdict } from "./link.ts";
import { BucketMap, type RelayLimits, resolveLimits } from "./limits.ts";
import { MisbehaviourScores } from "./misbehaviour.ts";
import { netGroup, selectEviction, youngestOfLargestGroup } from "./eviction.ts";
import { isLoopback, normalizePeerUrl, PeerTable, wsUrlOf } from "./peers.ts";
import { Router, type RouteResult, type RouterHost, type Source } from "./router.ts";
import { Discovery, type DiscoveryHost } from "./discovery.ts";
import { type ChainPort, ChainSync, type SyncHost } from "./sync.ts";
import { linkRoutes } from "./routes/links.ts";
import { messageRoutes } from "./routes/messages.ts";
import { peerRoutes } from "./routes/peers.ts";
import { subscribeRoutes } from "./routes/subscribe.ts";
import { rateLimit } from "./middleware/rate_limit.ts";
import { bodyBudget } from "./middleware/body_budget.ts";

const log = getLogger(["camelid", "relay"]);

/** Software name in hellos. */
export const USER_AGENT = "camelid/0.1.0";

/** A message delivered to this node: detail of the "message" event. */
export interface MessageEventDetail {
  /** The envelope. */
  envelope: Envelope;
  /** Where it came from. */
  source: Source;
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
  /** Misbehaviour scores of links and HTTP client addresses. */
  readonly scores: MisbehaviourScores = new MisbehaviourScores(this);

  readonly #options: NetworkOptions;
  #identity: NodeIdentity | undefined;
  #advertiseUrl = "";
  readonly #links = new Set<Link>();
  /** Keys the network-group ranking of eviction (unpredictable from outside). */
  readonly #groupKey = crypto.getRandomValues(new Uint8Array(32));
  #httpBuckets: BucketMap;
  #requestBuckets: BucketMap;
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
    this.inbox = inboxFor(this.limits);
    this.#httpBuckets = new BucketMap(this.limits.messagesPerSecond, this.limits.messageBurst);
    this.#requestBuckets = requestBuckets(this.limits);
    this.#advertiseUrl = options.advertiseUrl ? normalizePeerUrl(options.advertiseUrl) : "";
  }

  /** Whether {@link start} has finished (the HTTP routes answer `relay/starting` until then). */
  get started(): boolean {
    return this.#started;
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
    this.inbox = inboxFor(l);
    this.#httpBuckets = new BucketMap(l.messagesPerSecond, l.messageBurst);
    this.#requestBuckets = requestBuckets(l);
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
    const link = this.#addLink({
      ws,
      direction: "outbound",
      remoteIp: hostname,
      url: base,
      myChallenge: challenge,
    });
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
    if (link.direction === "inbound") {
      const refuse = this.#settleInboundSlot(link);
      if (refuse !== undefined) return refuse;
    }
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

  /** An envelope on an open link, with the signature verdict started on its arrival. */
  async onEnvelope(
    link: Link,
    env: Envelope,
    _size: number,
    verdict?: SignatureVerdict,
  ): Promise<void> {
    await this.router.accept(env, { kind: "link", link }, verdict);
  }

  /** Starts an arriving envelope's signature check (see {@link Router.verifyAhead}). */
  verifyAhead(_link: Link, env: Envelope): SignatureVerdict | undefined {
    return this.router.verifyAhead(env);
  }

  /** Whether `env` answers our request to `link` (see ChainSync.isAnswer). */
  isAnswer(link: Link, env: Envelope): boolean {
    return this.sync?.isAnswer(env, link) ?? false;
  }

  /** Scores a link's violation; at the ban score the peer is disconnected and discouraged. */
  onMisbehaviour(link: Link, m: Misbehaviour): void {
    this.scores.chargeLink(link, m);
  }

  /**
   * Makes room for an inbound link from `ip` still in the handshake, or refuses it: `peer/full`
   * when no inbound link is allowed, `peer/ip-full` past the links of one address, and
   * `peer/pending-full` when the handshake budget is full and `ip`'s network group holds the most
   * pending links (otherwise the youngest pending link of the group holding the most is closed).
   * Handshake-only links do not count toward `maxInbound`: slots are settled at the handshake
   * ({@link onLinkOpen}).
   */
  checkInboundSlot(ip: string): void {
    const l = this.limits;
    if (l.maxInbound === 0) throw new RequestError("peer/full", "no inbound links accepted");
    const pending: { link: Link; group: string; openedAt: number }[] = [];
    let fromIp = 0;
    for (const link of this.#links) {
      if (link.remoteIp === ip) fromIp++;
      if (link.direction === "inbound" && link.state === "handshake") {
        pending.push({ link, group: netGroup(link.remoteIp), openedAt: link.openedAt });
      }
    }
    if (fromIp >= l.maxPeersPerIp) {
      throw new RequestError("peer/ip-full", "too many links from this address");
    }
    if (pending.length < l.maxPendingInbound) return;
    const newcomer = { link: undefined, group: netGroup(ip), openedAt: Infinity };
    const victim = youngestOfLargestGroup([...pending, newcomer]);
    if (!victim?.link) {
      throw new RequestError("peer/pending-full", "too many handshakes from this network group");
    }
    victim.link.close(CloseCode.evicted, "evicted");
  }

  /**
   * An inbound link finished its handshake: when every inbound slot is taken, evict one as
   * Bitcoin Core does ({@link selectEviction}); the close code refusing the newcomer when every
   * other inbound peer is protected.
   */
  #settleInboundSlot(link: Link): number | undefined {
    const others = [...this.#links].filter((l) =>
      l !== link && l.direction === "inbound" && l.state === "open"
    );
    if (others.length < this.limits.maxInbound) return undefined;
    const id = selectEviction(
      others.map((l) => ({
        id: l.id,
        group: netGroup(l.remoteIp),
        rttMs: l.rttMs,
        lastBlockAt: l.lastBlockAt,
        lastTxAt: l.lastTxAt,
        openedAt: l.openedAt,
      })),
      this.#groupKey,
    );
    const victim = others.find((l) => l.id === id);
    if (!victim) return CloseCode.full;
    log.debug("Evicting inbound {key} for {new}", { key: victim.label, new: link.label });
    victim.close(CloseCode.evicted, "evicted");
    return undefined;
  }

  /** Takes over an upgraded inbound socket from `ip` whose dialer sent `peerChallenge`. */
  acceptInbound(socket: LinkSocket, ip: string, peerChallenge: Uint8Array): Link {
    return this.#addLink({
      ws: socket,
      direction: "inbound",
      remoteIp: ip,
      myChallenge: crypto.getRandomValues(new Uint8Array(32)),
      peerChallenge,
    });
  }

  #addLink(opts: Omit<ConstructorParameters<typeof Link>[0], "host">): Link {
    const link = new Link({ ...opts, host: this });
    this.#links.add(link);
    return link;
  }

  /** Closes every link to the peer with key `value` (kind "key") or from address `value` ("ip"). */
  disconnect(kind: "key" | "ip", value: string): void {
    for (const l of [...this.#links]) {
      if ((kind === "key" && l.peerKeyHex === value) || (kind === "ip" && l.remoteIp === value)) {
        l.close(CloseCode.discouraged, "discouraged");
      }
    }
  }

  /** Takes a token from the message rate-limit bucket (`/v1/messages`, `/v1/peers`) of `ip`. */
  takeHttpToken(ip: string): boolean {
    return this.#httpBuckets.take(ip);
  }

  /**
   * The checks every HTTP route runs first, per client address: a request token (429
   * `rate/limited`), then a budget of body bytes in flight (429 `request/busy`). Loopback clients
   * are exempt unless `rateLimitLoopback` is on.
   */
  requestGuards(): MiddlewareHandler[] {
    const exempt = (ip: string) => !this.limits.rateLimitLoopback && isLoopback(ip);
    return [
      rateLimit((ip) => exempt(ip) || this.#requestBuckets.take(ip)),
      bodyBudget({
        perAddress: () => this.limits.httpBodyBytesPerAddress,
        // The largest body a route takes: an envelope as JSON (hex) or a block as hex.
        unknownLength: () => this.limits.maxEnvelopeBytes * 2 + 4096,
        exempt,
      }),
    ];
  }

  // ---------------------------------------------------------------------------------- routing

  /** Link-local messages: discovery and chain sync. */
  async handleLinkLocal(env: Envelope, link: Link): Promise<void> {
    if (env.type === "getpeers" || env.type === "peers") {
      await this.discovery.handle(env, link);
    } else if (env.type === "hello") {
      throw new Misbehaviour("link/hello-again", "hello after the handshake", 20);
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
        sendBacklog: l.bufferedAmount,
        misbehaviour: l.misbehaviour,
        since: l.openedAt,
      })),
      table: this.table.list(),
      discouraged: this.table.discouraged(),
      stats: started
        ? {
          router: this.router.stats,
          sync: this.sync?.stats ?? null,
          inbox: { messages: this.inbox.size, bytes: this.inbox.bytes },
        }
        : null,
    };
  }

  /** Adds `/v1/ws`, `/v1/messages`, `/v1/peers` and `/v1/subscribe` to `app`. */
  mount(app: Hono): void {
    app.route("/", linkRoutes(this));
    app.route("/", messageRoutes(this));
    app.route("/", peerRoutes(this));
    app.route("/", subscribeRoutes(this));
  }
}

/** The per-address bucket of every HTTP request. */
function requestBuckets(l: RelayLimits): BucketMap {
  return new BucketMap(l.httpRequestsPerSecond, l.httpRequestBurst);
}

/** A chain-less relay app: `/v1/status` plus the network routes, JSON errors everywhere. */
export function createRelayApp(options: NetworkOptions): { app: Hono; network: NetworkService } {
  const network = new NetworkService(options);
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound);
  for (const guard of network.requestGuards()) app.use("*", guard);
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
