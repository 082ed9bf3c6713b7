/**
 * @module Phase 3 of a job: pay the node by a signed escrow spend that names its stake, sent to the node
 * (it broadcasts the payment once the stake is a dispute window deep). The payment's one output is
 * the job's held reward: the node's from the end of the epoch it is mined in, the client's again on a
 * fraud proof before then.
 */

import { toHex } from "../../chain/bytes.ts";
import { heldPayout, payTx } from "../../chain/job_tx.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import type { PaymentMessage } from "../job_messages.ts";
import { type JobSession, sendJobMessage } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";

/** The signed payment message (the escrow less the fee, held for the stake's node) and its txid. */
export function paymentFor(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
): { message: PaymentMessage; txid: string } {
  const pay = payTx(
    offered.escrow,
    committed.stake,
    heldPayout(committed.stake, s.fee),
    offered.jobId,
    s.secretKey,
  );
  return {
    message: { t: "payment", jobId: offered.id, tx: toHex(encodeTransaction(pay)) },
    txid: txid(pay),
  };
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
