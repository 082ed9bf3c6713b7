/**
 * @module One choice of a completion as one network job: the reward (what the chosen node asks, never
 * above the gateway's price cap per 1k tokens), paid from the gateway's wallet, verified locally when
 * the gateway holds the model and by neighbours otherwise; a job that fails is a `GatewayError` with
 * the job id, and an unpaid escrow is refunded at its expiry in the background.
 */

import { getLogger } from "@logtape/logtape";
import { formatCoins, parseCoins } from "../chain/amount.ts";
import { CamelidError } from "../chain/errors.ts";
import { addressFromPublicKey, publicKeyOf } from "../chain/keys.ts";
import { networkParams } from "../chain/params.ts";
import { refundAtExpiry, submitJob, type SubmitResult } from "../client/job_client.ts";
import { JobFailedError, refundAdvice } from "../client/job_failure.ts";
import type { ComputeAd } from "../client/phases/survey.ts";
import type { NodeClient } from "../relay/client.ts";
import { GatewayError } from "./errors.ts";

const log = getLogger(["camelid", "gateway"]);

/** What every job of the gateway shares. */
export interface JobSettings {
  /** The gateway's node. */
  node: NodeClient;
  /** The gateway wallet's secret key. */
  secretKey: Uint8Array;
  /** Miner fee per transaction, base units. */
  fee: bigint;
  /** Price cap: most base units paid per 1,000 tokens (prompt + output budget). */
  maxPricePer1k: bigint;
  /** Give up on a job after this many ms. */
  timeoutMs: number;
  /** Model bytes by id for local verification (else verification is outsourced). */
  localModels: ReadonlyMap<string, Uint8Array>;
  /** Serialises the wallet's spends. */
  spendLock: <T>(spend: () => Promise<T>) => Promise<T>;
  /**
   * Told when the refund of a failed job's unpaid escrow (at its expiry, in the background) ends:
   * its txid, null when something else spent the escrow, or the error.
   */
  onRefund?: (escrow: string, txid: string | null, error?: unknown) => void;
}

/** The terms of one choice. */
export interface ChoiceTerms {
  /** Model id. */
  modelId: string;
  /** Prompt tokens. */
  promptTokens: number[];
  /** Output budget. */
  maxTokens: number;
  /** Job seed. */
  seed: bigint;
  /** Temperature. */
  temperature: number;
  /** Nucleus mass. */
  topP: number;
  /** Reward, base units. */
  reward: bigint;
  /** The node that must take it (envelope key hex), or any. */
  computeNode: string | null;
  /** Blocks until the escrow refunds. */
  expiryBlocks: number;
}

/** A verified job: its output and the record a caller can audit on chain. */
export interface ChoiceResult {
  /** Output token ids. */
  outputTokens: number[];
  /** Why generation ended. */
  finishReason: "stop" | "length";
  /** The audit record (the response's `camelid` object). */
  audit: JobAudit;
}

/** Where a job stands on chain (the response's `camelid` object). */
export interface JobAudit {
  /** Job id (hex). */
  job_id: string | null;
  /** The compute node's envelope key (hex). */
  compute_node: string | null;
  /** The verdict: honest, fraud, inconclusive, or null before any. */
  verdict: string | null;
  /** How it was verified: local or outsourced. */
  verified_by: "local" | "outsourced";
  /** The escrow txid. */
  escrow_txid: string | null;
  /** The payment txid. */
  payment_txid: string | null;
  /** Reward paid, base units (decimal). */
  reward: string;
  /** The fraud proof txid (the node's stake slashed). */
  fraud_txid?: string;
  /** The slash txid (non-delivery or bad answer). */
  slash_txid?: string;
}

/**
 * The reward of a job of `tokens` (prompt + output budget) on `holders`: what the most demanding of
 * them asks (so any can take it); `GatewayError` 402 when that exceeds the price cap.
 */
export function rewardFor(holders: ComputeAd[], tokens: number, maxPricePer1k: bigint): bigint {
  const cap = (maxPricePer1k * BigInt(tokens) + 999n) / 1000n;
  const asked = holders.reduce((m, c) => (c.minReward > m ? c.minReward : m), 1n);
  if (asked > cap) {
    throw new GatewayError(
      402,
      "price_above_cap",
      `the compute nodes serving this model ask ${asked} base units for ${tokens} tokens, above the gateway's price cap of ${cap}`,
    );
  }
  return asked;
}

/** How long to wait before asking the node for the wallet's funds a second time (ms). */
export const FUNDS_RECHECK_MS = 1_000;

/**
 * Checks, before any escrow, that the gateway's wallet holds `needed` base units (mature coins and
 * unconfirmed change); `GatewayError` 402 `insufficient_funds` otherwise.
 */
export async function checkFunds(o: JobSettings, needed: bigint): Promise<void> {
  const address = addressFromPublicKey(publicKeyOf(o.secretKey));
  const funds = async () => {
    const a = await o.node.address(address);
    return parseCoins(a.spendable) + a.unconfirmed.reduce((s, u) => s + BigInt(u.units), 0n);
  };
  let have = await funds();
  if (have < needed) {
    // A block connected while the node read the coins can hide a mempool change once: ask again.
    await new Promise((r) => setTimeout(r, FUNDS_RECHECK_MS));
    have = await funds();
  }
  if (have < needed) {
    throw new GatewayError(
      402,
      "insufficient_funds",
      `the gateway's wallet ${address} holds ${formatCoins(have)} coins, the request needs ${
        formatCoins(needed)
      } (rewards and fees); nothing was paid`,
    );
  }
}

