/**
 * @module A validator's node keeps the distributions that pay it (issue 16): after its outsourced
 * check a client signs a DISTRIBUTE of the job's validation pool to the due validators, but the
 * payment holding that pool is broadcast by the executor's node only a dispute window after its
 * stake (main: about an hour), longer than the client's node holds an orphan (20 minutes), and the
 * executor has no interest in broadcasting the distribution. So the client also hands it to each
 * validator it pays (`distribution` message), and that validator's node keeps it in KV (one per
 * pool and client; a restart keeps it) and, on each block, submits it once the payment is in its
 * chain or mempool, until it is mined, the pool is gone, or the pool's epoch ended.
 */

import { getLogger } from "@logtape/logtape";
import { equalBytes, fromHex, toHex } from "../../chain/bytes.ts";
import { CamelidError } from "../../chain/errors.ts";
import { hash160 } from "../../chain/hash.ts";
import { parseSigned, PATH_POOL_DISTRIBUTE } from "../../chain/job_unlock.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import type { ChainNode } from "../../chain/node.ts";
import { parseOutputScript, TEMPLATE_VALIDATOR_REWARD } from "../../chain/script.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { decodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import { MAX_PAID_VALIDATORS } from "../../chain/validation_record.ts";
import type { DistributionMessage } from "../../client/job_messages.ts";

const log = getLogger(["camelid", "compute"]);

/** Prefix of kept distributions in KV: `[DISTRIBUTION, key hash hex, pool txid, pool vout, client key hex]`. */
export const DISTRIBUTION = "cdist";
/** Distributions kept at most from one client (sender). */
export const MAX_KEPT_PER_SENDER = 64;
/** Distributions kept at most in all. */
export const MAX_KEPT = 1024;

/** Why a distribution is not kept (decisions read these codes). */
export type DistributionRefusal =
  /** Not a transaction stamped with the message's job id. */
  | "distribution/malformed"
  /** No input (or more than one) spends a pool on the DISTRIBUTE path. */
  | "distribution/not-distribute"
  /** The DISTRIBUTE is not signed by the sender's key, or a reward names another client or job. */
  | "distribution/not-sender"
  /** No validator reward (0x08) of it pays this node's key, or it pays more than 8. */
  | "distribution/not-paying"
  /** The sender's or the node's bound of kept distributions is reached. */
  | "distribution/full";

/** A distribution kept in KV. */
interface KeptDistribution {
  /** Job id (hex). */
  jobId: string;
  /** The pool it spends. */
  pool: { txid: string; vout: number };
  /** Its client's key (hex): the sender, and the DISTRIBUTE's signer. */
  client: string;
  /** The signed transaction. */
  tx: Uint8Array;
  /** Its txid. */
  txid: string;
  /** What it pays this node's key, base units. */
  units: bigint;
  /** The tip's height when it came. */
  height: number;
}

/** Refusals of a submission that a later block may cure: the distribution stays kept. */
const RETRYABLE_CODES = new Set([
  "tx/missing-inputs",
  "mempool/conflict",
  "mempool/full",
  "mempool/min-fee",
]);

/** The DISTRIBUTE input's index and signer, or null when none (or more than one) parses as such. */
function distributeInput(tx: Transaction): { index: number; pubkey: Uint8Array } | null {
  const found = tx.inputs.flatMap((input, index) => {
    try {
      return [{
        index,
        pubkey: parseSigned(input.scriptSig, PATH_POOL_DISTRIBUTE, "DISTRIBUTE").pubkey,
      }];
    } catch {
      return [];
    }
  });
  return found.length === 1 ? found[0] : null;
}

/**
 * What `tx` (the `distribution` message's, of job `jobId`, sent by `sender`) pays the key hashing
 * to `keyHash`, or why it is not kept: it must be stamped with the job id, spend one coin on the
 * DISTRIBUTE path signed by the sender, pay at most 8 validator rewards, each of that job and of
 * the sender as client, one of them to `keyHash`. The pool's script cannot be checked before the
 * payment holding it is known; consensus checks everything when the node submits it.
 */
