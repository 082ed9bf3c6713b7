/**
 * @module A WebSocket link between two nodes (Deno's native WebSocket, both directions): the hello
 * handshake with signed challenges, frame size checks, per-link rate limit, ping/pong liveness.
 *
 * Handshake: the dialing side opens `GET /v1/ws?challenge=<32 bytes hex>`. The accepting side sends
 * a hello that echoes that challenge and carries its own; the dialer answers with a hello echoing
 * the acceptor's challenge. Each hello is a signed envelope, so each side learns the other's key and
 * knows the other holds it. Only after both hellos does the link carry other messages.
 */

import { equalBytes, toHex } from "../chain/bytes.ts";
import {
  BROADCAST,
  decodeEnvelope,
  decodeHello,
  decodeNonce,
  encodeEnvelope,
  encodeHello,
  encodeNonce,
  type Envelope,
  type Hello,
  verifyEnvelope,
} from "./envelope.ts";
import { decodeFromPeer, Misbehaviour } from "./errors.ts";
import type { NodeIdentity } from "./identity.ts";
import { type RelayLimits, TokenBucket } from "./limits.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["camelid", "relay", "link"]);

/** WebSocket close codes used by links. */
export const CloseCode = {
  normal: 1000,
  unsupported: 1003,
  policy: 1008,
  tooBig: 1009,
  self: 4001,
  duplicate: 4002,
  discouraged: 4003,
  network: 4004,
  handshake: 4005,
  idle: 4006,
  full: 4007,
  slow: 4008,
  evicted: 4009,
} as const;

/** How long a connection that sent an oversized frame is kept for its close frame to leave, ms. */
const ABANDON_MS = 1000;

/** Code of the `ws` package's error for a frame over its maximum payload. */
const WS_TOO_BIG = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";

/** Link-local requests that are answered; a link with a send backlog gets no answer to them. */
const REQUEST_TYPES: ReadonlySet<Envelope["type"]> = new Set([
  "getheaders",
  "getdata",
  "getpeers",
  "ping",
]);

/**
 * What a link needs of its WebSocket: Deno's `WebSocket` (dialing, `Deno.upgradeWebSocket`) and
 * the `ws` package's server socket (relay/ws_server.ts) both provide it.
 */
export interface LinkSocket {
  /** `WebSocket.OPEN` etc. */
  readonly readyState: number;
  /** Bytes queued and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Frames arrive as ArrayBuffer when "arraybuffer". */
  binaryType: string;
  /** Sends one binary frame. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Open handler. */
  onopen: ((ev: Event) => unknown) | null;
  /** Frame handler. */
  onmessage: ((ev: MessageEvent) => unknown) | null;
  /** Close handler. */
  onclose: ((ev: CloseEvent) => unknown) | null;
  /** Error handler. */
  onerror: ((ev: Event) => unknown) | null;
  /** Stops reading from the network (the `ws` server's sockets; Deno's have none). */
  pause?(): void;
  /** Resumes reading. */
  resume?(): void;
  /** Destroys the connection at once. */
  terminate?(): void;
}

/** What a link needs from its node. */
export interface LinkHost {
  /** Node identity. */
  readonly identity: NodeIdentity;
  /** Network magic. */
  readonly magic: number;
  /** Limits. */
  readonly limits: RelayLimits;
  /** Our hello fields (services, listen URL, height, user agent). */
  helloInfo(): Omit<Hello, "echo" | "challenge">;
  /** Called once the handshake completes; returns a close code to refuse the peer. */
  onLinkOpen(link: Link): number | undefined;
  /**
   * Called for each envelope after the handshake, in arrival order, with the verdict
   * {@link verifyAhead} started for it (if any). May throw {@link Misbehaviour}.
   */
  onEnvelope(
    link: Link,
    env: Envelope,
    size: number,
    verdict?: SignatureVerdict,
  ): void | Promise<void>;
  /**
   * Starts checking the signature of an envelope as soon as its frame arrives, so that the checks
   * of frames waiting on every link go to the verify pool together (optional; undefined: no check
   * needed or started).
   */
  verifyAhead?(link: Link, env: Envelope): SignatureVerdict | undefined;
  /**
   * True for an envelope that answers our own request to this link (optional): it takes no token
   * of the link's message rate limit.
   */
  isAnswer?(link: Link, env: Envelope): boolean;
  /** Called for a violation on the link. */
  onMisbehaviour(link: Link, m: Misbehaviour): void;
  /** Called when the link closes. */
  onLinkClose(link: Link): void;
}

