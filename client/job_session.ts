/**
 * @module What every phase of a job shares: the client's node and keys, the network, the fee, the
 * deadline, the state reporter, the subscription that pushes messages and chain events
 * (client/subscription.ts), and the job's inbox (signed messages to the client: pushed, or polled
 * over HTTP while no subscription is connected).
 */

import { equalBytes, toHex } from "../chain/bytes.ts";
import { hash160 } from "../chain/hash.ts";
import { addressFromPublicKey, publicKeyOf } from "../chain/keys.ts";
import type { NetworkParams } from "../chain/params.ts";
import { createEnvelope, type Envelope } from "../relay/envelope.ts";
import type { NodeClient } from "../relay/client.ts";
import { JobClientError } from "./errors.ts";
import type { Subscription } from "./subscription.ts";
import type { JobStateName } from "./job_states.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type JobMessage,
} from "./job_messages.ts";

/** Reports a client state as it happens (one of the documented `JOB_STATES`). */
export type StateReporter = (state: JobStateName, detail: Record<string, unknown>) => void;

/** The client's side of one job, shared by its phases. */
export interface JobSession {
  /** The client's node. */
  node: NodeClient;
  /** The node's network. */
  params: NetworkParams;
  /** The client wallet's secret key. */
  secretKey: Uint8Array;
  /** Its public key. */
  clientKey: Uint8Array;
  /** HASH160 of the public key. */
  clientHash: Uint8Array;
  /** Its address. */
  address: string;
  /** Miner fee per transaction, base units. */
  fee: bigint;
  /** Reports states. */
  say: StateReporter;
  /** How long the job, and each wait for the chain, may take (ms). */
  timeoutMs: number;
  /** When the whole job gives up (ms since the epoch). */
  deadline: number;
  /**
   * Runs a coin selection and its broadcast with the wallet's coins reserved (e.g. under a lock file
   * shared by every process using the wallet); absent = unguarded.
   */
  spendLock?: <T>(spend: () => Promise<T>) => Promise<T>;
  /** Pushed messages and chain events; absent = HTTP polling. */
  events?: Subscription;
}

/** A session for `secretKey` on `node`'s network, giving up after `timeoutMs`. */
export function openSession(
  node: NodeClient,
  params: NetworkParams,
  secretKey: Uint8Array,
  fee: bigint,
  timeoutMs: number,
  say: StateReporter = () => {},
): JobSession {
  const clientKey = publicKeyOf(secretKey);
  return {
    node,
    params,
    secretKey,
    clientKey,
    clientHash: hash160(clientKey),
    address: addressFromPublicKey(clientKey),
    fee,
    say,
    timeoutMs,
    deadline: Date.now() + timeoutMs,
  };
}

/** Milliseconds left before the session's deadline (at least 1). */
export function timeLeft(s: JobSession): number {
  return Math.max(1, s.deadline - Date.now());
}

/** Signs and posts a job message: to one key, or to everyone when `to` is absent. */
export async function sendJobMessage(s: JobSession, m: JobMessage, to?: Uint8Array): Promise<void> {
  const env = createEnvelope(
    { magic: s.params.magic, type: "direct", to, payload: encodeJobMessage(m) },
    s.clientKey,
    s.secretKey,
  );
  await s.node.postEnvelope(env);
}

/** A job message and who signed it. */
export interface ReceivedMessage {
  /** The sender's public key. */
  from: Uint8Array;
  /** The message. */
  m: JobMessage;
}

/** How often the inbox is polled over HTTP while no subscription is connected (ms). */
export const INBOX_POLL_MS = 250;

/**
 * The job messages of one job in the client's inbox on its node, each once, in order: pushed by
 * the subscription when one is connected, else polled over HTTP every {@link INBOX_POLL_MS}.
 */
export class JobInbox {
  readonly #node: NodeClient;
  readonly #key: Uint8Array;
  readonly #jobId: string;
  readonly #queue: ReceivedMessage[] = [];
  readonly #seen = new Set<string>();
  readonly #events: Subscription | undefined;
  #wake: (() => void) | null = null;
  #after = 0;

  /** Reads messages to `key` about job `jobId` (hex), pushed by `events` when given. */
  constructor(node: NodeClient, key: Uint8Array, jobId: string, events?: Subscription) {
    this.#node = node;
    this.#key = key;
    this.#jobId = jobId;
    this.#events = events;
    events?.onMessage(({ envelope }) => this.#take(envelope));
  }

  #take(env: Envelope): void {
    const k = toHex(env.from) + toHex(env.id);
    if (this.#seen.has(k) || env.type !== "direct" || !isJobPayload(env.payload)) return;
    this.#seen.add(k);
    try {
      const m = decodeJobMessage(env.payload);
      if ("jobId" in m && m.jobId === this.#jobId) this.#queue.push({ from: env.from, m });
    } catch { /* not ours */ }
    if (this.#queue.length) this.#wake?.();
  }

  /** The next message; `JobClientError` `job/timeout` when none comes within `timeoutMs`. */
  async next(timeoutMs: number): Promise<ReceivedMessage> {
    const end = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (Date.now() > end) {
        throw new JobClientError("job/timeout", "no answer from a compute node in time");
      }
      const pushed = this.#events?.connected;
      if (!pushed) {
        for (const { seq, envelope } of await this.#node.messages(this.#key, this.#after)) {
          this.#after = Math.max(this.#after, seq);
          this.#take(envelope);
        }
      }
      if (this.#queue.length > 0) break;
      // Pushed: sleep until a message comes (re-checking the connection now and then).
      const wait = pushed ? Math.min(1_000, Math.max(1, end - Date.now())) : INBOX_POLL_MS;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = null;
    }
    return this.#queue.shift()!;
  }

  /** The next message of type `t` from `from` (others are dropped) within `timeoutMs`. */
  async nextFrom<T extends JobMessage["t"]>(
    t: T,
    from: Uint8Array,
    timeoutMs: number,
  ): Promise<Extract<JobMessage, { t: T }>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const got = await this.next(Math.max(1, end - Date.now()));
      if (got.m.t === t && equalBytes(got.from, from)) {
        return got.m as Extract<JobMessage, { t: T }>;
      }
    }
  }
}

/** How often the chain is polled over HTTP while no subscription is connected (ms). */
export const CHAIN_POLL_MS = 500;

/**
 * Waits for the chain to move: the next pushed tip or job transaction (at most 5 s, a safety net),
 * else {@link CHAIN_POLL_MS} while no subscription is connected.
 */
export async function chainMoved(s: JobSession): Promise<void> {
  if (s.events?.connected) await s.events.nextEvent(5_000);
  else await new Promise((r) => setTimeout(r, CHAIN_POLL_MS));
}

/**
 * Checks `check` after each chain move ({@link chainMoved}) until it holds; `JobClientError`
 * `job/timeout` after `timeoutMs`.
 */
export async function pollUntil(s: JobSession, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + s.timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) {
      throw new JobClientError("job/timeout", "gave up waiting for the chain");
    }
    await chainMoved(s);
  }
}
