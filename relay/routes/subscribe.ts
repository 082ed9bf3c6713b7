/**
 * @module `GET /v1/subscribe`: a light client's WebSocket subscription (relay/subscription_protocol.ts).
 * The node sends a challenge; the client signs it with the key whose inbox it wants and names the
 * last inbox sequence number it handled; the node sends what the inbox holds after it, then pushes
 * each new message to that key, each transaction of a watched job (mempool and block) and each new
 * tip. Bounded like a peer: subscriptions per address and in total, frame size, the per-address
 * message bucket for client frames, and the link backlog bound for what it sends (a slow reader is
 * closed and resumes from its sequence number, losing nothing the inbox still holds).
 */

import { Hono } from "hono";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { decodeBlock } from "../../chain/block.ts";
import { verifySignature } from "../../chain/keys.ts";
import { decodeTransaction, type Transaction, txid as txidOf } from "../../chain/tx.ts";
import { envelopeToJson, isPeerKey } from "../envelope.ts";
import { Misbehaviour, RequestError } from "../errors.ts";
import type { InboxEntry } from "../inbox.ts";
import { notDiscouraged } from "../middleware/not_discouraged.ts";
import { remoteIp } from "../middleware/remote_ip.ts";
import { started } from "../middleware/started.ts";
import type { NetworkService } from "../network.ts";
import { isLoopback } from "../peers.ts";
import {
  type AuthFrame,
  isJobIdHex,
  MAX_SUBSCRIBER_FRAME,
  MAX_WATCHED_JOBS,
  type NodeFrame,
  SUBSCRIBE_AUTH_TIMEOUT_MS,
  subscribeChallengePreimage,
  SubscribeClose,
} from "../subscription_protocol.ts";
import { upgradeOf } from "../upgrade.ts";
import { MAX_MESSAGES_PER_GET } from "./messages.ts";

/** Subscriptions from one address (loopback: unbounded unless `rateLimitLoopback`). */
export const MAX_SUBSCRIPTIONS_PER_IP = 16;
/** Subscriptions in total. */
export const MAX_SUBSCRIPTIONS = 512;

/** The part of a WebSocket a subscription uses (Deno's, the `ws` package's, a browser's). */
interface TextSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
}

/** One authenticated (or authenticating) subscriber. */
class Subscriber {
  key = "";
  readonly jobs = new Set<string>();
  tips = false;
  lastSeq = 0;
  constructor(readonly ws: TextSocket, readonly ip: string, readonly hub: SubscriptionHub) {}

  /** Sends a frame; closes a subscriber whose unsent backlog passed the link bound. */
  send(frame: NodeFrame): void {
    if (this.ws.readyState !== 1) return;
    this.ws.send(JSON.stringify(frame));
    if (this.ws.bufferedAmount > this.hub.network.limits.maxLinkBacklogBytes) {
      this.ws.close(SubscribeClose.backlog, "backlog: resume from your last sequence number");
    }
  }

  /** Sends inbox entries above the last sent, in order. */
  sendEntry(e: InboxEntry): void {
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    this.send({ t: "message", seq: e.seq, envelope: envelopeToJson(e.envelope) });
  }
}

/** Every subscriber of one node, and the node events they hear of. */
class SubscriptionHub {
  readonly byKey = new Map<string, Set<Subscriber>>();
  readonly all = new Set<Subscriber>();
  readonly perIp = new Map<string, number>();
  #listening = false;

  constructor(readonly network: NetworkService) {}

  /** Refuses a subscription past the per-address or total bound. */
  checkSlot(ip: string): void {
    if (this.all.size >= MAX_SUBSCRIPTIONS) {
      throw new RequestError("peer/full", "no subscription slot is left on this node");
    }
    const exempt = !this.network.limits.rateLimitLoopback && isLoopback(ip);
    if (!exempt && (this.perIp.get(ip) ?? 0) >= MAX_SUBSCRIPTIONS_PER_IP) {
      throw new RequestError("peer/ip-full", "too many subscriptions from this address");
    }
  }

  add(s: Subscriber): void {
    this.all.add(s);
    this.perIp.set(s.ip, (this.perIp.get(s.ip) ?? 0) + 1);
    this.#listen();
  }

