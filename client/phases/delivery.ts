/**
 * @module Phase 4 of a job: wait for the encrypted delivery; when none comes in time, claim
 * non-delivery on chain and wait for the node's answer there, or slash its stake once the window
 * passes unanswered.
 */

import { fromHex } from "../../chain/bytes.ts";
import { ValidationError } from "../../chain/errors.ts";
import { claimOutput, nonDeliveryTx } from "../../chain/job_tx.ts";
import type { Outpoint } from "../../chain/job_unlock.ts";
import { parseOutputScript, payToHashScript } from "../../chain/script.ts";
import { encodeTransaction } from "../../chain/tx.ts";
import { isTimeout } from "../errors.ts";
import { chainMoved, type JobSession, pollUntil, timeLeft } from "../job_session.ts";
import { fundAndSend } from "./fund.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";

/** How the output came, or did not. */
export type Delivery =
  /** The node sent it in a message. */
  | { kind: "delivered"; ciphertext: Uint8Array }
  /** The node answered the client's claim on chain. */
  | { kind: "answered"; ciphertext: Uint8Array; answer: Outpoint }
  /** The claim went unanswered: the stake is slashed to the client. */
  | { kind: "slashed"; txid: string };

/** Options of {@link awaitDelivery}. */
export interface DeliveryOptions {
  /** How long to wait for the delivery message before claiming (ms). */
  timeoutMs: number;
  /** Dev tests: act as if no delivery came (exercises the claim and the node's answer). */
  ignoreDelivery?: boolean;
  /**
   * Sends the payment again (every {@link PAYMENT_RESEND_MS} while no delivery comes): a node that
   * missed it, or was restarted, answers with the delivery.
   */
  resendPayment?: () => Promise<void>;
}

/** How often the payment is sent again while the delivery does not come (ms). */
export const PAYMENT_RESEND_MS = 5_000;

/** Waits for the node's delivery; on a timeout claims non-delivery on chain ({@link claimNonDelivery}). */
export async function awaitDelivery(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  options: DeliveryOptions,
): Promise<Delivery> {
  const until = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      try {
        const m = await offered.inbox.nextFrom(
          "delivery",
          committed.computeKey,
          Math.max(1, Math.min(timeLeft(s), until - Date.now(), PAYMENT_RESEND_MS)),
        );
        if (!options.ignoreDelivery) {
          return { kind: "delivered", ciphertext: fromHex(m.ciphertext) };
        }
      } catch (e) {
        if (!isTimeout(e) || Date.now() >= Math.min(until, s.deadline)) throw e;
        await options.resendPayment?.();
      }
    }
  } catch (e) {
    if (!isTimeout(e)) throw e;
  }
  const outcome = await claimNonDelivery(s, offered, committed);
  if (outcome.kind === "slashed") {
    s.say("slashed", {
      slashTx: outcome.txid,
      reason: "the node did not answer the non-delivery claim",
    });
  } else s.say("answered", { answerTx: outcome.answer.txid });
  return outcome;
}

/**
 * Claims non-delivery on chain (a claim output funded by the client, once the stake is mined), then
 * waits: the node's answer brings the ciphertext; without one by the end of the window the stake is
 * slashed to the client.
 */
export async function claimNonDelivery(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
): Promise<Exclude<Delivery, { kind: "delivered" }>> {
  const { stake } = committed;
  await pollUntil(s, async () => (await s.node.tx(stake.txid)).confirmations > 0);
  const { txid: claimTxid } = await fundAndSend(s, claimOutput(stake), offered.jobId);
  s.say("claimed", { claimTx: claimTxid, stake: `${stake.txid}:${stake.vout}` });
  for (;;) {
    const notices = await s.node.jobNotices(offered.id);
    const claim = notices.find((n) => n.kind === "claim");
    const answer = notices.find((n) => n.kind === "answer" && claim && n.height >= claim.height);
    if (answer) {
      const tx = await s.node.tx(answer.txid);
      for (const [vout, out] of tx.outputs.entries()) {
        const parsed = parseOutputScript(fromHex(out.scriptPubKey));
        if (parsed.type === "job-answer") {
          return {
            kind: "answered",
            ciphertext: parsed.ciphertext,
            answer: { txid: answer.txid, vout },
          };
        }
      }
    }
    if (claim) {
      const tip = (await s.node.status()).height;
      if (tip + 1 >= claim.height + s.params.jobs.disputeWindow && !answer) {
        const slash = nonDeliveryTx(
          stake,
          { payTo: payToHashScript(s.clientHash), fee: s.fee },
          offered.jobId,
        );
        try {
          return { kind: "slashed", txid: (await s.node.sendTx(encodeTransaction(slash))).txid };
        } catch (e) {
          if (!(e instanceof ValidationError && e.code === "job/claim-window")) throw e;
        }
      }
    }
    await chainMoved(s);
  }
}
