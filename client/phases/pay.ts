/**
 * @module Phase 3 of a job: pay the node by a signed escrow spend that names its stake, sent to the
 * node (it broadcasts the payment once the stake is a dispute window deep). The payment's output 0 is
 * the job's held reward: the node's from the end of the epoch it is mined in, the client's again on a
 * fraud proof before then. Where compute weights are in force at the client's node, the payment
 * carries the job's validation pool as output 1 (a tenth of it), which the client distributes to the
 * due validators that checked the delivered output (phases/distribute.ts) and which the node takes
 * at the epoch's end when nobody validated.
 */

import { toHex } from "../../chain/bytes.ts";
import { heldPayout, payTx, payWithPoolTx } from "../../chain/job_tx.ts";
import { encodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import type { PaymentMessage } from "../job_messages.ts";
import { type JobSession, sendJobMessage } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";

/** A signed payment: the message to the node and its transaction. */
export interface Payment {
  /** The payment message (the transaction's bytes, hex). */
  message: PaymentMessage;
  /** Txid of the payment. */
  txid: string;
  /** The payment. */
  tx: Transaction;
}

/**
 * The signed payment message (the escrow less the fee, held for the stake's node; with `pool`, a
 * tenth of it in the job's validation pool, output 1) and its transaction.
 */
export function paymentFor(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  pool = false,
): Payment {
  const pay = pool
    ? payWithPoolTx(offered.escrow, committed.stake, s.fee, offered.jobId, s.secretKey)
    : payTx(
      offered.escrow,
      committed.stake,
      heldPayout(committed.stake, s.fee),
      offered.jobId,
      s.secretKey,
    );
  return {
    message: { t: "payment", jobId: offered.id, tx: toHex(encodeTransaction(pay)) },
    txid: txid(pay),
    tx: pay,
  };
}

/**
 * Sends the signed `payment` (default: without a pool) to the node (state `payment-sent`: the node
 * holds it; `job status` says `paid` once it is mined, a dispute window after the stake). Returns
 * its txid.
 */
export async function payForJob(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  payment: Payment = paymentFor(s, offered, committed),
): Promise<string> {
  await sendJobMessage(s, payment.message, committed.computeKey);
  s.say("payment-sent", {
    payment: payment.txid,
    ...(payment.tx.outputs.length > 1 ? { pool: payment.tx.outputs[1].value.toString() } : {}),
  });
  return payment.txid;
}
