/**
 * @module The job worker's payment intake: the client's payment for a staked job is checked (it
 * spends the escrow with a PAY naming this stake, signed by the client, paying the held reward),
 * kept in KV, then answered with the delivery; once mineable it is recorded as a held reward
 * (held_rewards.ts) and broadcast.
 */

import { equalBytes, fromHex, toHex } from "../../chain/bytes.ts";
import { parsePay, type PayData } from "../../chain/job_unlock.ts";
import { heldRewardScriptOfStake } from "../../chain/script.ts";
import { decodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import type { PaymentMessage } from "../../client/job_messages.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { type ActiveJob, log, type WorkerContext } from "./worker_context.ts";
import { deliver } from "./worker_delivery.ts";

/** Why a payment transaction is unacceptable, or null. */
function checkPayment(a: ActiveJob, tx: Transaction): string | null {
  if (tx.inputs.length !== 1) return "a payment spends exactly the escrow";
  const inp = tx.inputs[0];
  if (toHex(inp.prevout.txid) !== a.escrow.txid || inp.prevout.vout !== a.escrow.vout) {
    return "it does not spend the escrow";
  }
  let pay: PayData;
  try {
    pay = parsePay(inp.scriptSig);
  } catch {
    return "not a PAY spend";
  }
  if (pay.stake.txid !== a.stake!.txid) return "it names another stake";
  if (!equalBytes(pay.pubkey, a.client)) return "not signed by the client";
  const held = heldRewardScriptOfStake(a.stake!.script);
  const paid = tx.outputs.reduce(
    (s, o) => equalBytes(o.scriptPubKey, held) ? s + o.value : s,
    0n,
  );
  if (paid + 100_000n < a.escrow.value) {
    return `it pays ${paid}, the escrow holds ${a.escrow.value}`;
  }
  return null;
}

/**
 * The client's payment: checked, kept in KV, then answered with the delivery. A payment for a job
 * already paid (the client did not get the delivery) is answered with the delivery again. Returns
 * whether a new payment was taken and the output delivered (then the caller runs the block upkeep).
 */
export async function onPayment(
  ctx: WorkerContext,
  env: Envelope,
  m: PaymentMessage,
): Promise<boolean> {
  const a = ctx.jobs.get(m.jobId);
  if (!a || !a.stake || !a.output) {
    log.info("Payment for unknown or unfinished job {id}", { id: m.jobId });
    return false;
  }
  if (!equalBytes(env.from, a.client)) {
    log.info("Payment for {id} not from its client", { id: m.jobId });
    return false;
  }
  if (a.payment) {
    if (ctx.o.cheat === "withhold") return false;
    log.info("Second payment for {id}: delivering again", { id: m.jobId });
    await deliver(ctx, a);
    return false;
  }
  const bytes = fromHex(m.tx);
  const reason = checkPayment(a, decodeTransaction(bytes));
  if (reason) {
    log.warn("Payment for {id} refused: {reason}", { id: m.jobId, reason });
    return false;
  }
  a.payment = bytes;
  await ctx.save(a);
  ctx.fault("paid");
  if (ctx.o.cheat === "withhold") {
    log.warn("Withholding the output of {id} (cheat)", { id: a.id });
    return false;
  }
  await deliver(ctx, a);
  log.info("Job {id} paid; output delivered encrypted", { id: a.id });
  ctx.fault("delivered");
  return true;
}

/**
 * Hands a held payment over as a held reward (recorded in KV first), broadcasts it and records that
 * it was sent.
 */
export async function broadcastPayment(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  const payment = a.payment!;
  const tx = decodeTransaction(payment);
  await ctx.rewards.add({
    jobId: a.id,
    payment: txid(tx),
    escrow: { txid: a.escrow.txid, vout: a.escrow.vout },
    value: tx.outputs[0].value,
  });
  await ctx.o.chain.processTx(payment);
  a.paymentSent = true;
  await ctx.save(a);
  log.info("Job {id}: payment broadcast", { id: a.id });
}
