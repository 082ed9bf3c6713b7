/**
 * @module The client side of a job, as named phases: survey the nodes and refuse terms none would
 * take before any coin is locked (phases/survey.ts), offer (phases/offer.ts), await the receipt
 * (phases/receipt.ts), pay (phases/pay.ts), await the delivery with the non-delivery claim
 * (phases/delivery.ts), check the delivery (phases/check.ts), and verify it locally or by neighbours
 * (phases/verify.ts, outsourced.ts), publishing a fraud proof when the work is false, or
 * distributing the payment's validation pool to the due validators that checked it
 * (phases/distribute.ts) and handing them the distribution (phases/hand_distribution.ts). A failure
 * after the escrow is published is a {@link JobFailedError} naming the escrow and when it refunds;
 * {@link refundAtExpiry} takes it back. It speaks to one node over HTTP, as a light client would,
 * and imports nothing with FFI or file access.
 */

import { fromHex, toHex } from "../chain/bytes.ts";
import { hash160 } from "../chain/hash.ts";
import { publicKeyOf } from "../chain/keys.ts";
import { networkParams } from "../chain/params.ts";
import { payToHashScript } from "../chain/script.ts";
import { encodeTransaction } from "../chain/tx.ts";
import { poolCoin, refundTx } from "../chain/job_tx.ts";
import type { NodeClient } from "../relay/client.ts";
import type { Verdict } from "../verifier-wasm/mod.ts";
import { JobClientError } from "./errors.ts";
import { JobFailedError } from "./job_failure.ts";
import { candidatesFor, checkExpiry, surveyNetwork } from "./phases/survey.ts";
import type { ReceiptMessage } from "./job_messages.ts";
import { type JobSession, openSession, sendJobMessage, type StateReporter } from "./job_session.ts";
import { Subscription } from "./subscription.ts";
import {
  type OutsourcedCheck,
  type OutsourceOptions,
  outsourceVerification,
  paidRecords,
  tallyCheck,
  type Vote,
} from "./outsourced.ts";
import { chooseVoters, dueContextOf } from "./validator_ticket.ts";
import { checkDelivery, slashBadAnswer } from "./phases/check.ts";
import { awaitDelivery } from "./phases/delivery.ts";
import { type JobTerms, offerJob } from "./phases/offer.ts";
import { payForJob, paymentFor } from "./phases/pay.ts";
import { distributePool, type PaidValidators } from "./phases/distribute.ts";
import { handDistribution } from "./phases/hand_distribution.ts";
import { awaitReceipt } from "./phases/receipt.ts";
import { type ComputeReputation, fetchReputation } from "./phases/reputation.ts";
import {
  beginChoice,
  fetchWeights,
  finalAssignment,
  type NodeAssignment,
} from "./phases/choose.ts";
import { publishFraudProof, verifyLocally } from "./phases/verify.ts";

/** Everything `job submit` needs. */
export interface SubmitOptions extends JobTerms {
  /** The client's node. */
  node: NodeClient;
  /** The client wallet's secret key (pays the escrow, signs messages, decrypts the output). */
  secretKey: Uint8Array;
  /** Miner fee per transaction in base units. */
  fee: bigint;
  /** Model bytes for local verification; absent = no verification. */
  verifyWith?: Uint8Array;
  /** Verification positions: "all" (default; one prefill checks every token) or "sampled". */
  positions?: "all" | "sampled";
  /** Sampled interior positions (default 8). */
  k?: number;
  /**
   * Outsourced verification: ask neighbours (a majority of `verifiers` decides; without `verifiers`,
   * as many as the survey found serving the model).
   */
  outsource?: Omit<OutsourceOptions, "verifiers"> & { verifiers?: number };
  /** Runs each coin selection and broadcast with the wallet's coins reserved (see JobSession). */
  spendLock?: <T>(spend: () => Promise<T>) => Promise<T>;
  /** How long to wait for the delivery before claiming non-delivery on chain (default 30 s). */
  deliveryTimeoutMs?: number;
  /** Dev tests: act as if no delivery came (exercises the claim and the node's answer). */
  ignoreDelivery?: boolean;
  /** Dev tests: never pay (dispute row 1). */
  neverPay?: boolean;
  /** Reports each state as it happens. */
  onState?: StateReporter;
  /** Give up after this many ms (default 120 s). */
  timeoutMs?: number;
  /**
   * Only these compute nodes (envelope keys, hex) may take the job (the first to accept); absent =
   * a node drawn by compute weight (phases/choose.ts), or the first to accept without weights.
   */
  computeNodes?: string[];
  /** Uniform draws in [0, 1) for the weighted choice of the node (default: crypto random). */
  random?: () => number;
  /**
   * Have messages and chain events pushed over `/v1/subscribe` (default true); HTTP polling when
   * false or when the node does not answer the subscription.
   */
  push?: boolean;
}

