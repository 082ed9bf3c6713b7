/**
 * @module The client side of a job: offer it with an escrow, take the first compute node that
 * accepts, check its receipt and stake, pay by a signed escrow spend, decrypt the delivery, check it
 * against the commitment, verify it with RASTiC, and publish a fraud proof when the work is false.
 * It speaks to one node over HTTP (`/v1/txs`, `/v1/messages`), as a light client would.
 */

import { decrypt } from "eciesjs";
import { concatBytes, equalBytes, fromHex, toHex } from "../../chain/bytes.ts";
import { ByteWriter } from "../../chain/bytes.ts";
import { CamelidError } from "../../chain/errors.ts";
import { hash160 } from "../../chain/hash.ts";
import { encodeJob, type Job, jobIdBytes } from "../../chain/job.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type JobMessage,
  type ReceiptMessage,
} from "../../client/job_messages.ts";
import { addressFromPublicKey, decodeAddress, publicKeyOf, signDigest } from "../../chain/keys.ts";
import { type NetworkParams, networkParams } from "../../chain/params.ts";
import {
  computeStakeScript,
  jobEscrowScript,
  parseOutputScript,
  payToAddressScript,
  payToHashScript,
  stakeNoticeScript,
  TEMPLATE_JOB_CLAIM,
} from "../../chain/script.ts";
import {
  PATH_BAD_ANSWER,
  PATH_ESCROW_FRAUD,
  PATH_NON_DELIVERY,
  PATH_PAY,
  PATH_REFUND,
  PATH_STAKE_FRAUD,
} from "../../chain/spend.ts";
import {
  decodeTransaction,
  encodeTransaction,
  signatureHash,
  type Transaction,
  txid,
} from "../../chain/tx.ts";
import { buildSpend } from "../../chain/wallet.ts";
import { proveSharedPoint } from "../../chain/dleq.ts";
import { createEnvelope, envelopeFromJson, envelopeToJson } from "../../relay/envelope.ts";
import { NodeClient } from "../../relay/client.ts";

export { NodeClient };
import {
  choosePositions,
  outputCommitment,
  selectionSeed,
  type Verdict,
  verify,
} from "../../verifier-wasm/mod.ts";
import { jobRecordOf } from "../fraud.ts";

/** Everything `job submit` needs. */
export interface SubmitOptions {
  /** The client's node. */
  node: NodeClient;
  /** The client wallet's secret key (pays the escrow, signs messages, decrypts the output). */
  secretKey: Uint8Array;
  /** Model id (hex). */
  modelId: string;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Output budget. */
  maxTokens: number;
  /** Sampler settings. */
  seed: bigint;
  /** Temperature. */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off). */
  topP: number;
  /** Reward in base units. */
  reward: bigint;
  /** Miner fee per transaction in base units. */
  fee: bigint;
  /** Blocks until the escrow refunds (default: the network's). */
  expiryBlocks?: number;
  /** Model bytes for local verification; absent = no verification. */
  verifyWith?: Uint8Array;
  /** Verification positions: "all" (default; one prefill checks every token) or "sampled". */
  positions?: "all" | "sampled";
  /** Sampled interior positions (default 8). */
  k?: number;
  /** Outsourced verification: ask neighbours (majority of `verifiers` decides). */
  outsource?: { verifiers: number; timeoutMs?: number; k?: number };
  /** How long to wait for the delivery before claiming non-delivery on chain (default 30 s). */
  deliveryTimeoutMs?: number;
  /** Dev tests: act as if no delivery came (exercises the claim and the node's answer). */
  ignoreDelivery?: boolean;
  /** Dev tests: never pay (dispute row 1). */
  neverPay?: boolean;
  /** Reports each state as it happens. */
  onState?: (state: string, detail: Record<string, unknown>) => void;
  /** Give up after this many ms (default 120 s). */
  timeoutMs?: number;
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
  /** Outsourced verification: the majority verdict and each verifier's vote. */
  outsourced?: { verdict: "honest" | "fraud" | "inconclusive"; votes: Vote[] };
  /** Non-delivery slash txid (when slashed). */
  slashTxid?: string;
  /** Fraud proof txid (when disputed). */
  fraudTxid?: string;
  /** The escrow outpoint. */
  escrow: { txid: string; vout: number };
  /** The node's receipt. */
  receipt?: ReceiptMessage;
}