/** Runs one choice as a job; a `GatewayError` when it fails or its output is not verified honest. */
export async function runChoice(o: JobSettings, t: ChoiceTerms): Promise<ChoiceResult> {
  const local = o.localModels.get(t.modelId);
  const audit: JobAudit = {
    job_id: null,
    compute_node: null,
    verdict: null,
    verified_by: local ? "local" : "outsourced",
    escrow_txid: null,
    payment_txid: null,
    reward: t.reward.toString(),
  };
  let result: SubmitResult;
  try {
    result = await submitJob({
      node: o.node,
      secretKey: o.secretKey,
      fee: o.fee,
      spendLock: o.spendLock,
      modelId: t.modelId,
      promptTokens: t.promptTokens,
      maxTokens: t.maxTokens,
      seed: t.seed,
      temperature: t.temperature,
      topK: 0,
      topP: t.topP,
      reward: t.reward,
      expiryBlocks: t.expiryBlocks,
      verifyWith: local,
      outsource: local ? undefined : {},
      timeoutMs: o.timeoutMs,
      computeNodes: t.computeNode ? [t.computeNode] : undefined,
      onState: (state, d) => {
        if (state === "offered") {
          audit.job_id = String(d.jobId);
          audit.escrow_txid = String(d.escrow).split(":")[0];
        } else if (state === "accepted") audit.compute_node = String(d.node);
        else if (state === "payment-sent") audit.payment_txid = String(d.payment);
      },
    });
  } catch (e) {
    throw await failure(o, e, audit);
  }
  audit.verdict = result.verdict?.verdict ?? result.outsourced?.verdict ?? null;
  if (result.fraudTxid) audit.fraud_txid = result.fraudTxid;
  if (result.slashTxid) audit.slash_txid = result.slashTxid;
  if (result.state !== "verified" || !result.outputTokens || !result.finishReason) {
    const why = result.state === "disputed"
      ? "the compute node's output is false: a fraud proof slashes its stake and refunds the escrow"
      : result.state === "slashed"
      ? "the compute node did not deliver a good output: its stake is slashed"
      : `the output could not be verified (${result.state}${
        result.notes.length ? `: ${result.notes.join("; ")}` : ""
      })`;
    throw new GatewayError(502, `job_${result.state.replace("-", "_")}`, why, null, { ...audit });
  }
  return { outputTokens: result.outputTokens, finishReason: result.finishReason, audit };
}

/** The `GatewayError` for a job that threw: its status from the cause's code. */
async function failure(o: JobSettings, e: unknown, audit: JobAudit): Promise<GatewayError> {
  if (e instanceof GatewayError) return e;
  const code = e instanceof CamelidError ? e.code : "job/failed";
  const message = e instanceof Error ? e.message : String(e);
  if (!(e instanceof JobFailedError)) {
    if (code === "wallet/insufficient-funds") {
      return new GatewayError(402, "insufficient_funds", `the gateway's wallet: ${message}`);
    }
    if (code === "job/no-node" || code === "job/declined") {
      return new GatewayError(503, "no_compute_node", message, "model");
    }
    if (code === "job/context-too-long") {
      return new GatewayError(400, "context_length_exceeded", message, "max_tokens");
    }
    if (code === "job/reward-too-low") {
      return new GatewayError(402, "price_above_cap", message);
    }
    return new GatewayError(502, "job_failed", message, null, undefined, { cause: e });
  }
  const status = await o.node.status().catch(() => null);
  const height = status?.height ?? 0;
  const params = networkParams(status?.network ?? "dev");
  const refund = {
    escrow: `${e.atRisk.escrow.txid}:${e.atRisk.escrow.vout}`,
    refund_height: e.atRisk.expiryHeight,
    payment_sent: e.atRisk.paymentSent,
    advice: refundAdvice(e.atRisk, height, params),
  };
  if (!e.atRisk.paymentSent) {
    refundAtExpiry(o.node, o.secretKey, e.atRisk.escrow, e.atRisk.expiryHeight, o.fee)
      .then((txid) => {
        log.info("Escrow {escrow} refunded: {txid}", { ...refund, txid });
        o.onRefund?.(refund.escrow, txid);
      }, (err) => {
        log.warning("Refund of {escrow} failed: {err}", { ...refund, err });
        o.onRefund?.(refund.escrow, null, err);
      });
  }
  const extra = { ...audit, refund };
  if (code === "job/declined") {
    return new GatewayError(503, "no_compute_node", `${message}; ${refund.advice}`, "model", extra);
  }
  if (code === "job/timeout") {
    return new GatewayError(
      504,
      "job_timeout",
      `job ${audit.job_id} timed out: ${message}; ${refund.advice}${
        e.atRisk.paymentSent ? "" : " (the gateway refunds it then)"
      }`,
      null,
      extra,
    );
  }
  return new GatewayError(502, "job_failed", `job ${audit.job_id}: ${message}`, null, extra);
}