/**
 * A signature check started ahead of handling: true or false, or undefined when it could not be
 * made (a failed worker; the envelope is then checked inline). Never rejects.
 */
export type SignatureVerdict = Promise<boolean | undefined>;

/** A frame decoded on arrival: its rate token, taken then, and its signature check, if started. */
interface Arrival {
  env: Envelope;
  token: boolean;
  verdict?: SignatureVerdict;
}

let nextLinkId = 1;

/** One WebSocket link. */
export class Link {
  /** Process-unique id. */
  readonly id: number = nextLinkId++;
  /** Whether we dialed (outbound) or accepted (inbound). */
  readonly direction: "inbound" | "outbound";
  /** Remote IP address (inbound) or host (outbound). */
  readonly remoteIp: string;
  /** Base URL we dialed (outbound), or the peer's advertised URL after hello. */
  url: string;
  /** Peer key after the handshake. */
  peerKey: Uint8Array | null = null;
  /** Hex of the peer key after the handshake. */
  peerKeyHex = "";
  /** The peer's hello. */
  hello: Hello | null = null;
  /** Link state. */
  state: "handshake" | "open" | "closed" = "handshake";
  /** Misbehaviour points accumulated on this link. */
  misbehaviour = 0;
  /** Last time anything arrived, ms. */
  lastReceived: number = Date.now();
  /** Time the link opened, ms. */
  readonly openedAt: number = Date.now();
  /** Round-trip time of the last ping, ms. */
  rttMs = -1;
  /** Messages received, sent, and not sent because the peer does not read. */
  stats = { received: 0, sent: 0, dropped: 0 };
  /** Last time the peer sent a block new to us, ms (0: never): protects it from eviction. */
  lastBlockAt = 0;
  /** Last time the peer sent a transaction new to our mempool, ms (0: never). */
  lastTxAt = 0;

  readonly #ws: LinkSocket;
  readonly #host: LinkHost;
  readonly #bucket: TokenBucket;
  readonly #myChallenge: Uint8Array;
  #pingNonce: bigint | null = null;
  #pingSent = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #queuedBytes = 0;
  #paused = false;
  #backlogSince = 0;

  /**
   * Wraps a WebSocket. For inbound links `peerChallenge` is the dialer's challenge from the URL;
   * for outbound links `myChallenge` is the challenge we put in the URL.
   */
  constructor(opts: {
    ws: LinkSocket;
    host: LinkHost;
    direction: "inbound" | "outbound";
    remoteIp: string;
    url?: string;
    myChallenge: Uint8Array;
    peerChallenge?: Uint8Array;
  }) {
    this.#ws = opts.ws;
    this.#ws.binaryType = "arraybuffer";
    this.#host = opts.host;
    this.direction = opts.direction;
    this.remoteIp = opts.remoteIp;
    this.url = opts.url ?? "";
    this.#myChallenge = opts.myChallenge;
    const l = opts.host.limits;
    this.#bucket = new TokenBucket(l.messagesPerSecond, l.messageBurst);
    const ws = this.#ws;
    ws.onopen = () => {
      if (this.direction === "inbound") this.#sendHello(opts.peerChallenge!, this.#myChallenge);
    };
    ws.onmessage = (ev) => this.#onFrame(ev);
    ws.onclose = () => this.#closed();
    ws.onerror = (ev) => {
      // The `ws` server (relay/ws_upgrade.ts) refuses an oversized frame at its header.
      if ((ev as { error?: { code?: string } }).error?.code !== WS_TOO_BIG) return;
      this.#tooBig("frame");
      // ws then reads (and drops) the rest while it waits for the peer's close frame: stop
      // reading once its close frame (1009) is on its way, and drop the connection soon after.
      setTimeout(() => ws.pause?.(), 0);
      setTimeout(() => ws.terminate?.(), ABANDON_MS);
    };
    if (ws.readyState === WebSocket.OPEN && this.direction === "inbound") {
      this.#sendHello(opts.peerChallenge!, this.#myChallenge);
    }
    const handshakeDeadline = Date.now() + opts.host.limits.handshakeTimeoutMs;
    this.#timer = setInterval(() => this.#tick(handshakeDeadline), 1000);
  }

  /** Hex key or a placeholder before the handshake, for logs. */
  get label(): string {
    return this.peerKeyHex ? this.peerKeyHex.slice(0, 12) : `link#${this.id}`;
  }