interface Inbox {
  next(timeoutMs: number): Promise<{ from: Uint8Array; m: JobMessage }>;
}

function inbox(node: NodeClient, key: Uint8Array, jobId: string): Inbox {
  let after = 0;
  const queue: { from: Uint8Array; m: JobMessage }[] = [];
  const seen = new Set<string>();
  return {
    async next(timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (Date.now() > end) {
          throw new CamelidError("job/timeout", "no answer from a compute node in time");
        }
        const got = await node.call<{ messages: (Record<string, unknown> & { seq: number })[] }>(
          `/v1/messages?to=${toHex(key)}&after=${after}`,
        );
        for (const raw of got.messages) {
          after = Math.max(after, raw.seq);
          const { seq: _seq, ...json } = raw;
          const env = envelopeFromJson(json);
          const k = toHex(env.from) + toHex(env.id);
          if (seen.has(k) || env.type !== "direct" || !isJobPayload(env.payload)) continue;
          seen.add(k);
          try {
            const m = decodeJobMessage(env.payload);
            if ("jobId" in m && m.jobId === jobId) queue.push({ from: env.from, m });
          } catch { /* not ours */ }
        }
        if (queue.length === 0) await new Promise((r) => setTimeout(r, 250));
      }
      return queue.shift()!;
    },
  };
}

async function sendMessage(
  node: NodeClient,
  params: NetworkParams,
  secretKey: Uint8Array,
  m: JobMessage,
  to?: Uint8Array,
): Promise<void> {
  const env = createEnvelope(
    { magic: params.magic, type: "direct", to, payload: encodeJobMessage(m) },
    publicKeyOf(secretKey),
    secretKey,
  );
  await node.call("/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(envelopeToJson(env)),
  });
}

/** Signs a single-input escrow or stake spend: `path || sig || pubkey || extra`. */
export function signTemplateSpend(
  tx: Transaction,
  coin: { value: bigint; scriptPubKey: Uint8Array },
  path: number,
  secretKey: Uint8Array,
  extra: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const sig = signDigest(signatureHash(tx, 0, coin), secretKey);
  tx.inputs[0].scriptSig = concatBytes(new Uint8Array([path]), sig, publicKeyOf(secretKey), extra);
  return encodeTransaction(tx);
}

/** The fraud proof transaction: slashes the stake and refunds the escrow to the client. */
export function fraudProofTx(
  job: Job,
  output: { tokens: number[]; finish: "stop" | "length" },
  positions: number[],
  stake: { txid: string; vout: number; value: bigint },
  escrow: { txid: string; vout: number; value: bigint } | null,
  fee: bigint,
): Uint8Array {
  const w = new ByteWriter(256).u8(PATH_STAKE_FRAUD).varBytes(encodeJob(job)).varint(
    output.tokens.length,
  );
  for (const t of output.tokens) w.u32(t);
  w.u8(output.finish === "stop" ? 0 : 1).varint(positions.length);
  for (const p of positions) w.u32(p);
  const inputs = [{
    prevout: { txid: fromHex(stake.txid), vout: stake.vout },
    scriptSig: w.finish(),
    sequence: 0xffffffff,
  }];
  if (escrow) {
    inputs.push({
      prevout: { txid: fromHex(escrow.txid), vout: escrow.vout },
      scriptSig: new Uint8Array([PATH_ESCROW_FRAUD]),
      sequence: 0xffffffff,
    });
  }
  const total = stake.value + (escrow?.value ?? 0n);
  const tx: Transaction = {
    version: 1,
    inputs,
    outputs: [{ value: total - fee, scriptPubKey: payToHashScript(hash160(job.clientKey)) }],
    lockTime: 0,
    jobId: jobIdBytes(job),
  };
  return encodeTransaction(tx);
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
    full.checked.filter((c) => c.status === s).map((c) => c.position);
  const faulty = full.faults.flatMap((f) => f.position ?? []);
  for (const positions of [of("fail"), faulty, of("near")]) {
    if (positions.length > 0) return positions;
  }
  return [Math.max(0, outputLength - 1)];
}