  remove(s: Subscriber): void {
    if (!this.all.delete(s)) return;
    const n = (this.perIp.get(s.ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(s.ip, n);
    else this.perIp.delete(s.ip);
    const set = this.byKey.get(s.key);
    set?.delete(s);
    if (set && set.size === 0) this.byKey.delete(s.key);
  }

  /** Starts following the inbox and the chain (once, after the network started). */
  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.network.inbox.onPut((e) => {
      for (const s of this.byKey.get(e.recipient) ?? []) s.sendEntry(e);
    });
    const chain = this.network.chain;
    if (!chain) return;
    chain.events.addEventListener("block", (ev) => {
      const { hash, height } = (ev as CustomEvent<{ hash: string; height: number }>).detail;
      for (const s of this.all) if (s.tips) s.send({ t: "tip", height, hash });
      if (!this.#watching()) return;
      chain.getBlockBytes(hash).then((bytes) => {
        if (bytes) { for (const tx of decodeBlock(bytes).txs) this.#jobTx(tx, height); }
      }).catch(() => {});
    });
    chain.events.addEventListener("tx", (ev) => {
      if (!this.#watching()) return;
      const bytes = chain.getMempoolTxBytes((ev as CustomEvent<{ txid: string }>).detail.txid);
      if (bytes) this.#jobTx(decodeTransaction(bytes), null);
    });
  }

  #watching(): boolean {
    for (const s of this.all) if (s.jobs.size > 0) return true;
    return false;
  }

  #jobTx(tx: Transaction, height: number | null): void {
    if (tx.jobId.every((b) => b === 0)) return;
    const jobId = toHex(tx.jobId);
    let id: string | undefined;
    for (const s of this.all) {
      if (!s.jobs.has(jobId)) continue;
      id ??= txidOf(tx);
      s.send({ t: "job", jobId, txid: id, height });
    }
  }
}

/** Reads and bounds one client frame; null (and the socket closed) when it is not acceptable. */
function readFrame(s: Subscriber, data: unknown): Record<string, unknown> | null {
  const net = s.hub.network;
  const refuse = (code: number, reason: string, points: number) => {
    if (points) {
      net.scores.chargeAddress(s.ip, new Misbehaviour("subscribe/bad-frame", reason, points));
    }
    s.ws.close(code, reason);
    return null;
  };
  const exempt = !net.limits.rateLimitLoopback && isLoopback(s.ip);
  if (!exempt && !net.takeHttpToken(s.ip)) {
    return refuse(SubscribeClose.rateLimited, "frames too fast", 0);
  }
  if (typeof data !== "string" || data.length > MAX_SUBSCRIBER_FRAME) {
    return refuse(SubscribeClose.protocol, "frames are JSON text of at most 4096 bytes", 10);
  }
  try {
    const v = JSON.parse(data);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch { /* refused below */ }
  return refuse(SubscribeClose.protocol, "a frame is a JSON object", 10);
}

/** The job ids of a frame's `jobs` field, or null when malformed or past the bound. */
function jobIdsOf(s: Subscriber, jobs: unknown): string[] | null {
  if (jobs === undefined) return [];
  if (!Array.isArray(jobs) || !jobs.every(isJobIdHex)) return null;
  const fresh = jobs.filter((j) => !s.jobs.has(j));
  return s.jobs.size + fresh.length > MAX_WATCHED_JOBS ? null : fresh;
}

/** Checks the auth frame and starts the subscription: backlog first, then live. */
function authenticate(s: Subscriber, f: Record<string, unknown>, nonce: Uint8Array): boolean {
  const net = s.hub.network;
  const a = f as Partial<AuthFrame>;
  let key: Uint8Array;
  let sig: Uint8Array;
  try {
    key = fromHex(String(a.key), 33);
    sig = fromHex(String(a.sig), 64);
  } catch {
    return false;
  }
  const after = a.after ?? 0;
  const jobs = jobIdsOf(s, a.jobs);
  if (
    !isPeerKey(key) || !Number.isSafeInteger(after) || after < 0 || jobs === null ||
    (a.tips !== undefined && typeof a.tips !== "boolean") ||
    !verifySignature(sig, subscribeChallengePreimage(net.magic, nonce, key), key)
  ) {
    return false;
  }
  s.key = toHex(key);
  s.tips = !!a.tips;
  s.lastSeq = after;
  for (const j of jobs) s.jobs.add(j);
  // Backlog and live registration in one turn: no message can fall between them.
  for (;;) {
    const page = net.inbox.get(s.key, s.lastSeq, MAX_MESSAGES_PER_GET);
    for (const e of page) s.sendEntry(e);
    if (page.length < MAX_MESSAGES_PER_GET || s.ws.readyState !== 1) break;
  }
  let set = s.hub.byKey.get(s.key);
  if (!set) s.hub.byKey.set(s.key, set = new Set());
  set.add(s);
  const tip = net.chain?.tip() ?? { height: 0, hash: "" };
  s.send({ t: "ready", seq: s.lastSeq, height: tip.height, tip: tip.hash });
  return true;
}

/** Runs one subscription over an upgraded socket. */
function serve(hub: SubscriptionHub, ws: TextSocket, ip: string): void {
  const s = new Subscriber(ws, ip, hub);
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  hub.add(s);
  const authTimer = setTimeout(
    () => ws.close(SubscribeClose.authTimeout, "no auth in time"),
    SUBSCRIBE_AUTH_TIMEOUT_MS,
  );
  const hello = () => s.send({ t: "challenge", nonce: toHex(nonce), magic: hub.network.magic });
  if (ws.readyState === 1) hello();
  else ws.onopen = hello;
  ws.onmessage = (ev) => {
    const f = readFrame(s, ev.data);
    if (!f) return;
    if (f.t === "auth" && !s.key) {
      clearTimeout(authTimer);
      if (!authenticate(s, f, nonce)) {
        hub.network.scores.chargeAddress(
          ip,
          new Misbehaviour("subscribe/bad-auth", "bad subscription auth", 10),
        );
        ws.close(SubscribeClose.badAuth, "the signature does not prove the key");
      }
    } else if (f.t === "watch" && s.key) {
      const jobs = jobIdsOf(s, f.jobs);
      if (jobs === null) ws.close(SubscribeClose.protocol, "watch: at most 32 job ids, hex");
      else for (const j of jobs) s.jobs.add(j);
    } else ws.close(SubscribeClose.protocol, "auth first, then watch frames only");
  };
  ws.onclose = () => {
    clearTimeout(authTimer);
    hub.remove(s);
  };
  ws.onerror = () => {};
}

/** The subscription route of `network`. */
export function subscribeRoutes(network: NetworkService): Hono {
  const app = new Hono();
  const hub = new SubscriptionHub(network);
  app.get(
    "/v1/subscribe",
    started(() => network.started),
    notDiscouraged((ip) => network.table.isDiscouraged("ip", ip)),
    (c) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new RequestError("ws/upgrade", "expected a WebSocket upgrade");
      }
      const ip = remoteIp(c);
      hub.checkSlot(ip);
      const { socket, response } = upgradeOf(c.env)(c.req.raw);
      serve(hub, socket as unknown as TextSocket, ip);
      return response;
    },
  );
  return app;
}
