/**
 * @module The job pool: every node's public view of jobs, in Deno KV. Offers come from the network;
 * the chain moves a job through committed (stake confirmed), paid (escrow spent to the node's held
 * reward, shown with the height it is held until, its validation pool when it has one, and the
 * rewards and records of the validators the pool's distribution names), settled
 * (stake released), disputed (stake slashed, or the held reward or pool forfeited, by a fraud proof
 * or a confirmed user report) and expired (escrow refunded).
 * Client-side states (accepted, delivered, verified) live with the client.
 */

import { getLogger } from "@logtape/logtape";
import { fromHex, toHex } from "../chain/bytes.ts";
import { decodeJob, type Job } from "../chain/job.ts";
import { sha256d } from "../chain/hash.ts";
import type { ChainNode } from "../chain/node.ts";
import { decodeBlock } from "../chain/block.ts";
import { parseOutputScript } from "../chain/script.ts";
import type { RecordVerdict } from "../chain/validation_record.ts";
import { addressFromHash } from "../chain/keys.ts";
import { epochEnd } from "../chain/sprint.ts";
import { type Transaction, txid } from "../chain/tx.ts";
import {
  PATH_BAD_ANSWER,
  PATH_HELD_FRAUD,
  PATH_HELD_REPORT,
  PATH_NON_DELIVERY,
  PATH_PAY,
  PATH_POOL_DISTRIBUTE,
  PATH_REFUND,
  PATH_RELEASE,
  PATH_STAKE_FRAUD,
} from "../chain/spend.ts";
import { formatCoins } from "../chain/amount.ts";

const log = getLogger(["camelid", "jobs"]);

/** KV prefix of the pool: `[...JOB_PREFIX, jobId]` holds a {@link PoolEntry}. */
const JOB_PREFIX: Deno.KvKey = ["job"];

/** KV key of a job's pool entry. */
function jobKey(id: string): Deno.KvKey {
  return [...JOB_PREFIX, id];
}

/** Public job states. */
export type JobState = "offered" | "committed" | "paid" | "settled" | "disputed" | "expired";

/** A job as the pool stores it. */
export interface PoolEntry {
  /** Job id hex. */
  id: string;
  /** Canonical job hex (when the offer was seen). */
  job: string | null;
  /** Current state. */
  state: JobState;
  /** State changes, oldest first. */
  history: { state: JobState; at: number; height: number | null; txid?: string }[];
  /** Escrow outpoint and value. */
  escrow: { txid: string; vout: number; value: string } | null;
  /** Stake outpoint, value and commitment. */
  stake: { txid: string; vout: number; value: string; commitment: string; height: number } | null;
  /** The payment's held reward: outpoint, value and the height it is held until (absent: unpaid). */
  held?: { txid: string; vout: number; value: string; heldUntil: number };
  /** The payment's validation pool: outpoint and value (absent: unpaid, or paid without a pool). */
  pool?: { txid: string; vout: number; value: string };
  /**
   * The validators paid: each one's reward (outpoint, value) and record, from the pool's
   * distribution (absent: unpaid; none until the pool is distributed).
   */
  validators?: PaidValidator[];
}

/** A validator a payment rewards: its address, reward outpoint and value, and its record's counts. */
export interface PaidValidator {
  /** The validator's address (its reward's key hash). */
  address: string;
  /** Its reward's value. */
  value: string;
  /** Its record's verdict. */
  verdict: RecordVerdict;
  /** Positions it checked. */
  positions: number;
  /** Of those, positions over the margin level. */
  exceeded: number;
  /** The txid of the distribution that pays it. */
  txid: string;
  /** Its reward's output index (its record is the next output). */
  vout: number;
}

/**
 * The validators a pool's distribution `tx` (txid `tid`) rewards: its (validator reward, record)
 * pairs.
 */
function paidValidators(tx: Transaction, tid: string): PaidValidator[] {
  const out: PaidValidator[] = [];
  tx.outputs.forEach((o, vout) => {
    const next = tx.outputs[vout + 1];
    if (!next) return;
    try {
      const reward = parseOutputScript(o.scriptPubKey);
      const record = parseOutputScript(next.scriptPubKey);
      if (reward.type !== "validator-reward" || record.type !== "validation-record") return;
      const { verdict, positions, exceeded } = record.record;
      const address = addressFromHash(reward.nodeHash);
      out.push({
        address,
        value: formatCoins(o.value),
        verdict,
        positions,
        exceeded,
        txid: tid,
        vout,
      });
    } catch { /* not a pair */ }
  });
  return out;
}

/** JSON form served by `/v1/jobs`. */
export function poolEntryJson(e: PoolEntry): Record<string, unknown> {
  let job: Record<string, unknown> | null = null;
  if (e.job) {
    const j: Job = decodeJob(fromHex(e.job));
    job = {
      modelId: toHex(j.modelId),
      promptTokens: j.promptTokens,
      seed: j.seed.toString(),
      maxTokens: j.maxTokens,
      temperature: j.temperature,
      topK: j.topK,
      topP: j.topP,
      timestamp: j.timestamp,
      expiryHeight: j.expiryHeight,
      clientKey: toHex(j.clientKey),
      contact: j.contact,
    };
  }
  return { ...e, job };
}