/** How a submitted job ended for the client. */
export interface SubmitResult {
  /** Job id hex. */
  jobId: string;
  /** Final client-side state. */
  state: "verified" | "disputed" | "slashed" | "unpaid" | "delivered" | "bad-delivery";
  /** Output tokens (when delivered). */
  outputTokens?: number[];
  /** Finish reason (when delivered). */
  finishReason?: "stop" | "length";
  /** Verification verdict (when verified). */
  verdict?: Verdict;
  /**
   * Outsourced verification: the majority verdict, each verifier's vote, positions checked, who
   * might vote (due validators by weight, or any verifier without weights), the validators not due
   * and the answers refused; and, when due validators voted and the output is not disputed, the
   * distribution of the payment's validation pool to them (`paidValidators`: each one's share).
   */
  outsourced?:
    & { verdict: "honest" | "fraud" | "inconclusive"; votes: Vote[]; checked: number }
    & Pick<OutsourcedCheck, "selection" | "notDue" | "refused">
    & { paidValidators?: PaidValidators };
  /** Non-delivery or bad-answer slash txid (when slashed). */
  slashTxid?: string;
  /** Fraud proof txid (when disputed). */
  fraudTxid?: string;
  /** The escrow outpoint. */
  escrow: { txid: string; vout: number; value: bigint };
  /** The node's receipt. */
  receipt?: ReceiptMessage;
  /** How the compute node was chosen, and the one that took the job (with its weight and share). */
  assignment?: NodeAssignment;
  /** The compute node's reputation and validation probability, as the client's node derives them. */
  computeNode?: ComputeReputation;
  /** What the user should know or do (e.g. too few verifier votes), one line each. */
  notes: string[];
}

/**
 * Runs a job from offer to verified output (or dispute). Terms no reachable compute node would take
 * fail before any coin is locked; any failure after the escrow is published is a
 * {@link JobFailedError}.
 */
export async function submitJob(o: SubmitOptions): Promise<SubmitResult> {
  // Opened beside the status and the survey; messages that come first wait in the node's inbox.
  const events = o.push === false
    ? undefined
    : Subscription.connect(o.node.url, o.secretKey).catch(() => undefined);
  const { network } = await o.node.status().catch(async (e) => {
    (await events)?.close();
    throw e;
  });
  const s = openSession(
    o.node,
    networkParams(network),
    o.secretKey,
    o.fee,
    o.timeoutMs ?? 120_000,
    o.onState,
  );
  s.spendLock = o.spendLock;
  try {
    return await runJob(s, o, events);
  } finally {
    (await events)?.close();
  }
}

