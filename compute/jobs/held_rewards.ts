/**
 * @module The compute node's held rewards: a client's payment is the job's held reward output
 * (chain/script.ts `TEMPLATE_HELD_REWARD`), spendable by the node only from the end of the epoch it was
 * mined in (docs/protocol.md, "Held rewards"). Each is recorded in the node's KV before its payment is
 * broadcast, shown in `/v1/status` (`compute.heldRewards`: held until height H) and claimed to the
 * node's wallet at that height; one whose payment can no longer be mined (the escrow refunded or
 * slashed) or whose output is gone (claimed, or forfeited by a fraud proof) is dropped. The same book,
 * under its own KV prefix, keeps the node's validation pools (a payment's output 1, claimed at the
 * same height unless the client distributed it to the validators) and a validator's rewards
 * (validator_rewards.ts).
 */

import { getLogger } from "@logtape/logtape";
import { fromHex } from "../../chain/bytes.ts";
import { claimHeldTx } from "../../chain/job_tx.ts";
import { expireReportTx } from "../../chain/report_tx.ts";
import type { ChainNode } from "../../chain/node.ts";
import { payToAddressScript } from "../../chain/script.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";

const log = getLogger(["camelid", "compute"]);

/** Prefix of the held reward keys in the node's KV: `[HELD_REWARD, jobId]`. */
export const HELD_REWARD = "cheld";
/** Prefix of the executor's validation pools in the node's KV: `[VALIDATION_POOL, jobId]`. */
export const VALIDATION_POOL = "cpool";

/** A payment the node broadcast, held until the end of its epoch. */
export interface HeldReward {
  /** Job id (hex). */
  jobId: string;
  /** Txid of the payment. */
  payment: string;
  /** The reward's output of the payment (absent: 0, the executor's held reward). */
  vout?: number;
  /**
   * The coin the payment spends: the escrow (a validator's reward paid by a pool's distribution:
   * the pool); gone otherwise, the payment can no longer be mined.
   */
  escrow: { txid: string; vout: number };
  /** Value of the reward, base units. */
  value: bigint;
}

/** A held reward as `/v1/status` shows it. */
export interface HeldRewardStatus {
  /** Job id (hex). */
  jobId: string;
  /** Value, base units (decimal string). */
  units: string;
  /** Height of the block holding the payment; null while it is unconfirmed. */
  paidHeight: number | null;
  /** First height the node may claim it at; null while the payment is unconfirmed. */
  heldUntil: number | null;
}

/** Options of {@link HeldRewards}. */
export interface HeldRewardOptions {
  /** The node's chain (its KV holds the records). */
  chain: ChainNode;
  /** The node wallet's secret key (the reward's node key). */
  secretKey: Uint8Array;
  /** The node's reward address (claims pay it). */
  rewardAddress: string;
  /** Miner fee of a claim, base units. */
  fee: bigint;
  /** Where the records are in KV (default `[HELD_REWARD]`; each record under `[...prefix, jobId]`). */
  prefix?: Deno.KvKey;
  /** What the log lines call a reward (default "held reward"). */
  label?: string;
  /** What may have spent it, for the log (default "claimed, or forfeited by a fraud proof"). */
  spentBy?: string;
}

/** The node's held rewards, kept in KV and claimed as their epochs end. */
export class HeldRewards {
  readonly #o: HeldRewardOptions;
  readonly #prefix: Deno.KvKey;
  readonly #label: string;
  readonly #shown = new Map<string, HeldRewardStatus>();
  /** Jobs whose claim waits on an open report (logged once). */
  readonly #waiting = new Set<string>();

  /** Held rewards of the node in `options.chain`'s KV. */
  constructor(options: HeldRewardOptions) {
    this.#o = options;
    this.#prefix = options.prefix ?? [HELD_REWARD];
    this.#label = options.label ?? "held reward";
  }

