/**
 * @module Phase 3 of a job: pay the node by a signed escrow spend that names its stake, sent to the node
 * (it broadcasts the payment once the stake is a dispute window deep).
 */

import { toHex } from "../../chain/bytes.ts";
import { payTx } from "../../chain/job_tx.ts";
import { payToAddressScript } from "../../chain/script.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { type JobSession, sendJobMessage } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";

/** Signs the payment (the escrow less the fee, to the node's reward address) and sends it to the node. */
export async function payForJob(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
): Promise<string> {
  const pay = payTx(
    offered.escrow,
    committed.stake,
    { payTo: payToAddressScript(committed.receipt.rewardAddress), fee: s.fee },
    offered.jobId,
    s.secretKey,
  );
  await sendJobMessage(
    s,
    { t: "payment", jobId: offered.id, tx: toHex(encodeTransaction(pay)) },
    committed.computeKey,
  );
  const id = txid(pay);
  s.say("paid", { payment: id });
  return id;
}