export function distributionPays(
  tx: Transaction,
  jobId: Uint8Array,
  sender: Uint8Array,
  keyHash: Uint8Array,
): { units: bigint; pool: { txid: string; vout: number } } | { refused: DistributionRefusal } {
  if (!equalBytes(tx.jobId, jobId)) return { refused: "distribution/malformed" };
  const input = distributeInput(tx);
  if (!input) return { refused: "distribution/not-distribute" };
  if (!equalBytes(input.pubkey, sender)) return { refused: "distribution/not-sender" };
  const clientHash = hash160(sender);
  let units = 0n;
  let rewards = 0;
  for (const o of tx.outputs) {
    if (o.scriptPubKey[0] !== TEMPLATE_VALIDATOR_REWARD) continue;
    const s = parseOutputScript(o.scriptPubKey);
    if (s.type !== "validator-reward") continue;
    if (!equalBytes(s.jobId, jobId) || !equalBytes(s.clientHash, clientHash)) {
      return { refused: "distribution/not-sender" };
    }
    rewards++;
    if (equalBytes(s.nodeHash, keyHash)) units += o.value;
  }
  if (units === 0n || rewards > MAX_PAID_VALIDATORS) return { refused: "distribution/not-paying" };
  const { prevout } = tx.inputs[input.index];
  return { units, pool: { txid: toHex(prevout.txid), vout: prevout.vout } };
}

/** Options of {@link DistributionKeeper}. */
export interface DistributionKeeperOptions {
  /** The node's chain (its KV keeps the distributions). */
  chain: ChainNode;
  /** The node wallet's secret key: distributions paying its HASH160 are kept. */
  secretKey: Uint8Array;
}

/**
 * Blocks a distribution is kept while the payment it spends is unknown: the executor's node
 * broadcasts a payment a dispute window after its stake, and an escrow left unpaid refunds at its
 * expiry (by default `defaultExpiry` blocks after the offer), so a payment still unknown that long
 * after the distribution came is most likely never mined.
 */
function unknownPaymentBlocks(chain: ChainNode): number {
  return chain.params.jobs.disputeWindow + chain.params.jobs.defaultExpiry;
}

/** The distributions paying the node's key, kept until they are mined or can no longer be. */
export class DistributionKeeper {
  readonly #o: DistributionKeeperOptions;
  readonly #keyHash: Uint8Array;
  readonly #prefix: Deno.KvKey;
  readonly #kept = new Map<string, KeptDistribution>();
  #running: Promise<void>;