  /** Records a payment before it is broadcast (idempotent). */
  async add(r: HeldReward): Promise<void> {
    await this.#o.chain.store.kv.set([...this.#prefix, r.jobId], r);
    this.#shown.set(r.jobId, {
      jobId: r.jobId,
      units: r.value.toString(),
      paidHeight: null,
      heldUntil: null,
    });
  }

  /** The held rewards as last seen (for `/v1/status`). */
  status(): HeldRewardStatus[] {
    return [...this.#shown.values()];
  }

  /** Per block: notes each payment's height, claims the rewards whose epoch ended, drops the gone. */
  async onBlock(): Promise<void> {
    for await (const e of this.#o.chain.store.kv.list<HeldReward>({ prefix: this.#prefix })) {
      await this.#step(e.value);
    }
  }

  async #step(r: HeldReward): Promise<void> {
    const { chain } = this.#o;
    const found = await chain.getTransaction(r.payment);
    if (!found) {
      const escrow = (await chain.store.getCoins([r.escrow]))[0];
      if (!escrow) {
        log.info("Job {id}: the payment can no longer be mined (escrow spent otherwise)", {
          id: r.jobId,
        });
        await this.#drop(r);
      }
      return;
    }
    const paidHeight = found.height;
    const heldUntil = paidHeight === null ? null : epochEnd(chain.params.sprint, paidHeight);
    this.#shown.set(r.jobId, { jobId: r.jobId, units: r.value.toString(), paidHeight, heldUntil });
    if (heldUntil === null) return;
    const vout = r.vout ?? 0;
    const coin = (await chain.store.getCoins([{ txid: r.payment, vout }]))[0];
    if (!coin) {
      log.info("Job {id}: the {what} is spent ({how})", {
        id: r.jobId,
        what: this.#label,
        how: this.#o.spentBy ?? "claimed, or forfeited by a fraud proof",
      });
      return await this.#drop(r);
    }
    if (chain.tip().height + 1 < heldUntil || chain.mempool.spender(r.payment, vout)) return;
    if (await this.#reportsOpen(r, vout, heldUntil)) return;
    const tx = claimHeldTx(
      { txid: r.payment, vout, value: coin.value, scriptPubKey: coin.scriptPubKey },
      { payTo: payToAddressScript(this.#o.rewardAddress), fee: this.#o.fee },
      fromHex(r.jobId, 32),
      this.#o.secretKey,
    );
    try {
      await chain.processTx(encodeTransaction(tx));
      log.info("Job {id}: {what} claimed ({txid})", {
        id: r.jobId,
        what: this.#label,
        txid: txid(tx),
      });
    } catch (e) {
      log.warn("Job {id}: {what} not claimed: {error}", {
        id: r.jobId,
        what: this.#label,
        error: (e as Error).message,
      });
    }
  }

  /**
   * True while a user report's bond names the reward (consensus holds its CLAIM:
   * `job/report-pending`): the report's client resolves it, or from the reward's epoch end + the
   * report window the node takes each bond left (EXPIRE, to its reward address) and claims after.
   */
  async #reportsOpen(r: HeldReward, vout: number, heldUntil: number): Promise<boolean> {
    const { chain } = this.#o;
    const bonds = await chain.store.reportBonds(r.payment, vout);
    if (bonds.length === 0) return false;
    const expiresAt = heldUntil + chain.params.reportWindow;
    if (chain.tip().height + 1 < expiresAt) {
      if (!this.#waiting.has(r.jobId)) {
        this.#waiting.add(r.jobId);
        log.info(
          "Job {id}: a user report on the {what} is open; the claim waits for its resolution, or " +
            "for height {height}, from which the node takes the bond",
          { id: r.jobId, what: this.#label, height: expiresAt },
        );
      }
      return true;
    }
    for (const b of bonds) {
      if (chain.mempool.spender(b.txid, b.vout)) continue;
      // A bond is at least the network's report fee; the claim fee may be more (dev): half of it.
      const fee = b.coin.value > 2n * this.#o.fee ? this.#o.fee : b.coin.value / 2n;
      try {
        const tx = expireReportTx(
          { txid: b.txid, vout: b.vout, value: b.coin.value, scriptPubKey: b.coin.scriptPubKey },
          { payTo: payToAddressScript(this.#o.rewardAddress), fee },
          fromHex(r.jobId, 32),
          this.#o.secretKey,
        );
        await chain.processTx(encodeTransaction(tx));
        log.info("Job {id}: the unresolved report's bond taken ({txid})", {
          id: r.jobId,
          txid: txid(tx),
        });
      } catch (e) {
        log.warn("Job {id}: the report's bond not taken: {error}", {
          id: r.jobId,
          error: (e as Error).message,
        });
      }
    }
    return true;
  }

  async #drop(r: HeldReward): Promise<void> {
    this.#shown.delete(r.jobId);
    await this.#o.chain.store.kv.delete([...this.#prefix, r.jobId]);
  }
}