async function runJob(
  s: JobSession,
  o: SubmitOptions,
  events: Promise<Subscription | undefined> | undefined,
): Promise<SubmitResult> {
  checkExpiry(o, s.params);
  const named = o.offerTo !== undefined || o.computeNodes !== undefined;
  const [survey, subscribed, weights] = await Promise.all([
    surveyNetwork(o.node),
    events,
    // Read for the draw of the compute node, and for the validators' draws of an outsourced check.
    named && !o.outsource ? null : fetchWeights(o.node),
  ]);
  s.events = subscribed;
  const candidates = candidatesFor(survey, o);
  const chosen = beginChoice(s, candidates, named ? null : weights, o.random);
  const offered = await offerJob(s, chosen.first ? { ...o, offerTo: chosen.first.node } : o);
  let paymentSent = false;
  try {
    return await runOffered();
  } catch (e) {
    s.say("failed", { code: (e as { code?: string }).code ?? null });
    throw new JobFailedError(e, {
      escrow: { txid: offered.escrow.txid, vout: 0, value: offered.escrow.value },
      expiryHeight: offered.job.expiryHeight,
      paymentSent,
    });
  }

  async function runOffered(): Promise<SubmitResult> {
    const escrow = { txid: offered.escrow.txid, vout: 0, value: offered.escrow.value };
    const only = o.offerTo !== undefined
      ? new Set([o.offerTo])
      : o.computeNodes && new Set(o.computeNodes);
    const keys = chosen.choice
      ? [...chosen.choice.weights.keys()]
      : candidates.flatMap((c) => c.key && (!only || only.has(c.key)) ? c.key : []);
    const committed = await awaitReceipt(
      s,
      offered,
      keys,
      chosen.choice ? undefined : only,
      chosen.choice ?? undefined,
    );
    const assignment = finalAssignment(
      chosen.assignment,
      chosen.choice,
      toHex(committed.computeKey),
    );
    const computeNode = await fetchReputation(s.node, committed.receipt.rewardAddress);
    const base = {
      jobId: offered.id,
      escrow,
      receipt: committed.receipt,
      assignment,
      computeNode,
      notes: [] as string[],
    };
    if (o.neverPay) {
      s.say("unpaid", {});
      return { ...base, state: "unpaid" };
    }
    // Weights in force at the client's node: a tenth of the payment goes to the job's validation
    // pool, for the due validators that check the output (distributed below), else the executor's.
    const payment = paymentFor(s, offered, committed, weights !== null && "sprint" in weights);
    await payForJob(s, offered, committed, payment);
    paymentSent = true;

    const delivery = await awaitDelivery(s, offered, committed, {
      timeoutMs: o.deliveryTimeoutMs ?? 30_000,
      ignoreDelivery: o.ignoreDelivery,
      resendPayment: () => sendJobMessage(s, payment.message, committed.computeKey),
    });
    if (delivery.kind === "slashed") {
      return { ...base, state: "slashed", slashTxid: delivery.txid };
    }
    const output = checkDelivery(
      o.secretKey,
      delivery.ciphertext,
      offered.jobId,
      committed.receipt.commitment,
    );
    if (!output) {
      s.say("bad-delivery", { reason: "the output does not decrypt to the committed output" });
      if (delivery.kind !== "answered") return { ...base, state: "bad-delivery" };
      const slashTxid = await slashBadAnswer(
        s,
        offered,
        committed,
        delivery.ciphertext,
        delivery.answer,
      );
      s.say("slashed", { slashTx: slashTxid, reason: "the answer on chain is provably bad" });
      return { ...base, state: "slashed", slashTxid };
    }
    s.say("delivered", { tokens: output.outputTokens.length, finish: output.finishReason });
    const delivered = { ...base, ...output };

    if (o.outsource) {
      const serving = survey.verifiers.filter((v) => v.models.includes(o.modelId));
      const available = serving.length;
      const executor = committed.receipt.rewardAddress;
      const voters = chooseVoters(
        dueContextOf(weights, executor, computeNode),
        serving.map((v) => v.validator),
      );
      const { validators } = voters;
      // By weight, the answers to wait for are those of the verifiers holding weight.
      const verifiers = o.outsource.verifiers ??
        Math.max(1, validators ? voters.holders : available);
      const check = await outsourceVerification(
        s,
        offered,
        output,
        committed.receipt.commitment,
        {
          ...o.outsource,
          verifiers,
          executor,
          validators,
          openReason: voters.selection.by === "any-verifier" ? voters.selection.reason : undefined,
        },
      );
      const { votes, positions, selection, notDue, refused } = check;
      const tally = tallyCheck(check, verifiers);
      // The due validators that voted share the payment's pool (not when it is disputed: the fraud
      // proof takes the payment back, pool included).
      const records = tally.verdict === "fraud" || !poolCoin(payment.txid, payment.tx.outputs)
        ? []
        : paidRecords(check.records);
      // Not taken (the payment not yet known, the node unreachable): the job stands, the pool goes
      // to the executor at the epoch's end.
      const paidValidators = records.length
        ? await distributePool(s, payment, records).catch((e) => {
          delivered.notes.push(
            `the validation pool was not distributed to ${records.length} validator(s) ` +
              `(${(e as Error).message}); ` +
              `the executor takes it at the epoch's end`,
          );
          return undefined;
        })
        : undefined;
      // The paid validators' nodes keep it and submit it once the payment is known.
      if (paidValidators) await handDistribution(s, offered.id, paidValidators, votes);
      const outsourced = {
        verdict: tally.verdict,
        votes,
        checked: new Set(positions).size,
        selection,
        notDue,
        refused,
        ...(paidValidators ? { paidValidators } : {}),
      };
      s.say("outsourced", {
        verdict: tally.verdict,
        votes: votes.map((v) => `${v.key.slice(0, 12)}:${v.verdict}`),
        selection: selection.by,
        notDue: notDue.length,
        refused: refused.map((r) => `${r.key.slice(0, 12)}:${r.code}`),
      });
      const majority = Math.floor(verifiers / 2) + 1;
      if (validators && votes.length === 0) {
        delivered.notes.push(
          `no validator due for this job voted (compute weights of sprint ${validators.sprint} ` +
            `are in force: only validators drawn by weight vote; the executor's validation ` +
            `probability ${validators.validationProbability}; ${notDue.length} not due, ` +
            `${refused.length} answer(s) refused); verify locally with --verify local --model FILE`,
        );
      } else if (!validators && votes.length < majority) {
        const note = `${votes.length} verifier vote(s) came, a majority of ${verifiers} needs ` +
          `${majority}; ${available} node(s) reachable from your node serve verification for this model: ` +
          `start verifier nodes (node --serve-verify --model FILE, or devnet --verifiers N), ask for ` +
          `fewer with --verifiers ${
            Math.max(1, votes.length)
          }, or verify locally with --verify local --model FILE`;
        s.say("too-few-votes", { votes: votes.length, needed: majority, available });
        delivered.notes.push(note);
      }
      if (tally.verdict === "honest") {
        s.say("verified", { verdict: "honest", by: "outsourced" });
        return { ...delivered, outsourced, state: "verified" };
      }
      if (tally.verdict !== "fraud") return { ...delivered, outsourced, state: "delivered" };
      const fraudTxid = await publishFraudProof(
        s,
        offered,
        committed,
        output,
        tally.positions,
        payment,
      );
      s.say("disputed", { fraudTx: fraudTxid, positions: tally.positions });
      return { ...delivered, outsourced, state: "disputed", fraudTxid };
    }
    if (!o.verifyWith) return { ...delivered, state: "delivered" };

    const local = await verifyLocally(offered, output, {
      gguf: o.verifyWith,
      positions: o.positions,
      k: o.k,
    });
    if (!local.dispute) {
      s.say("verified", { verdict: local.verdict.verdict });
      return { ...delivered, state: "verified", verdict: local.verdict };
    }
    const fraudTxid = await publishFraudProof(
      s,
      offered,
      committed,
      output,
      local.dispute,
      payment,
    );
    s.say("disputed", {
      fraudTx: fraudTxid,
      positions: local.dispute,
      reasons: local.verdict.reasons,
    });
    return { ...delivered, state: "disputed", verdict: local.verdict, fraudTxid };
  }
}

