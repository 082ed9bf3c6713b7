/**
 * @module Phase 6 of a job: verify the output with RASTiC against the model and, when it is provably
 * false, publish a fraud proof that slashes the stake and takes the reward back: the escrow, or the
 * held payment (and its validation pool) once the payment is on its way. Which positions to name is
 * read from the verdict's data, never from its messages.
 */

import { fraudProofTx, type JobCoin, poolCoin, type RewardCoin } from "../../chain/job_tx.ts";
import { NotFoundError } from "../../chain/errors.ts";
import { MAX_FRAUD_POSITIONS } from "../../chain/job_unlock.ts";
import { payToHashScript } from "../../chain/script.ts";
import { encodeTransaction } from "../../chain/tx.ts";
import { type Verdict, verify } from "../../verifier-wasm/mod.ts";
import { jobRecordOf } from "../job_record.ts";
import type { JobSession } from "../job_session.ts";
import type { JobOutput } from "./check.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";
import { type Payment, paymentFor } from "./pay.ts";

/** How to verify locally. */
export interface LocalVerification {
  /** The model's GGUF bytes. */
  gguf: Uint8Array;
  /** "all" (default; one prefill checks every token) or "sampled". */
  positions?: "all" | "sampled";
  /** Sampled interior positions (default 8). */
  k?: number;
}

/** A local verification: the verdict and, when it is fraud, the positions a fraud proof names. */
export interface LocalResult {
  /** The verdict of the requested check. */
  verdict: Verdict;
  /** Positions to name in a fraud proof (fraud only), from a full check. */
  dispute?: number[];
}

/**
 * The positions a fraud proof names, from the verdict of a full check: every failing position, else
 * the record faults at a position, else the near-ties, else the last output position.
 */
export function disputePositions(
  full: Pick<Verdict, "checked" | "faults">,
  outputLength: number,
): number[] {
  const of = (s: "fail" | "near") =>
    full.checked.filter((c) => c.outcome === s).map((c) => c.position);
  const faulty = full.faults.flatMap((f) => f.position ?? []);
  for (const positions of [of("fail"), faulty, of("near")]) {
    if (positions.length > 0) return positions;
  }
  return [Math.max(0, outputLength - 1)];
}

/** Verifies the output; a fraud verdict from sampled checks is proven with a full check's positions. */
export async function verifyLocally(
  offered: OfferedJob,
  output: JobOutput,
  how: LocalVerification,
): Promise<LocalResult> {
  const record = jobRecordOf(
    offered.job,
    offered.jobId,
    output.outputTokens,
    output.finishReason,
  );
  const verdict = await verify(record, how.gguf, {
    positions: how.positions ?? "all",
    k: how.k ?? 8,
  });
  if (verdict.verdict !== "fraud") return { verdict };
  const full = await verify(record, how.gguf, { positions: "all" });
  return { verdict, dispute: disputePositions(full, output.outputTokens.length) };
}

/** What a fraud proof takes back of a payment the node knows: its held reward, and its pool. */
interface HeldPayment {
  /** The held reward (output 0). */
  held: RewardCoin;
  /** The validation pool (output 1), when the payment has one: taken with the same proof. */
  pool: JobCoin | null;
}

/**
 * The held reward and pool of this job's `payment` when the node knows the payment (mempool or
 * chain), else null (the escrow is still the reward).
 */
async function heldPayment(s: JobSession, payment: Payment): Promise<HeldPayment | null> {
  const id = payment.txid;
  try {
    const tx = await s.node.tx(id);
    return {
      held: { txid: id, vout: 0, value: BigInt(tx.outputs[0].units), held: true },
      pool: poolCoin(id, payment.tx.outputs),
    };
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/**
 * Publishes the fraud proof: the stake slashed and the reward taken back to the client (the escrow,
 * or the held payment, its validation pool with it, when the payment is on its way; the held
 * payment alone when the stake is already released). `payment` is the one the client signed
 * (default: without a pool).
 */
export async function publishFraudProof(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  output: JobOutput,
  positions: number[],
  payment: Payment = paymentFor(s, offered, committed),
): Promise<string> {
  const send = async (
    stake: JobCoin | null,
    reward: RewardCoin,
    pool: HeldPayment["pool"] = null,
  ) => {
    const tx = fraudProofTx(
      offered.job,
      output,
      positions.slice(0, MAX_FRAUD_POSITIONS),
      stake,
      reward,
      { payTo: payToHashScript(s.clientHash), fee: s.fee },
      [],
      pool,
    );
    return (await s.node.sendTx(encodeTransaction(tx))).txid;
  };
  let held = await heldPayment(s, payment);
  if (!held) {
    try {
      return await send(committed.stake, offered.escrow);
    } catch (e) {
      held = alreadySpent(e) ? await heldPayment(s, payment) : null;
      if (!held) throw e; // not because the payment went out meanwhile
    }
  }
  try {
    return await send(committed.stake, held.held, held.pool);
  } catch (e) {
    if (!alreadySpent(e)) throw e;
    return await send(null, held.held, held.pool); // the stake is released: the held payment alone
  }
}

/** True for a refusal because a coin the proof spends is spent already (paid, released). */
function alreadySpent(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "tx/missing-inputs" || code === "mempool/conflict";
}
