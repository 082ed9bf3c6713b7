/**
 * @module The job worker's delivery: the output encrypted to the client's key (ECIES, once per job,
 * made while the node waits for the payment, since it takes milliseconds), sent once paid (and again
 * on request), and published on chain as the answer to a client's non-delivery claim.
 */

import { encrypt } from "eciesjs";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { answerOutput, fundJobOutput } from "../../chain/job_tx.ts";
import { type ActiveJob, log, type WorkerContext } from "./worker_context.ts";

/** The output, encrypted to the client's key. */
function ciphertext(a: ActiveJob): Uint8Array {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ outputTokens: a.output, finishReason: a.finishReason }),
  );
  return encrypt(toHex(a.client), plaintext);
}

/** The output of `a` encrypted to its client, made on first use and kept in memory. */
function deliveryCiphertext(a: ActiveJob): Uint8Array {
  a.ciphertext ??= ciphertext(a);
  return a.ciphertext;
}

/**
 * Encrypts the output of a staked job for its delivery on the next turn of the event loop, so that
 * the receipt just sent leaves first and the payment, when it comes, is answered without the ECIES.
 */
export function prepareDelivery(a: ActiveJob): void {
  setTimeout(() => deliveryCiphertext(a), 0);
}

/** Sends the encrypted output to the client and records that it was sent. */
export async function deliver(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  ctx.send(a.client, { t: "delivery", jobId: a.id, ciphertext: toHex(deliveryCiphertext(a)) });
  if (!a.delivered) {
    a.delivered = true;
    await ctx.save(a);
  }
}

/** Answers a client's non-delivery claim by publishing the encrypted output on chain. */
export async function answerClaims(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  const { chain, cheat } = ctx.o;
  const notices = await chain.notices(`${a.stake!.txid}:${a.stake!.vout}`);
  const claim = Math.max(-1, ...notices.filter((n) => n.kind === "claim").map((n) => n.height));
  const answer = Math.max(-1, ...notices.filter((n) => n.kind === "answer").map((n) => n.height));
  if (claim < 0 || answer >= claim || a.answering === claim || !a.output) return;
  a.answering = claim;
  await ctx.save(a);
  if (cheat === "withhold") {
    return log.warn("Job {id}: not answering the claim (cheat)", { id: a.id });
  }
  const answerOut = answerOutput(
    a.stake!,
    cheat === "bad-answer"
      ? ciphertext({ ...a, output: a.output.map((t) => t ^ 1) })
      : deliveryCiphertext(a),
  );
  const { txid: answerTxid } = await ctx.o.spendLock(async () => {
    const { bytes } = fundJobOutput(answerOut, fromHex(a.id), {
      utxos: await ctx.spendable(),
      secretKey: ctx.o.secretKey,
      fee: ctx.o.fee * 4n,
    });
    return await chain.processTx(bytes);
  });
  log.info("Job {id}: answered the client's claim on chain ({txid})", {
    id: a.id,
    txid: answerTxid,
  });
}