/** Refunds an unpaid escrow at or after its expiry height (dispute row 1). */
export async function refundEscrow(
  node: NodeClient,
  secretKey: Uint8Array,
  escrow: { txid: string; vout: number },
  fee: bigint,
): Promise<string> {
  const tx = await node.tx(escrow.txid);
  const out = tx.outputs[escrow.vout];
  if (!out) throw new JobClientError("job/no-escrow", "no such escrow output");
  const coin = {
    ...escrow,
    value: BigInt(out.units),
    scriptPubKey: fromHex(out.scriptPubKey),
  };
  const refund = refundTx(
    coin,
    { payTo: payToHashScript(hash160(publicKeyOf(secretKey))), fee },
    fromHex(tx.jobId, 32),
    secretKey,
  );
  return (await node.sendTx(encodeTransaction(refund))).txid;
}

/**
 * Waits until the escrow can be refunded (the next block reaches its expiry height), then refunds
 * it; null when something else spent it first (the node's payment, or a fraud proof).
 */
export async function refundAtExpiry(
  node: NodeClient,
  secretKey: Uint8Array,
  escrow: { txid: string; vout: number },
  expiryHeight: number,
  fee: bigint,
  pollMs = 1_000,
): Promise<string | null> {
  for (;;) {
    const { height } = await node.status();
    if (height + 1 >= expiryHeight) {
      try {
        return await refundEscrow(node, secretKey, escrow, fee);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "tx/missing-inputs" || code === "mempool/conflict") return null;
        if (code !== "job/not-expired") throw e;
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
