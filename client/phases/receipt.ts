/**
 * @module Phase 2 of a job: take the first compute node that accepts, wait for its receipt, and check
 * that the receipt's stake locks a stake on its commitment for this job and client.
 */

import { equalBytes, fromHex, toHex } from "../../chain/bytes.ts";
import type { JobCoin } from "../../chain/job_tx.ts";
import { decodeAddress } from "../../chain/keys.ts";
import { computeStakeScript } from "../../chain/script.ts";
import { decodeTransaction, txid } from "../../chain/tx.ts";
import { JobClientError } from "../errors.ts";
import type { ReceiptMessage } from "../job_messages.ts";
import { type JobSession, sendJobMessage, timeLeft } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";

/** A job a compute node committed to: who, its receipt, and its stake. */
export interface CommittedJob {
  /** The compute node's public key. */
  computeKey: Uint8Array;
  /** Its receipt. */
  receipt: ReceiptMessage;
  /** The stake it locked on its commitment. */
  stake: JobCoin;
}

/**
 * The stake a receipt names, when its transaction locks a stake on the receipt's commitment for this
 * job and client; `JobClientError` `job/bad-receipt` otherwise.
 */
export function checkReceipt(
  receipt: ReceiptMessage,
  jobId: Uint8Array,
  clientHash: Uint8Array,
): JobCoin {
  const stakeTx = decodeTransaction(fromHex(receipt.stakeTx));
  const out = stakeTx.outputs[receipt.stake.vout];
  const expected = computeStakeScript(
    jobId,
    decodeAddress(receipt.rewardAddress),
    clientHash,
    fromHex(receipt.commitment),
  );
  if (txid(stakeTx) !== receipt.stake.txid || !out || !equalBytes(out.scriptPubKey, expected)) {
    throw new JobClientError(
      "job/bad-receipt",
      "the receipt's stake does not lock a stake on this commitment",
    );
  }
  return { ...receipt.stake, value: out.value, scriptPubKey: out.scriptPubKey };
}

/**
 * Assigns the job to the first node that accepts, then waits for that node's receipt, checks it and
 * broadcasts its stake transaction (in case gossip has not brought it yet).
 */
export async function awaitReceipt(s: JobSession, offered: OfferedJob): Promise<CommittedJob> {
  let computeKey: Uint8Array | null = null;
  let receipt: ReceiptMessage | null = null;
  while (!receipt) {
    const { from, m } = await offered.inbox.next(timeLeft(s));
    if (m.t === "accept" && !computeKey) {
      computeKey = from;
      await sendJobMessage(s, { t: "assign", jobId: offered.id }, from);
      s.say("accepted", { node: toHex(from), rewardAddress: m.rewardAddress });
    } else if (m.t === "receipt" && computeKey && equalBytes(from, computeKey)) {
      receipt = m;
    }
  }
  const stake = checkReceipt(receipt, offered.jobId, s.clientHash);
  await s.node.sendTx(fromHex(receipt.stakeTx)).catch(() => {});
  s.say("committed", {
    commitment: receipt.commitment,
    tokens: receipt.tokenCount,
    finish: receipt.finishReason,
    stake: stake.txid,
  });
  return { computeKey: computeKey!, receipt, stake };
}
