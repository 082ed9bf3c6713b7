/**
 * @module Phase 3 of a job: pay the node by a signed escrow spend that names its stake, sent to the node
 * (it broadcasts the payment once the stake is a dispute window deep). The payment's output 0 is
 * the job's held reward: the node's from the end of the epoch it is mined in, the client's again on a
 * fraud proof before then. Once due validators have checked the delivered output (outsourced.ts),
 * the client signs the payment again with their validation records (each validator's reward and its
 * record after the held reward, the values split by `validatorSplit`) and sends it to the node,
 * which holds it in place of the first until it broadcasts it.
 */

import { toHex } from "../../chain/bytes.ts";
import { addressFromPublicKey } from "../../chain/keys.ts";
import { heldPayout, payTx } from "../../chain/job_tx.ts";
import { encodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import type { ValidationRecord } from "../../chain/validation_record.ts";
import type { PaymentMessage } from "../job_messages.ts";
import { type JobSession, sendJobMessage } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";

/**
 * The signed payment message (the escrow less the fee, held for the stake's node, and with
 * `records` each validator's share and record) and its transaction.
 */
export function paymentFor(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  records: readonly ValidationRecord[] = [],
): { message: PaymentMessage; txid: string; tx: Transaction } {
  const pay = payTx(
    offered.escrow,
    committed.stake,
    heldPayout(committed.stake, s.fee),
    offered.jobId,
    s.secretKey,
    records,
  );
  return {
    message: { t: "payment", jobId: offered.id, tx: toHex(encodeTransaction(pay)) },
    txid: txid(pay),
    tx: pay,
  };
}

/** A validator a payment pays: its address and its share, base units (decimal string). */
export interface PaidValidator {
  /** The validator key's address. */
  address: string;
  /** Its reward, base units. */
  units: string;
}

/** What a payment with validation records pays. */
export interface ValidatorPayment {
  /** Txid of the payment. */
  payment: string;
  /** The validators paid, in the payment's order (ascending key). */
  validators: PaidValidator[];
  /** The executor's held reward, base units. */
  executorUnits: string;
}

/**
 * Signs the payment again with the due validators' `records` (already in payment order:
 * outsourced.ts `paidRecords`) and sends it to the node, which holds it in place of the first
 * payment while it has not broadcast that one. Returns what it pays.
 */
export async function payValidators(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  records: readonly ValidationRecord[],
): Promise<ValidatorPayment> {
  const { message, txid, tx } = paymentFor(s, offered, committed, records);
  await sendJobMessage(s, message, committed.computeKey);
  const paid: ValidatorPayment = {
    payment: txid,
    validators: records.map((r, i) => ({
      address: addressFromPublicKey(r.validatorKey),
      units: tx.outputs[1 + 2 * i].value.toString(),
    })),
    executorUnits: tx.outputs[0].value.toString(),
  };
  s.say("payment-sent", { payment: txid, validators: records.length });
  return paid;
}

/**
 * Signs the payment and sends it to the node (state `payment-sent`: the node holds it; `job status`
 * says `paid` once it is mined, a dispute window after the stake).
 */
export async function payForJob(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
): Promise<string> {
  const { message, txid } = paymentFor(s, offered, committed);
  await sendJobMessage(s, message, committed.computeKey);
  s.say("payment-sent", { payment: txid });
  return txid;
}

/** One line for people: `paid validators: n (x units each; the executor y)`. */
export function describeValidatorPayment(p: ValidatorPayment): string {
  return `paid validators: ${p.validators.length} (${p.validators[0]?.units ?? "0"} units each; ` +
    `the executor ${p.executorUnits})`;
}
