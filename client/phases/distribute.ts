/**
 * @module Phase 6 of a job checked by weight: the client distributes the payment's validation pool
 * (output 1 of its payment, phases/pay.ts; chain/job_tx.ts `poolCoin`) to the due validators whose
 * votes it counted, by a DISTRIBUTE signed with its key: per validator its reward (0x08) and its
 * validation record (0x09), the pool less the fee split equally. The pool is its only input and
 * pays its fee (the transaction's size times the node's relay fee rate, {@link distributionFee}), so
 * it needs no coin of the client's wallet: the wallet may spend freely while it waits for the
 * payment, and anyone may broadcast it. Consensus takes it before the end of the epoch of the
 * payment's block, and only for validators eligible under the weights of their records' sprints;
 * the pool left undistributed is the executor's at the epoch's end.
 */

import { toHex } from "../../chain/bytes.ts";
import { CamelidError } from "../../chain/errors.ts";
import { distributeTx, type JobCoin, poolCoin } from "../../chain/job_tx.ts";
import { addressFromPublicKey } from "../../chain/keys.ts";
import { MAX_DISTRIBUTE_FEE_RATE } from "../../chain/pool_rules.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import type { ValidationRecord } from "../../chain/validation_record.ts";
import type { StatusAnswer } from "../../relay/client.ts";
import type { JobSession } from "../job_session.ts";
import type { Payment } from "./pay.ts";

/** How long the client sends a distribution again while its node does not know the payment (ms). */
export const DISTRIBUTE_WAIT_MS = 6_000;

/** How often it sends it again meanwhile (ms). */
export const DISTRIBUTE_RETRY_MS = 1_000;

/**
 * The distribution pays this many times the node's fee rate: it may wait for the payment (held as
 * an orphan) while the mempool's rolling minimum rises (as the node's sprint proofs, FEE_RATE_MARGIN
 * of compute/sprint_duty.ts).
 */
export const DISTRIBUTE_FEE_MARGIN = 2;

/** The protocol's minimum relay fee rate (base units a byte), for a node whose status omits its own. */
const PROTOCOL_MIN_RELAY_FEE_RATE = 1;

/** A validator a distribution pays: its address and its share, base units (decimal string). */
export interface PaidValidator {
  /** The validator key's address. */
  address: string;
  /** Its reward, base units. */
  units: string;
}

/** What the client's distribution of a pool pays. */
export interface PaidValidators {
  /** Txid of the DISTRIBUTE. */
  distribution: string;
  /** The validators paid, in the distribution's order (ascending key). */
  validators: PaidValidator[];
  /** The pool distributed, base units. */
  poolUnits: string;
  /** What the distribution pays as fee from the pool, base units. */
  feeUnits: string;
  /**
   * True when the client's node holds the distribution until the payment comes (the executor's node
   * broadcasts it a dispute window after the stake): it enters the mempool then.
   */
  waiting?: boolean;
  /**
   * With `waiting`: the signed distribution (hex), which anyone may submit again (`POST /v1/txs`)
   * once the payment is known, before the end of the payment's epoch, should the node's hold
   * expire first.
   */
  tx?: string;
  /**
   * With `waiting`: the code of the client's node's refusal when it would not hold the distribution
   * either (`tx/missing-inputs` after {@link DISTRIBUTE_WAIT_MS}); the paid validators' nodes still
   * get it and submit it once the payment is known (compute/jobs/distribution_keeper.ts).
   */
  refusedByNode?: string;
}

/**
 * The fee rate a distribution pays, base units a byte: the higher of the node's minimum relay fee
 * rate and its mempool's rolling minimum (`/v1/status` `mempool`), times
 * {@link DISTRIBUTE_FEE_MARGIN}, at most the consensus cap {@link MAX_DISTRIBUTE_FEE_RATE}.
 */
export function distributionFeeRate(status: StatusAnswer): number {
  const mempool = status.mempool as { minFeeRate?: number; minRelayFeeRate?: number } | undefined;
  const rate = Math.max(
    mempool?.minRelayFeeRate ?? PROTOCOL_MIN_RELAY_FEE_RATE,
    mempool?.minFeeRate ?? 0,
  );
  return Math.min(rate * DISTRIBUTE_FEE_MARGIN, Number(MAX_DISTRIBUTE_FEE_RATE));
}

/** The fee of the distribution of `pool` to `records` at `rate` a byte: its size times the rate. */
export function distributionFee(
  pool: JobCoin,
  records: readonly ValidationRecord[],
  secretKey: Uint8Array,
  rate: number,
): bigint {
  // The size does not depend on the values (u64 each): measured on the transaction without fee.
  const size = encodeTransaction(distributeTx({ pool, records, secretKey, fee: 0n })).length;
  return BigInt(Math.ceil(size * rate));
}

/**
 * Distributes the pool of `payment` to the validators of `records` (already in distribution
 * order: outsourced.ts `paidRecords`, 1..MAX_PAID_VALIDATORS): builds the DISTRIBUTE from the pool
 * alone, its fee {@link distributionFee} at the node's rate ({@link distributionFeeRate}), and
 * submits it to the client's node. A node that does not know the payment yet (`tx/missing-inputs`)
 * is asked again every {@link DISTRIBUTE_RETRY_MS} for {@link DISTRIBUTE_WAIT_MS}; then the signed
 * distribution is returned all the same (`refusedByNode`): the client hands it to the paid
 * validators, whose nodes submit it once the payment is known. A pool too small for the fee
 * (`job/validator-split`) and any other refusal are thrown (the caller notes it: the job stands, the
 * pool goes to the executor at the epoch's end).
 */
export async function distributePool(
  s: JobSession,
  payment: Payment,
  records: readonly ValidationRecord[],
): Promise<PaidValidators> {
  const pool = poolCoin(payment.txid, payment.tx.outputs);
  if (!pool) throw new RangeError("the payment has no validation pool");
  const rate = distributionFeeRate(await s.node.status());
  const fee = distributionFee(pool, records, s.secretKey, rate);
  const tx = distributeTx({ pool, records, secretKey: s.secretKey, fee });
  const bytes = encodeTransaction(tx);
  const paid = {
    distribution: txid(tx),
    validators: records.map((r, i) => ({
      address: addressFromPublicKey(r.validatorKey),
      units: tx.outputs[2 * i].value.toString(),
    })),
    poolUnits: pool.value.toString(),
    feeUnits: (pool.value - tx.outputs[0].value * BigInt(records.length)).toString(),
  };
  const until = Date.now() + DISTRIBUTE_WAIT_MS;
  for (;;) {
    try {
      const sent = await s.node.sendTx(bytes);
      return sent.status === "orphan" ? { ...paid, waiting: true, tx: toHex(bytes) } : paid;
    } catch (e) {
      const unknown = e instanceof CamelidError && e.code === "tx/missing-inputs";
      if (!unknown) throw e;
      if (Date.now() >= until) {
        return { ...paid, waiting: true, tx: toHex(bytes), refusedByNode: e.code };
      }
      await new Promise((r) => setTimeout(r, DISTRIBUTE_RETRY_MS));
    }
  }
}

/** One line for people: `paid validators: n (x units each from the pool of y)`. */
export function describePaidValidators(p: PaidValidators): string {
  return `paid validators: ${p.validators.length} (${p.validators[0]?.units ?? "0"} units each ` +
    `from the pool of ${p.poolUnits})${
      p.refusedByNode
        ? `; your node would not hold the distribution (${p.refusedByNode}): the validators submit it once the payment is broadcast`
        : p.waiting
        ? "; your node holds the distribution until the payment is broadcast"
        : ""
    }`;
}