/** The job pool over a chain. */
export class JobPool {
  readonly #kv: Deno.Kv;
  readonly #chain: ChainNode;

  /** Creates a pool and follows the chain's new blocks. */
  constructor(kv: Deno.Kv, chain: ChainNode) {
    this.#kv = kv;
    this.#chain = chain;
    chain.events.addEventListener("block", (e) => {
      const { hash } = (e as CustomEvent).detail;
      this.#onBlock(hash).catch((err) =>
        log.error("Job pool update failed: {error}", { error: err.message })
      );
    });
  }

  /** Records an offer seen on the network (job bytes and its escrow outpoint). */
  async observeOffer(
    jobBytes: Uint8Array,
    escrow: { txid: string; vout: number },
  ): Promise<string> {
    decodeJob(jobBytes);
    const id = toHex(sha256d(jobBytes));
    const cur = await this.get(id);
    if (cur?.job) return id;
    const entry: PoolEntry = cur ??
      { id, job: null, state: "offered", history: [], escrow: null, stake: null };
    entry.job = toHex(jobBytes);
    if (!entry.escrow) entry.escrow = { ...escrow, value: "?" };
    if (entry.history.length === 0) {
      entry.history.push({ state: "offered", at: Date.now(), height: null });
    }
    await this.#kv.set(jobKey(id), entry);
    return id;
  }

  /** One job. */
  async get(id: string): Promise<PoolEntry | null> {
    return (await this.#kv.get<PoolEntry>(jobKey(id))).value;
  }

  /** Every job, newest offers first (bounded). */
  async list(limit = 200): Promise<PoolEntry[]> {
    const out: PoolEntry[] = [];
    for await (const e of this.#kv.list<PoolEntry>({ prefix: JOB_PREFIX })) out.push(e.value);
    out.sort((a, b) => (b.history[0]?.at ?? 0) - (a.history[0]?.at ?? 0));
    return out.slice(0, limit);
  }

  async #onBlock(hash: string): Promise<void> {
    const bytes = await this.#chain.getBlockBytes(hash);
    if (!bytes) return;
    const height = this.#chain.entry(hash)?.height ?? null;
    for (const tx of decodeBlock(bytes).txs) {
      if (tx.jobId.every((b) => b === 0)) continue;
      const id = toHex(tx.jobId);
      const entry: PoolEntry = (await this.get(id)) ??
        {
          id,
          job: null,
          state: "offered",
          history: [{ state: "offered", at: Date.now(), height }],
          escrow: null,
          stake: null,
        };
      const tid = txid(tx);
      const move = (state: JobState) => {
        if (entry.state === state) return;
        entry.state = state;
        entry.history.push({ state, at: Date.now(), height, txid: tid });
        log.info("Job {id} is {state} (tx {txid})", { id, state, txid: tid });
      };
      tx.outputs.forEach((o, vout) => {
        let s;
        try {
          s = parseOutputScript(o.scriptPubKey);
        } catch {
          return;
        }
        if (s.type === "job-escrow") {
          entry.escrow = { txid: tid, vout, value: formatCoins(o.value) };
        }
        if (s.type === "held-reward" && height !== null) {
          const heldUntil = epochEnd(this.#chain.params.sprint, height);
          entry.held = { txid: tid, vout, value: formatCoins(o.value), heldUntil };
          entry.validators = []; // a payment names none: only a pool's distribution does
        }
        if (s.type === "validation-pool") {
          entry.pool = { txid: tid, vout, value: formatCoins(o.value) };
        }
        if (s.type === "compute-stake") {
          entry.stake = {
            txid: tid,
            vout,
            value: formatCoins(o.value),
            commitment: toHex(s.commitment),
            height: height ?? 0,
          };
          move("committed");
        }
      });
      for (const input of tx.inputs) {
        const prev = `${toHex(input.prevout.txid)}:${input.prevout.vout}`;
        const path = input.scriptSig[0];
        if (entry.escrow && prev === `${entry.escrow.txid}:${entry.escrow.vout}`) {
          if (path === PATH_PAY) move("paid");
          else if (path === PATH_REFUND) move("expired");
        }
        if (entry.stake && prev === `${entry.stake.txid}:${entry.stake.vout}`) {
          if (path === PATH_RELEASE) move("settled");
          else if (
            path === PATH_STAKE_FRAUD || path === PATH_NON_DELIVERY || path === PATH_BAD_ANSWER
          ) {
            move("disputed");
          }
        }
        if (entry.held && prev === `${entry.held.txid}:${entry.held.vout}`) {
          if (path === PATH_HELD_FRAUD || path === PATH_HELD_REPORT) move("disputed");
        }
        if (entry.pool && prev === `${entry.pool.txid}:${entry.pool.vout}`) {
          if (path === PATH_POOL_DISTRIBUTE) entry.validators = paidValidators(tx, tid);
          else if (path === PATH_HELD_FRAUD) move("disputed");
        }
      }
      await this.#kv.set(jobKey(id), entry);
    }
  }
}
