/**
 * @module A light client's subscription to its node (`/v1/subscribe`, relay/subscription_protocol.ts):
 * its inbox's messages, its jobs' transactions and new tips, pushed over a WebSocket. Authenticates
 * by signing the node's challenge, checks each envelope's signature itself, and reconnects after a
 * drop, resuming from the last inbox sequence number it handled so no message is lost (the node
 * keeps them for its inbox's TTL). Uses only the standard WebSocket: Deno, Node 22+ and browsers.
 */

import { fromHex, toHex } from "../chain/bytes.ts";
import { CamelidError } from "../chain/errors.ts";
import { publicKeyOf, signPreimage } from "../chain/keys.ts";
import { type Envelope, envelopeFromJson, verifyEnvelope } from "../relay/envelope.ts";
import {
  type JobTxFrame,
  MAX_WATCHED_JOBS,
  type NodeFrame,
  subscribeChallengePreimage,
  type TipFrame,
} from "../relay/subscription_protocol.ts";

/** The subscription could not be opened (codes `subscribe/...`). */
export class SubscriptionError extends CamelidError {}

/** Options of {@link Subscription.connect}. */
export interface SubscribeOptions {
  /** Push new tips (default true). */
  tips?: boolean;
  /** Job ids (hex) whose transactions to push. */
  jobs?: string[];
  /** How long the first connection may take before giving up (ms, default 3 s). */
  connectTimeoutMs?: number;
  /** Envelopes kept for listeners that start late (default 1024). */
  keep?: number;
}

/** A chain event the subscription pushes. */
export type ChainEvent = TipFrame | JobTxFrame;

/** An authenticated envelope and its inbox sequence number. */
export interface PushedMessage {
  /** Inbox sequence number on the node. */
  seq: number;
  /** The envelope (signature checked here). */
  envelope: Envelope;
}

const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 5_000;

/** The subscription of one key on one node; reconnects until {@link close}. */
export class Subscription {
  readonly #wsUrl: string;
  readonly #secretKey: Uint8Array;
  readonly #key: string;
  readonly #tips: boolean;
  readonly #jobs = new Set<string>();
  readonly #kept: PushedMessage[] = [];
  readonly #keep: number;
  readonly #messageListeners = new Set<(m: PushedMessage) => void>();
  readonly #eventListeners = new Set<(e: ChainEvent) => void>();
  #ws: WebSocket | null = null;
  #seq = 0;
  #closed = false;
  #backoff = RECONNECT_MIN_MS;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Connections made (1 + reconnects). */
  connections = 0;

  private constructor(nodeUrl: string, secretKey: Uint8Array, o: SubscribeOptions) {
    this.#wsUrl = `${nodeUrl.replace(/\/$/, "").replace(/^http/, "ws")}/v1/subscribe`;
    this.#secretKey = secretKey;
    this.#key = toHex(publicKeyOf(secretKey));
    this.#tips = o.tips ?? true;
    this.#keep = o.keep ?? 1024;
    for (const j of o.jobs ?? []) this.#jobs.add(j);
  }

  /**
   * Opens the subscription of `secretKey`'s key at the node `nodeUrl` (http or https URL); resolves
   * once the node has accepted it. Throws {@link SubscriptionError} `subscribe/unavailable` when the
   * first connection fails or times out (use HTTP polling then).
   */
  static async connect(
    nodeUrl: string,
    secretKey: Uint8Array,
    o: SubscribeOptions = {},
  ): Promise<Subscription> {
    const s = new Subscription(nodeUrl, secretKey, o);
    const timeout = o.connectTimeoutMs ?? 3_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        s.#open(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${timeout} ms`)), timeout);
        }),
      ]);
    } catch (e) {
      s.close();
      throw new SubscriptionError(
        "subscribe/unavailable",
        `cannot subscribe at ${s.#wsUrl}: ${(e as Error).message}`,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
    return s;
  }

  /** The last inbox sequence number received (resume point). */
  get seq(): number {
    return this.#seq;
  }

  /** Whether a connection is open and authenticated now. */
  get connected(): boolean {
    return this.#ws?.readyState === 1; // OPEN (no global WebSocket needed to ask)
  }

  /** Watches a job's transactions (at most {@link MAX_WATCHED_JOBS}). */
  watch(jobId: string): void {
    if (this.#jobs.has(jobId) || this.#jobs.size >= MAX_WATCHED_JOBS) return;
    this.#jobs.add(jobId);
    if (this.connected) this.#ws!.send(JSON.stringify({ t: "watch", jobs: [jobId] }));
  }

  /**
   * Calls `listener` with every message pushed from now on, after those kept so far (the last
   * `keep`); returns the call that stops it.
   */
  onMessage(listener: (m: PushedMessage) => void): () => void {
    for (const m of this.#kept) listener(m);
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** Calls `listener` with every tip and job transaction pushed; returns the call that stops it. */
  onEvent(listener: (e: ChainEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Resolves with the next chain event, or null after `timeoutMs`. */
  nextEvent(timeoutMs: number): Promise<ChainEvent | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stop();
        resolve(null);
      }, timeoutMs);
      const stop = this.onEvent((e) => {
        clearTimeout(timer);
        stop();
        resolve(e);
      });
    });
  }

  /** Closes the subscription for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#ws?.close(1000, "done");
    this.#ws = null;
  }

  /** Opens one connection; resolves when the node says ready, rejects when it closes before. */
  #open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.#wsUrl);
      this.#ws = ws;
      this.connections++;
      let ready = false;
      ws.onmessage = (ev) => {
        let f: NodeFrame;
        try {
          f = JSON.parse(String(ev.data));
        } catch {
          ws.close(4400, "not JSON");
          return;
        }
        if (f.t === "challenge") {
          const key = fromHex(this.#key, 33);
          const sig = signPreimage(
            subscribeChallengePreimage(f.magic, fromHex(f.nonce, 32), key),
            this.#secretKey,
          );
          ws.send(JSON.stringify({
            t: "auth",
            key: this.#key,
            sig: toHex(sig),
            after: this.#seq,
            jobs: [...this.#jobs],
            tips: this.#tips,
          }));
        } else if (f.t === "ready") {
          ready = true;
          this.#backoff = RECONNECT_MIN_MS;
          resolve();
        } else if (f.t === "message") this.#message(f.seq, f.envelope);
        else if (f.t === "tip" || f.t === "job") {
          for (const l of [...this.#eventListeners]) l(f);
        }
      };
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        if (this.#ws === ws) this.#ws = null;
        if (!ready) reject(new Error(`closed before ready (${ev.code} ${ev.reason})`));
        else if (!this.#closed) this.#reconnect();
      };
    });
  }

  #reconnect(): void {
    const wait = this.#backoff;
    this.#backoff = Math.min(RECONNECT_MAX_MS, this.#backoff * 2);
    this.#retry = setTimeout(() => {
      if (this.#closed) return;
      this.#open().catch(() => {
        if (!this.#closed) this.#reconnect();
      });
    }, wait);
  }

  #message(seq: number, json: unknown): void {
    if (!Number.isSafeInteger(seq) || seq <= this.#seq) return;
    this.#seq = seq;
    let envelope: Envelope;
    try {
      envelope = envelopeFromJson(json);
    } catch {
      return;
    }
    if (!verifyEnvelope(envelope)) return;
    const m = { seq, envelope };
    this.#kept.push(m);
    if (this.#kept.length > this.#keep) this.#kept.shift();
    for (const l of [...this.#messageListeners]) l(m);
  }
}
