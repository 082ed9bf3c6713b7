/**
 * @module The job worker's payment intake: the client's payment for a staked job is checked (it
 * spends the escrow with a PAY naming this stake, signed by the client, paying the held reward
 * alone or with the job's validation pool, as consensus would take it), kept in KV, then answered
 * with the delivery; once mineable its held reward (output 0) and its pool (output 1, when it has
 * one) are recorded (held_rewards.ts) and it is broadcast. A different payment for a job already paid is not taken: the payment is one.
 */

import { equalBytes, fromHex, toHex } from "../../chain/bytes.ts";
import { CamelidError, CodedError } from "../../chain/errors.ts";
import { hash160 } from "../../chain/hash.ts";
import { poolCoin } from "../../chain/job_tx.ts";
import { parsePay, type PayData } from "../../chain/job_unlock.ts";
import { parseOutputScript } from "../../chain/script.ts";
import { checkEscrowSpend } from "../../chain/spend.ts";
import { decodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import type { PaymentMessage } from "../../client/job_messages.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { type ActiveJob, log, type WorkerContext } from "./worker_context.ts";
import { deliver } from "./worker_delivery.ts";

/** Why the node refuses a client's payment (consensus faults keep their own `job/...` code). */
export type PaymentRefusalCode =
  /** It does not spend exactly the job's escrow. */
  | "job/payment-escrow"
  /** Its input is not a PAY spend naming this job's stake, by the job's client. */
  | "job/payment-pay"
  /** Its outputs add up to less than the escrow (less the most fee taken). */
  | "job/payment-value";

/** A refused payment, with its {@link PaymentRefusalCode}. */
export class PaymentRefusedError extends CodedError<PaymentRefusalCode> {}

/** The most miner fee a payment may take from the escrow, base units. */
export const MAX_PAYMENT_FEE = 100_000n;

/** What the payment check reads of the job and the node. */
export interface PaymentTerms {
  /** The job's escrow. */
  escrow: { txid: string; vout: number; value: bigint };
  /** The client's public key (it signs the PAY). */
  client: Uint8Array;
  /** The node's stake for the job. */
  stake: { txid: string; vout: number; value: bigint; script: Uint8Array };
}

/**
 * Checks a client's payment for a job: it spends exactly the escrow by a PAY naming the stake,
 * signed by the client's key, its outputs pay the escrow less at most {@link MAX_PAYMENT_FEE}, they
 * are what consensus takes of a payment of this stake (chain/spend.ts `checkEscrowSpend`: the held
 * reward, alone or then the job's validation pool worth a tenth; its `job/...` code otherwise, e.g.
 * `job/validator-split` for a pool of another value, `job/pay-not-held` for any other outputs).
 * Throws the first fault.
 */
export function checkPayment(t: PaymentTerms, tx: Transaction): void {
  const refuse = (code: PaymentRefusalCode, why: string): never => {
    throw new PaymentRefusedError(code, why);
  };
  if (tx.inputs.length !== 1) refuse("job/payment-escrow", "a payment spends exactly the escrow");
  const inp = tx.inputs[0];
  if (toHex(inp.prevout.txid) !== t.escrow.txid || inp.prevout.vout !== t.escrow.vout) {
    refuse("job/payment-escrow", "it does not spend the escrow");
  }
  let pay: PayData | undefined;
  try {
    pay = parsePay(inp.scriptSig);
  } catch {
    refuse("job/payment-pay", "not a PAY spend");
  }
  if (pay!.stake.txid !== t.stake.txid || pay!.stake.vout !== t.stake.vout) {
    refuse("job/payment-pay", "it names another stake");
  }
  if (!equalBytes(pay!.pubkey, t.client)) refuse("job/payment-pay", "not signed by the client");
  const paid = tx.outputs.reduce((s, o) => s + o.value, 0n);
  if (paid + MAX_PAYMENT_FEE < t.escrow.value) {
    refuse("job/payment-value", `it pays ${paid}, the escrow holds ${t.escrow.value}`);
  }
  const stake = parseOutputScript(t.stake.script);
  if (stake.type !== "compute-stake") throw new RangeError("the job's stake is not a stake");
  // The consensus rules of a PAY spend of this escrow and stake, as a block a dispute window after
  // the stake applies them (the client's signature is the mempool's to check).
  checkEscrowSpend(
    tx,
    0,
    { type: "job-escrow", jobId: stake.jobId, clientHash: stake.clientHash, expiryHeight: 0 },
    1,
    1,
    {
      stakes: new Map([[`${t.stake.txid}:${t.stake.vout}`, {
        value: t.stake.value,
        scriptPubKey: t.stake.script,
        height: 0,
      }]]),
      fraud: new Map(),
      notices: new Map(),
      badAnswers: new Map(),
    },
    (_sig, pubkey, keyHash) => {
      if (!equalBytes(hash160(pubkey), keyHash)) refuse("job/payment-pay", "not the client's key");
    },
    [],
  );
}

/** The payment terms of job `a` on this node now. */
function termsOf(a: ActiveJob): PaymentTerms {
  return { escrow: a.escrow, client: a.client, stake: a.stake! };
}

/** The payment's refusal, or null when it passes {@link checkPayment}. */
function refusalOf(a: ActiveJob, bytes: Uint8Array): { code: string; message: string } | null {
  try {
    checkPayment(termsOf(a), decodeTransaction(bytes));
    return null;
  } catch (e) {
    if (!(e instanceof CamelidError)) throw e;
    return { code: e.code, message: e.message };
  }
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
  const bytes = fromHex(m.tx);
  if (a.payment && !equalBytes(a.payment, bytes)) {
    log.info("Job {id}: a different payment came for a job already paid; not taken", {
      id: a.id,
    });
    return false;
  }
  if (a.payment) {
    if (ctx.o.cheat === "withhold") return false;
    log.info("Second payment for {id}: delivering again", { id: m.jobId });
    await deliver(ctx, a);
    return false;
  }
  const refused = refusalOf(a, bytes);
  if (refused) {
    log.warn("Payment for {id} refused ({code}): {reason}", {
      id: m.jobId,
      code: refused.code,
      reason: refused.message,
    });
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
 * Hands a held payment over as a held reward (output 0) and, when it pays one, the job's validation
 * pool (output 1: the node's at the epoch's end unless the client distributes it first), both
 * recorded in KV first; broadcasts it and records that it was sent.
 */
export async function broadcastPayment(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  const payment = a.payment!;
  const tx = decodeTransaction(payment);
  const paid = {
    jobId: a.id,
    payment: txid(tx),
    escrow: { txid: a.escrow.txid, vout: a.escrow.vout },
  };
  await ctx.rewards.add({ ...paid, value: tx.outputs[0].value });
  const pool = poolCoin(paid.payment, tx.outputs);
  if (pool) await ctx.pools.add({ ...paid, vout: pool.vout, value: pool.value });
  await ctx.o.chain.processTx(payment);
  a.paymentSent = true;
  await ctx.save(a);
  log.info("Job {id}: payment broadcast", { id: a.id });
}