/** Runs a job from offer to verified output (or dispute). */
export async function submitJob(o: SubmitOptions): Promise<SubmitResult> {
  const say = o.onState ?? (() => {});
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const left = () => Math.max(1, deadline - Date.now());
  const status = await o.node.call<{ network: string; height: number }>("/v1/status");
  const params = networkParams(status.network);
  const clientKey = publicKeyOf(o.secretKey);
  const clientHash = hash160(clientKey);
  const address = addressFromPublicKey(clientKey);
  const job: Job = {
    modelId: fromHex(o.modelId, 32),
    promptTokens: o.promptTokens,
    seed: o.seed,
    maxTokens: o.maxTokens,
    temperature: Math.fround(o.temperature),
    topK: o.topK,
    topP: Math.fround(o.topP),
    timestamp: Math.floor(Date.now() / 1000),
    expiryHeight: status.height + (o.expiryBlocks ?? params.jobs.defaultExpiry),
    clientKey,
    contact: o.node.url,
  };
  const jobId = jobIdBytes(job);
  const id = toHex(jobId);
  const escrowScript = jobEscrowScript(jobId, clientHash, job.expiryHeight);
  const { bytes: escrowBytes } = buildSpend({
    utxos: await o.node.spendableCoins(address),
    secretKey: o.secretKey,
    outputs: [{ value: o.reward, scriptPubKey: escrowScript }],
    fee: o.fee,
    jobId,
  });
  const escrow = { txid: (await o.node.sendTx(escrowBytes)).txid, vout: 0, value: o.reward };
  say("offered", { jobId: id, escrow: escrow.txid, expiryHeight: job.expiryHeight });
  await sendMessage(o.node, params, o.secretKey, {
    t: "offer",
    job: toHex(encodeJob(job)),
    escrow: { txid: escrow.txid, vout: 0 },
    escrowTx: toHex(escrowBytes),
  });

  const box = inbox(o.node, clientKey, id);
  let computeKey: Uint8Array | null = null;
  let receipt: ReceiptMessage | null = null;
  while (!receipt) {
    const { from, m } = await box.next(left());
    if (m.t === "accept" && !computeKey) {
      computeKey = from;
      await sendMessage(o.node, params, o.secretKey, { t: "assign", jobId: id }, from);
      say("accepted", { node: toHex(from), rewardAddress: m.rewardAddress });
    } else if (m.t === "receipt" && computeKey && equalBytes(from, computeKey)) {
      receipt = m;
    }
  }
  const stakeTx = decodeTransaction(fromHex(receipt.stakeTx));
  const stakeOut = stakeTx.outputs[receipt.stake.vout];
  const expected = computeStakeScript(
    jobId,
    decodeAddress(receipt.rewardAddress),
    clientHash,
    fromHex(receipt.commitment),
  );
  if (
    txid(stakeTx) !== receipt.stake.txid || !stakeOut ||
    !equalBytes(stakeOut.scriptPubKey, expected)
  ) {
    throw new CamelidError(
      "job/bad-receipt",
      "the receipt's stake does not lock a stake on this commitment",
    );
  }
  await o.node.sendTx(fromHex(receipt.stakeTx)).catch(() => {});
  const stake = { ...receipt.stake, value: stakeOut.value };
  say("committed", {
    commitment: receipt.commitment,
    tokens: receipt.tokenCount,
    finish: receipt.finishReason,
    stake: stake.txid,
  });
  if (o.neverPay) return { jobId: id, state: "unpaid", escrow, receipt };

  const pay: Transaction = {
    version: 1,
    inputs: [{
      prevout: { txid: fromHex(escrow.txid), vout: 0 },
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    }],
    outputs: [{ value: o.reward - o.fee, scriptPubKey: payToAddressScript(receipt.rewardAddress) }],
    lockTime: 0,
    jobId,
  };
  const stakeRef = new ByteWriter(36).bytes(fromHex(stake.txid)).u32(stake.vout).finish();
  const payBytes = signTemplateSpend(
    pay,
    { value: o.reward, scriptPubKey: escrowScript },
    PATH_PAY,
    o.secretKey,
    stakeRef,
  );
  await sendMessage(
    o.node,
    params,
    o.secretKey,
    { t: "payment", jobId: id, tx: toHex(payBytes) },
    computeKey!,
  );
  say("paid", { payment: txid(pay) });

  let delivered: { outputTokens: number[]; finishReason: "stop" | "length" } | null = null;
  let ciphertext: Uint8Array | null = null;
  let answer: { txid: string; vout: number } | null = null;
  try {
    const until = Date.now() + (o.deliveryTimeoutMs ?? 30_000);
    while (!ciphertext) {
      const { from, m } = await box.next(Math.max(1, Math.min(left(), until - Date.now())));
      if (m.t !== "delivery" || !equalBytes(from, computeKey!) || o.ignoreDelivery) continue;
      ciphertext = fromHex(m.ciphertext);
    }
  } catch (e) {
    if ((e as CamelidError).code !== "job/timeout") throw e;
    const outcome = await claimNonDelivery(o, params, id, jobId, stake, address);
    if (outcome.state === "slashed") {
      say("slashed", {
        slashTx: outcome.txid,
        reason: "the node did not answer the non-delivery claim",
      });
      return { jobId: id, state: "slashed", escrow, receipt, slashTxid: outcome.txid };
    }
    say("answered", { answerTx: outcome.txid });
    ciphertext = outcome.ciphertext;
    answer = { txid: outcome.txid, vout: outcome.vout };
  }
  try {
    delivered = JSON.parse(new TextDecoder().decode(decrypt(o.secretKey, ciphertext)));
  } catch {
    delivered = null;
  }
  const tokens = delivered?.outputTokens as number[];
  const finish = delivered?.finishReason as "stop" | "length";
  const good = Array.isArray(tokens) && (finish === "stop" || finish === "length") &&
    toHex(outputCommitment(jobId, tokens, finish)) === receipt.commitment;
  if (!good) {
    say("bad-delivery", { reason: "the output does not decrypt to the committed output" });
    if (!answer) return { jobId: id, state: "bad-delivery", escrow, receipt };
    // An on-chain answer that is provably bad: reveal the shared key with a DLEQ proof and slash.
    const { shared, proof } = proveSharedPoint(o.secretKey, ciphertext.subarray(0, 65));
    const w = new ByteWriter(233).u8(PATH_BAD_ANSWER).bytes(fromHex(answer.txid)).u32(answer.vout);
    const slash: Transaction = {
      version: 1,
      inputs: [{
        prevout: { txid: fromHex(stake.txid), vout: stake.vout },
        scriptSig: w.bytes(publicKeyOf(o.secretKey)).bytes(shared).bytes(proof).finish(),
        sequence: 0xffffffff,
      }],
      outputs: [{ value: stake.value - o.fee, scriptPubKey: payToHashScript(clientHash) }],
      lockTime: 0,
      jobId,
    };
    const slashTxid = (await o.node.sendTx(encodeTransaction(slash))).txid;
    say("slashed", { slashTx: slashTxid, reason: "the answer on chain is provably bad" });
    return { jobId: id, state: "slashed", escrow, receipt, slashTxid };
  }
  say("delivered", { tokens: tokens.length, finish });
  const publishFraud = async (positions: number[]) =>
    (await o.node.sendTx(
      fraudProofTx(job, { tokens, finish }, positions.slice(0, 64), stake, escrow, o.fee),
    )).txid;
  if (o.outsource) {
    const votes = await outsourceVerification(o, params, box, job, id, tokens, finish, receipt);
    const fraudVoters = votes.filter((v) => v.verdict === "fraud");
    const honestVoters = votes.filter((v) => v.verdict === "honest");
    const majority = Math.floor(o.outsource.verifiers / 2) + 1;
    const outsourced = {
      verdict: honestVoters.length >= majority
        ? "honest" as const
        : fraudVoters.length >= majority
        ? "fraud" as const
        : "inconclusive" as const,
      votes,
    };
    say("outsourced", {
      verdict: outsourced.verdict,
      votes: votes.map((v) => `${v.key.slice(0, 12)}:${v.verdict}`),
    });
    const base = {
      jobId: id,
      outputTokens: tokens,
      finishReason: finish,
      escrow,
      receipt,
      outsourced,
    };
    if (outsourced.verdict === "honest") return { ...base, state: "verified" };
    if (outsourced.verdict !== "fraud") return { ...base, state: "delivered" };
    // Positions every fraud voter reports failing.
    const failing = fraudVoters.map((v) => new Set(v.failing));
    const positions = [...failing[0]].filter((p) => failing.every((f) => f.has(p)));
    const fraudTxid = await publishFraud(positions.length ? positions : [...failing[0]]);
    say("disputed", { fraudTx: fraudTxid, positions });
    return { ...base, state: "disputed", fraudTxid };
  }
  if (!o.verifyWith) {
    return {
      jobId: id,
      state: "delivered",
      outputTokens: tokens,
      finishReason: finish,
      escrow,
      receipt,
    };
  }

  const verdict = await verify(jobRecordOf(job, jobId, tokens, finish), o.verifyWith, {
    positions: o.positions ?? "all",
    k: o.k ?? 8,
  });
  if (verdict.verdict !== "fraud") {
    say("verified", { verdict: verdict.verdict });
    return {
      jobId: id,
      state: "verified",
      outputTokens: tokens,
      finishReason: finish,
      verdict,
      escrow,
      receipt,
    };
  }
  // A fraud verdict from sampled checks: prove it with every failing position of a full check.
  const full = await verify(jobRecordOf(job, jobId, tokens, finish), o.verifyWith, {
    positions: "all",
  });
  const positions = disputePositions(full, tokens.length);
  const fraudTxid = await publishFraud(positions);
  say("disputed", { fraudTx: fraudTxid, positions, reasons: verdict.reasons });
  return {
    jobId: id,
    state: "disputed",
    outputTokens: tokens,
    finishReason: finish,
    verdict,
    fraudTxid,
    escrow,
    receipt,
  };
}

