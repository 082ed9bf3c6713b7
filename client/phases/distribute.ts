/**
 * @module Phase 6 of a job checked by weight: the client distributes the payment's validation pool
 * (output 1 of its payment, phases/pay.ts; chain/job_tx.ts `poolCoin`) to the due validators whose votes it counted, by a
 * DISTRIBUTE signed with its key: per validator its reward (0x08) and its validation record (0x09),
 * the pool split equally, the fee from the client's own coins (under the wallet's spend lock,
 * phases/fund.ts). Consensus takes it before the end of the epoch of the payment's block, and only
 * for validators eligible under the weights of their records' sprints; the pool left undistributed
 * is the executor's at the epoch's end.
 */

import { toHex } from "../../chain/bytes.ts";
import { CamelidError } from "../../chain/errors.ts";
import { distributeTx, poolCoin } from "../../chain/job_tx.ts";
import { addressFromPublicKey } from "../../chain/keys.ts";
import { decodeTransaction, encodeTransaction } from "../../chain/tx.ts";
import type { ValidationRecord } from "../../chain/validation_record.ts";
import type { JobSession } from "../job_session.ts";
import { sendFromWallet, withSpendLock } from "./fund.ts";
import type { Payment } from "./pay.ts";

/** How long the client sends a distribution again while its node does not know the payment (ms). */
export const DISTRIBUTE_WAIT_MS = 6_000;

/** How often it sends it again meanwhile (ms). */
export const DISTRIBUTE_RETRY_MS = 1_000;

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
}

/**
 * Distributes the pool of `payment` to the validators of `records` (already in distribution
 * order: outsourced.ts `paidRecords`, 1..MAX_PAID_VALIDATORS): builds the DISTRIBUTE from the pool
 * and the client's coins (the fee) under the spend lock, and submits it to the client's node. A
 * node that does not know the payment yet (`tx/missing-inputs`) is asked again every
 * {@link DISTRIBUTE_RETRY_MS} for {@link DISTRIBUTE_WAIT_MS}; then that refusal is thrown (the
 * caller notes it: the job stands, the pool goes to the executor at the epoch's end).
 */
export async function distributePool(
  s: JobSession,
  payment: Payment,
  records: readonly ValidationRecord[],
): Promise<PaidValidators> {
  const pool = poolCoin(payment.txid, payment.tx.outputs);
  if (!pool) throw new RangeError("the payment has no validation pool");
  const until = Date.now() + DISTRIBUTE_WAIT_MS;
  for (;;) {
    try {
      const sent = await withSpendLock(
        s,
        () =>
          sendFromWallet(
            s,
            (utxos) =>
              encodeTransaction(
                distributeTx({ pool, records, secretKey: s.secretKey, utxos, fee: s.fee }),
              ),
          ),
      );
      const { outputs } = decodeTransaction(sent.bytes);
      return {
        distribution: sent.txid,
        validators: records.map((r, i) => ({
          address: addressFromPublicKey(r.validatorKey),
          units: outputs[2 * i].value.toString(),
        })),
        poolUnits: pool.value.toString(),
        ...(sent.status === "orphan" ? { waiting: true, tx: toHex(sent.bytes) } : {}),
      };
    } catch (e) {
      const unknown = e instanceof CamelidError && e.code === "tx/missing-inputs";
      if (!unknown || Date.now() >= until) throw e;
      await new Promise((r) => setTimeout(r, DISTRIBUTE_RETRY_MS));
    }
  }
}

/** One line for people: `paid validators: n (x units each from the pool of y)`. */
export function describePaidValidators(p: PaidValidators): string {
  return `paid validators: ${p.validators.length} (${p.validators[0]?.units ?? "0"} units each ` +
    `from the pool of ${p.poolUnits})${
      p.waiting ? "; your node holds the distribution until the payment is broadcast" : ""
    }`;
}