  /** Keeps distributions paying `options.secretKey`'s key in `options.chain`'s KV (loads those kept). */
  constructor(options: DistributionKeeperOptions) {
    this.#o = options;
    this.#keyHash = hash160(publicKeyOf(options.secretKey));
    this.#prefix = [DISTRIBUTION, toHex(this.#keyHash)];
    this.#running = this.#load().catch((e) =>
      log.warn("Kept distributions not loaded: {error}", { error: (e as Error).message })
    );
  }

  /** How many distributions are kept (for `/v1/status`). */
  get kept(): number {
    return this.#kept.size;
  }

  /**
   * Takes a `distribution` message from `from` (the envelope's key): kept when it pays this node
   * (see {@link distributionPays}) within the bounds ({@link MAX_KEPT_PER_SENDER},
   * {@link MAX_KEPT}), and submitted at once when its payment is known. Returns null when kept,
   * else why not (logged at debug).
   */
  receive(from: Uint8Array, m: DistributionMessage): Promise<DistributionRefusal | null> {
    const run = this.#running.then(() => this.#receive(from, m));
    this.#running = run.then(() => {}, () => {});
    return run;
  }

  /** Per block: submits each kept distribution whose payment is known, drops those done or dead. */
  onBlock(): Promise<void> {
    const run = this.#running.then(async () => {
      for (const [key, d] of [...this.#kept]) await this.#step(key, d);
    });
    this.#running = run.catch(() => {});
    return run;
  }

  async #load(): Promise<void> {
    for await (const e of this.#o.chain.store.kv.list<KeptDistribution>({ prefix: this.#prefix })) {
      this.#kept.set(JSON.stringify(e.key), e.value);
    }
  }

  async #receive(from: Uint8Array, m: DistributionMessage): Promise<DistributionRefusal | null> {
    const refuse = (why: DistributionRefusal) => {
      log.debug("Distribution for job {id} ignored ({why})", { id: m.jobId, why });
      return why;
    };
    let tx: Transaction;
    try {
      tx = decodeTransaction(fromHex(m.tx));
    } catch {
      return refuse("distribution/malformed");
    }
    const paid = distributionPays(tx, fromHex(m.jobId, 32), from, this.#keyHash);
    if ("refused" in paid) return refuse(paid.refused);
    const client = toHex(from);
    const kvKey = [...this.#prefix, paid.pool.txid, paid.pool.vout, client];
    const key = JSON.stringify(kvKey);
    const fromSender = [...this.#kept.values()].filter((d) => d.client === client).length;
    if (!this.#kept.has(key) && (fromSender >= MAX_KEPT_PER_SENDER || this.kept >= MAX_KEPT)) {
      return refuse("distribution/full");
    }
    const d: KeptDistribution = {
      jobId: m.jobId,
      pool: paid.pool,
      client,
      tx: fromHex(m.tx),
      txid: txid(tx),
      units: paid.units,
      height: this.#o.chain.tip().height,
    };
    await this.#o.chain.store.kv.set(kvKey, d);
    this.#kept.set(key, d);
    log.info("Job {id}: kept the distribution {txid} paying this node {units} units", {
      id: d.jobId,
      txid: d.txid,
      units: d.units,
    });
    await this.#step(key, d);
    return null;
  }

  async #drop(key: string, d: KeptDistribution, why: string): Promise<void> {
    log.info("Job {id}: distribution {txid} dropped ({why})", { id: d.jobId, txid: d.txid, why });
    this.#kept.delete(key);
    await this.#o.chain.store.kv.delete(JSON.parse(key));
  }

  async #step(key: string, d: KeptDistribution): Promise<void> {
    const { chain } = this.#o;
    const next = chain.tip().height + 1;
    const payment = await chain.getTransaction(d.pool.txid);
    if (!payment) {
      if (next > d.height + unknownPaymentBlocks(chain)) {
        await this.#drop(key, d, "its payment never came");
      }
      return;
    }
    const pool = payment.tx.outputs[d.pool.vout];
    const s = pool && parseOutputScript(pool.scriptPubKey);
    if (
      s?.type !== "validation-pool" || toHex(s.jobId) !== d.jobId ||
      !equalBytes(s.clientHash, hash160(fromHex(d.client, 33)))
    ) {
      return await this.#drop(key, d, "it spends no validation pool of its job and client");
    }
    if (payment.height !== null) {
      if (next >= epochEnd(chain.params.sprint, payment.height)) {
        return await this.#drop(key, d, "the pool's epoch ended");
      }
      if (!(await chain.store.getCoins([d.pool]))[0]) {
        const mined = (await chain.getTransaction(d.txid))?.height != null;
        return await this.#drop(key, d, mined ? "mined" : "the pool is spent otherwise");
      }
    }
    if (chain.mempool.spender(d.pool.txid, d.pool.vout)) return; // it, or another, is pending
    try {
      await chain.processTx(d.tx);
      log.info("Job {id}: submitted the distribution {txid} paying this node {units} units", {
        id: d.jobId,
        txid: d.txid,
        units: d.units,
      });
    } catch (e) {
      const code = e instanceof CamelidError ? e.code : null;
      if (code === null || RETRYABLE_CODES.has(code)) {
        return log.info("Job {id}: distribution {txid} not submitted yet: {error}", {
          id: d.jobId,
          txid: d.txid,
          error: (e as Error).message,
        });
      }
      await this.#drop(key, d, `refused: ${code}`);
    }
  }
}