  #sendHello(echo: Uint8Array, challenge: Uint8Array): void {
    const info = this.#host.helloInfo();
    const payload = encodeHello({ ...info, echo, challenge });
    this.#sendRaw(
      this.#host.identity.sign({
        magic: this.#host.magic,
        type: "hello",
        to: this.peerKey ?? BROADCAST,
        payload,
      }),
    );
  }

  #tick(handshakeDeadline: number): void {
    const now = Date.now();
    if (this.state === "handshake" && now > handshakeDeadline) {
      this.close(CloseCode.handshake, "handshake timeout");
      return;
    }
    if (this.state !== "open") return;
    const l = this.#host.limits;
    if (this.backlogged && now - this.#backlogSince > l.backlogTimeoutMs) {
      this.close(CloseCode.slow, "not reading");
      return;
    }
    if (now - this.lastReceived > l.idleTimeoutMs) {
      this.close(CloseCode.idle, "idle");
      return;
    }
    if (this.#pingNonce === null && now - this.#pingSent >= l.pingIntervalMs) {
      this.#pingNonce = BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 52)));
      this.#pingSent = now;
      this.send("ping", encodeNonce(this.#pingNonce));
    }
  }

  #sendRaw(env: Envelope): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.backlogged) {
      this.stats.dropped++;
      return;
    }
    try {
      this.#ws.send(encodeEnvelope(env));
      this.stats.sent++;
    } catch {
      // The socket closed under us; onclose cleans up.
    }
  }

  /** Bytes queued on the socket and not yet sent. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /**
   * Whether the peer has more than `maxLinkBacklogBytes` unsent: nothing more is sent to it and its
   * requests go unanswered until it reads; after `backlogTimeoutMs` of that it is disconnected.
   */
  get backlogged(): boolean {
    if (this.#ws.bufferedAmount <= this.#host.limits.maxLinkBacklogBytes) {
      this.#backlogSince = 0;
      return false;
    }
    if (!this.#backlogSince) this.#backlogSince = Date.now();
    return true;
  }

  /** Sends an envelope as is (for forwarding). */
  forward(env: Envelope): void {
    if (this.state === "open") this.#sendRaw(env);
  }

  /** Signs and sends a link-local message to the peer. */
  send(type: Envelope["type"], payload: Uint8Array): void {
    if (this.state !== "open" || !this.peerKey) return;
    if (this.backlogged) {
      this.stats.dropped++;
      return;
    }
    this.#sendRaw(
      this.#host.identity.sign({ magic: this.#host.magic, type, to: this.peerKey, payload }),
    );
  }

  /** Closes the link. */
  close(code: number = CloseCode.normal, reason = ""): void {
    if (this.state === "closed") return;
    try {
      this.#ws.close(code, reason.slice(0, 100));
    } catch {
      // already closing
    }
    this.#closed();
  }

  #closed(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearInterval(this.#timer);
    this.#host.onLinkClose(this);
  }

  #tooBig(what: string): void {
    this.close(CloseCode.tooBig, "envelope too large");
    this.#misbehave(new Misbehaviour("envelope/too-large", `${what} over the envelope limit`, 100));
  }

  #misbehave(m: Misbehaviour): void {
    this.#host.onMisbehaviour(this, m);
  }

  #onFrame(ev: MessageEvent): void {
    if (this.state === "closed") return;
    const data = ev.data;
    if (!(data instanceof ArrayBuffer)) {
      this.close(CloseCode.unsupported, "binary frames only");
      this.#misbehave(new Misbehaviour("link/text-frame", "text frames are not allowed", 100));
      return;
    }
    if (data.byteLength > this.#host.limits.maxEnvelopeBytes) {
      this.#tooBig(`frame of ${data.byteLength} bytes`);
      return;
    }
    this.lastReceived = Date.now();
    this.stats.received++;
    const bytes = new Uint8Array(data);
    // Frames are handled in order, one at a time. Past one envelope's worth waiting, a socket
    // that can stop reading does (TCP pushes back on the peer); on one that cannot, a peer that
    // sends faster than it is handled may have at most maxLinkQueueBytes waiting.
    const l = this.#host.limits;
    this.#queuedBytes += bytes.length;
    if (this.#ws.pause && !this.#paused && this.#queuedBytes > l.maxEnvelopeBytes) {
      this.#paused = true;
      this.#ws.pause();
    }
    if (this.#queuedBytes > l.maxLinkQueueBytes) {
      this.close(CloseCode.policy, "sending faster than handled");
      this.#misbehave(
        new Misbehaviour("link/queue-full", `over ${this.#queuedBytes} bytes unhandled`, 20),
      );
      return;
    }
    const arrival = this.state === "open" ? this.#arrive(bytes) : undefined;
    this.#queue = this.#queue.then(() => this.#handle(bytes, arrival)).catch((e) => {
      log.warn("link {peer}: {error}", { peer: this.label, error: String(e) });
    }).finally(() => {
      this.#queuedBytes -= bytes.length;
      if (this.#paused && this.#queuedBytes <= l.maxEnvelopeBytes) {
        this.#paused = false;
        this.#ws.resume?.();
      }
    });
  }

  /**
   * Decodes a frame of an open link as it arrives, takes its rate token and starts its signature
   * check (handled later, in order, by {@link #dispatch}). Undefined for a frame that does not
   * decode: #dispatch decodes it again and charges the peer then, in order.
   */
  #arrive(bytes: Uint8Array): Arrival | undefined {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes, this.#host.limits.maxEnvelopeBytes);
    } catch {
      return undefined;
    }
    const token = this.#takeToken(env);
    const checked = token && env.magic === this.#host.magic && env.type !== "ping" &&
      env.type !== "pong" && !(REQUEST_TYPES.has(env.type) && this.backlogged);
    return { env, token, verdict: checked ? this.#host.verifyAhead?.(this, env) : undefined };
  }

  /** Whether `env` may be handled under the message rate limit (answers to us always may). */
  #takeToken(env: Envelope): boolean {
    return this.#host.isAnswer?.(this, env) === true || this.#bucket.take();
  }

  async #handle(bytes: Uint8Array, arrival: Arrival | undefined): Promise<void> {
    if (this.state === "closed") return;
    try {
      await this.#dispatch(bytes, arrival);
    } catch (e) {
      if (e instanceof Misbehaviour) this.#misbehave(e);
      else throw e;
    }
  }

  async #dispatch(bytes: Uint8Array, arrival: Arrival | undefined): Promise<void> {
    const max = this.#host.limits.maxEnvelopeBytes;
    const env = arrival?.env ?? decodeFromPeer((b) => decodeEnvelope(b, max), bytes);
    if (env.magic !== this.#host.magic) {
      this.close(CloseCode.network, "wrong network");
      return;
    }
    if (this.state === "handshake") {
      this.#handshake(env);
      return;
    }
    if (!(arrival ? arrival.token : this.#takeToken(env))) {
      throw new Misbehaviour("rate/limited", "message rate exceeded", 10);
    }
    // A peer that does not read what we send gets no answers until it does.
    if (REQUEST_TYPES.has(env.type) && this.backlogged) {
      this.stats.dropped++;
      return;
    }
    if (env.type === "ping" || env.type === "pong") {
      this.#onPingPong(env);
      return;
    }
    await this.#host.onEnvelope(this, env, bytes.length, arrival?.verdict);
  }

  #onPingPong(env: Envelope): void {
    if (!equalBytes(env.from, this.peerKey!)) {
      throw new Misbehaviour("link/from", "link message from another key", 50);
    }
    const nonce = decodeFromPeer(decodeNonce, env.payload);
    // Pings are cheap link liveness: the link is authenticated by its hello, so their
    // signatures are not checked (everything else is).
    if (env.type === "ping") this.send("pong", env.payload);
    else if (this.#pingNonce !== null && nonce === this.#pingNonce) {
      this.rttMs = Date.now() - this.#pingSent;
      this.#pingNonce = null;
    }
  }

  #handshake(env: Envelope): void {
    const fail = (code: string, message: string) => {
      this.close(CloseCode.handshake, message);
      this.#misbehave(new Misbehaviour(code, message, 100));
    };
    if (env.type !== "hello") return fail("link/handshake", "expected hello");
    let hello: Hello;
    try {
      hello = decodeHello(env.payload);
    } catch (e) {
      return fail("envelope/malformed", (e as Error).message);
    }
    if (!equalBytes(hello.echo, this.#myChallenge)) {
      return fail("link/challenge", "wrong challenge");
    }
    if (Math.abs(env.timestamp - Date.now()) > this.#host.limits.maxTimestampSkewMs) {
      return fail("envelope/skew", "hello timestamp too far from our clock");
    }
    if (!verifyEnvelope(env)) return fail("envelope/signature", "bad hello signature");
    const keyHex = toHex(env.from);
    this.peerKey = env.from;
    this.peerKeyHex = keyHex;
    this.hello = hello;
    this.state = "open";
    if (this.direction === "outbound") this.#sendHello(hello.challenge, new Uint8Array(32));
    const refuse = this.#host.onLinkOpen(this);
    if (refuse !== undefined) this.close(refuse, "refused");
  }
}
