/**
 * @module What every phase of a job shares: the client's node and keys, the network, the fee, the
 * deadline, the state reporter, and the job's inbox (signed messages to the client, polled over HTTP).
 */

import { equalBytes, toHex } from "../chain/bytes.ts";
import { hash160 } from "../chain/hash.ts";
import { addressFromPublicKey, publicKeyOf } from "../chain/keys.ts";
import type { NetworkParams } from "../chain/params.ts";
import { createEnvelope } from "../relay/envelope.ts";
import type { NodeClient } from "../relay/client.ts";
import { JobClientError } from "./errors.ts";
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

/** The job messages of one job in the client's inbox on its node, each once, in order. */
export class JobInbox {
  readonly #node: NodeClient;
  readonly #key: Uint8Array;
  readonly #jobId: string;
  readonly #queue: ReceivedMessage[] = [];
  readonly #seen = new Set<string>();
  #after = 0;

  /** Reads messages to `key` about job `jobId` (hex). */
  constructor(node: NodeClient, key: Uint8Array, jobId: string) {
    this.#node = node;
    this.#key = key;
    this.#jobId = jobId;
  }

  /** The next message; `JobClientError` `job/timeout` when none comes within `timeoutMs`. */
  async next(timeoutMs: number): Promise<ReceivedMessage> {
    const end = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (Date.now() > end) {
        throw new JobClientError("job/timeout", "no answer from a compute node in time");
      }
      for (const { seq, envelope: env } of await this.#node.messages(this.#key, this.#after)) {
        this.#after = Math.max(this.#after, seq);
        const k = toHex(env.from) + toHex(env.id);
        if (this.#seen.has(k) || env.type !== "direct" || !isJobPayload(env.payload)) continue;
        this.#seen.add(k);
        try {
          const m = decodeJobMessage(env.payload);
          if ("jobId" in m && m.jobId === this.#jobId) this.#queue.push({ from: env.from, m });
        } catch { /* not ours */ }
      }
      if (this.#queue.length === 0) await new Promise((r) => setTimeout(r, 250));
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

/** Polls `check` every half second until it holds; `JobClientError` `job/timeout` after `timeoutMs`. */
export async function pollUntil(s: JobSession, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + s.timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) {
      throw new JobClientError("job/timeout", "gave up waiting for the chain");
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