/**
 * Claims non-delivery on chain (a claim output funded by the client), then waits: the node's answer
 * brings the ciphertext; without one by the end of the window the stake is slashed to the client.
 */
async function claimNonDelivery(
  o: SubmitOptions,
  params: NetworkParams,
  id: string,
  jobId: Uint8Array,
  stake: { txid: string; vout: number; value: bigint },
  address: string,
): Promise<
  | { state: "answered"; txid: string; vout: number; ciphertext: Uint8Array }
  | { state: "slashed"; txid: string }
> {
  const stakeKey = `${stake.txid}:${stake.vout}`;
  const notices = async () =>
    (await o.node.call<{ notices: { kind: string; txid: string; height: number }[] }>(
      `/v1/jobs/${id}`,
    )).notices;
  // The stake must be mined before a claim can name it.
  await poll(
    o,
    async () =>
      (await o.node.call<{ confirmations: number }>(`/v1/txs/${stake.txid}`)).confirmations > 0,
  );
  const { bytes } = buildSpend({
    utxos: await o.node.spendableCoins(address),
    secretKey: o.secretKey,
    outputs: [{
      value: 0n,
      scriptPubKey: stakeNoticeScript(TEMPLATE_JOB_CLAIM, fromHex(stake.txid), stake.vout),
    }],
    fee: o.fee,
    jobId,
  });
  const claimTxid = (await o.node.sendTx(bytes)).txid;
  o.onState?.("claimed", { claimTx: claimTxid, stake: stakeKey });
  for (;;) {
    const list = await notices();
    const claim = list.find((n) => n.kind === "claim");
    const answer = list.find((n) => n.kind === "answer" && claim && n.height >= claim.height);
    if (answer) {
      const tx = await o.node.call<{ outputs: { scriptPubKey: string }[] }>(
        `/v1/txs/${answer.txid}`,
      );
      for (const [n, out] of tx.outputs.entries()) {
        const parsed = parseOutputScript(fromHex(out.scriptPubKey));
        if (parsed.type === "job-answer") {
          return { state: "answered", txid: answer.txid, vout: n, ciphertext: parsed.ciphertext };
        }
      }
    }
    if (claim) {
      const tip = (await o.node.call<{ height: number }>("/v1/status")).height;
      if (tip + 1 >= claim.height + params.jobs.disputeWindow && !answer) {
        const tx: Transaction = {
          version: 1,
          inputs: [{
            prevout: { txid: fromHex(stake.txid), vout: stake.vout },
            scriptSig: new Uint8Array([PATH_NON_DELIVERY]),
            sequence: 0xffffffff,
          }],
          outputs: [{
            value: stake.value - o.fee,
            scriptPubKey: payToHashScript(hash160(publicKeyOf(o.secretKey))),
          }],
          lockTime: 0,
          jobId,
        };
        try {
          return { state: "slashed", txid: (await o.node.sendTx(encodeTransaction(tx))).txid };
        } catch (e) {
          if ((e as CamelidError).code !== "job/claim-window") throw e;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function poll(o: SubmitOptions, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + (o.timeoutMs ?? 120_000);
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new CamelidError("job/timeout", "gave up waiting for the chain");
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One verifier's answer. */
export interface Vote {
  /** Verifier key (hex). */
  key: string;
  /** Its verdict. */
  verdict: "honest" | "fraud" | "inconclusive";
  /** Positions it reports failing. */
  failing: number[];
}

/**
 * Broadcasts a verification request for positions chosen by the client's secret (every position for
 * short outputs), and gathers signed verdicts from distinct verifiers until `verifiers` answered or
 * the timeout passes.
 */
async function outsourceVerification(
  o: SubmitOptions,
  params: NetworkParams,
  box: Inbox,
  job: Job,
  id: string,
  tokens: number[],
  finish: "stop" | "length",
  receipt: ReceiptMessage,
): Promise<Vote[]> {
  const want = o.outsource!;
  const seed = selectionSeed(
    { secret: crypto.getRandomValues(new Uint8Array(32)) },
    fromHex(receipt.commitment),
    fromHex(id),
  );
  const plan = choosePositions(
    tokens.length,
    finish,
    tokens.length <= 64 ? "all" : "sampled",
    want.k ?? 8,
    seed,
  );
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  await sendMessage(o.node, params, o.secretKey, {
    t: "verify-request",
    jobId: id,
    job: toHex(encodeJob(job)),
    outputTokens: tokens,
    finishReason: finish,
    positions: plan.positions,
    nonce,
  });
  o.onState?.("verifying", { positions: plan.positions.length, verifiers: want.verifiers });
  const votes = new Map<string, Vote>();
  const end = Date.now() + (want.timeoutMs ?? 30_000);
  while (votes.size < want.verifiers && Date.now() < end) {
    let next;
    try {
      next = await box.next(Math.max(1, end - Date.now()));
    } catch (e) {
      if ((e as CamelidError).code === "job/timeout") break;
      throw e;
    }
    const { from, m } = next;
    if (m.t !== "verdict" || m.nonce !== nonce) continue;
    const key = toHex(from);
    if (votes.has(key)) continue;
    const asked = new Set(plan.positions);
    if (
      m.checked.length !== plan.positions.length || m.checked.some((c) => !asked.has(c.position))
    ) continue;
    votes.set(key, {
      key,
      verdict: m.verdict,
      failing: m.checked.filter((c) => c.status === "fail").map((c) => c.position),
    });
  }
  return [...votes.values()];
}

/** Refunds an unpaid escrow at or after its expiry height (dispute row 1). */
export async function refundEscrow(
  node: NodeClient,
  secretKey: Uint8Array,
  escrow: { txid: string; vout: number },
  fee: bigint,
): Promise<string> {
  const loc = await node.call<
    { outputs: { units: string; scriptPubKey: string }[]; jobId: string }
  >(`/v1/txs/${escrow.txid}`);
  const out = loc.outputs[escrow.vout];
  if (!out) throw new CamelidError("job/no-escrow", "no such escrow output");
  const value = BigInt(out.units);
  const tx: Transaction = {
    version: 1,
    inputs: [{
      prevout: { txid: fromHex(escrow.txid), vout: escrow.vout },
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    }],
    outputs: [{
      value: value - fee,
      scriptPubKey: payToHashScript(hash160(publicKeyOf(secretKey))),
    }],
    lockTime: 0,
    jobId: fromHex(loc.jobId, 32),
  };
  const bytes = signTemplateSpend(
    tx,
    { value, scriptPubKey: fromHex(out.scriptPubKey) },
    PATH_REFUND,
    secretKey,
  );
  return (await node.sendTx(bytes)).txid;
}
