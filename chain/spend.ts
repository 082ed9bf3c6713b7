/**
 * @module Spend rules of the job templates (escrow and stake); the unlocking layouts are in
 * job_unlock.ts, the builders in job_tx.ts.
 *
 * Escrow (`TEMPLATE_JOB_ESCROW`) paths: PAY (client signs; the named stake of the same job must be
 * unspent and at least `disputeWindow` blocks deep, with no claim pending and no answer younger than
 * the window), REFUND (client, at or after the expiry height), FRAUD (only beside a valid stake FRAUD
 * input of the same job; every output pays the client).
 * Stake (`TEMPLATE_COMPUTE_STAKE`) paths: RELEASE (node, `2 * disputeWindow` blocks after the stake),
 * FRAUD (anyone; the fraud checker must prove every named position false), NON-DELIVERY (a claim
 * unanswered for the window), BAD-ANSWER (the named answer provably does not decrypt to the committed
 * output); every slash pays only the client.
 * A PAY spend's output 0 is the job's held reward (`TEMPLATE_HELD_REWARD`, the stake's node, client
 * and commitment), alone or followed by the job's validation pool (`TEMPLATE_VALIDATION_POOL`, a
 * tenth of the payment: chain/pool_rules.ts); only the pool's DISTRIBUTE creates a validator's
 * reward (`TEMPLATE_VALIDATOR_REWARD`) and its validation record (`TEMPLATE_VALIDATION_RECORD`,
 * value 0, unspendable, never in the UTXO set; chain/validator_pairs.ts). Held reward, validator
 * reward and pool paths alike: CLAIM (the key of its node hash, from the end of the epoch it was paid
 * in), FRAUD (a fraud proof against its commitment before that height; every output pays the
 * client); a pool's DISTRIBUTE is in chain/pool_rules.ts.
 */

import { toHex } from "./bytes.ts";
import { ValidationError } from "./errors.ts";
import {
  type FraudProofData,
  parseBadAnswer,
  parseBarePath,
  parseFraudProof,
  parsePay,
  parseSigned,
  PATH_BAD_ANSWER,
  PATH_ESCROW_FRAUD,
  PATH_HELD_CLAIM,
  PATH_HELD_FRAUD,
  PATH_NON_DELIVERY,
  PATH_PAY,
  PATH_POOL_DISTRIBUTE,
  PATH_REFUND,
  PATH_RELEASE,
  PATH_STAKE_FRAUD,
  PAY_DATA_LENGTH,
} from "./job_unlock.ts";
import {
  heldRewardScript,
  type OutputScript,
  parseOutputScript,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_JOB_ANSWER,
  TEMPLATE_JOB_CLAIM,
  TEMPLATE_JOB_ESCROW,
  TEMPLATE_VALIDATION_POOL,
  TEMPLATE_VALIDATION_RECORD,
  TEMPLATE_VALIDATOR_REWARD,
} from "./script.ts";
import { checkPoolPayment, isPoolPaymentShape, type PoolContext } from "./pool_rules.ts";
import { epochEnd } from "./sprint.ts";
import type { SprintParams } from "./params.ts";
import { hash160 } from "./hash.ts";
import { decryptWithSharedPoint, ECIES_EPHEMERAL_LENGTH, verifySharedPoint } from "./dleq.ts";
import { outputCommitment } from "./commitment.ts";
import { equalBytes } from "./bytes.ts";
import type { Transaction } from "./tx.ts";
import type { ReportContext } from "./report_rules.ts";

export * from "./job_unlock.ts";

/** What a fraud proof claims, handed to the injected {@link FraudChecker}: the proof and the stake's commitment. */
export interface FraudClaim extends FraudProofData {
  /** The stake's commitment to the output. */
  commitment: Uint8Array;
}

/**
 * Decides a fraud claim with the model: true only when the revealed output matches the commitment and
 * every named position fails by more than the hard threshold. Errors or near-ties must give false.
 */
export type FraudChecker = (claim: FraudClaim) => Promise<boolean>;

/** Facts an input's script check needs beyond its own coin (gathered asynchronously beforehand). */
export interface SpendContext {
  /** Stake coins named by escrow PAY inputs, by `txid:vout` (undefined when missing or spent). */
  stakes: Map<string, { value: bigint; scriptPubKey: Uint8Array; height: number } | undefined>;
  /** Fraud verdicts of stake FRAUD inputs, by input index. */
  fraud: Map<number, boolean>;
  /** Non-delivery claims and answers on chain, by stake `txid:vout`. */
  notices: Map<string, Notice>;
  /** Verdicts of stake BAD-ANSWER inputs (true: the answer is provably bad), by input index. */
  badAnswers: Map<number, boolean>;
  /** What user reports' bonds and held REPORT spends need (chain/report_rules.ts), when gathered. */
  report?: ReportContext;
  /** What a validation pool's DISTRIBUTE needs (chain/pool_rules.ts), when gathered. */
  pool?: PoolContext;
  /**
   * Inputs (by index) that CLAIM a held reward while a user report's bond naming it is unspent
   * (`job/report-pending`), when gathered.
   */
  pendingReports?: Set<number>;
}

/** The latest non-delivery claim and answer recorded on chain for a stake. */
export interface Notice {
  /** Height of the latest claim, or null. */
  claimHeight: number | null;
  /** Height of the latest answer, or null. */
  answerHeight: number | null;
}

/** True when a claim waits for an answer. */
export function claimPending(n: Notice | undefined): n is Notice & { claimHeight: number } {
  return !!n && n.claimHeight !== null &&
    (n.answerHeight === null || n.answerHeight < n.claimHeight);
}

function fail(code: string, message: string): never {
  throw new ValidationError(code, message);
}

/** Checks that every output of `tx` pays exactly the client's pay-to-address script. */
function allOutputsPayClient(tx: Transaction, clientHash: Uint8Array): boolean {
  return tx.outputs.every((o) => {
    try {
      const s = parseOutputScript(o.scriptPubKey);
      return s.type === "pay-to-address" && equalBytes(s.pubKeyHash, clientHash);
    } catch {
      return false;
    }
  });
}

/** Applies the rules of an escrow input. `checkSig` verifies a signature for the given key hash. */
export function checkEscrowSpend(
  tx: Transaction,
  index: number,
  script: Extract<OutputScript, { type: "job-escrow" }>,
  spendHeight: number,
  disputeWindow: number,
  ctx: SpendContext,
  checkSig: (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array) => void,
  coinScripts: Uint8Array[],
): void {
  const sig = tx.inputs[index].scriptSig;
  if (!equalBytes(tx.jobId, script.jobId)) {
    fail("job/wrong-job-id", `input ${index}: the transaction's job id differs from the escrow's`);
  }
  switch (sig[0]) {
    case PATH_PAY: {
      const pay = parsePay(sig);
      checkSig(pay.sig, pay.pubkey, script.clientHash);
      const stake = ctx.stakes.get(`${pay.stake.txid}:${pay.stake.vout}`);
      if (!stake) {
        fail("job/stake-missing", `input ${index}: the named stake is missing, spent or slashed`);
      }
      const s = parseOutputScript(stake.scriptPubKey);
      if (
        s.type !== "compute-stake" || !equalBytes(s.jobId, script.jobId) ||
        !equalBytes(s.clientHash, script.clientHash)
      ) {
        fail(
          "job/stake-mismatch",
          `input ${index}: the named output is not a stake for this job and client`,
        );
      }
      const held = heldRewardScript(script.jobId, s.nodeHash, script.clientHash, s.commitment);
      const pool = isPoolPaymentShape(tx);
      if (
        (!pool && tx.outputs.length !== 1) || !equalBytes(tx.outputs[0].scriptPubKey, held)
      ) {
        fail(
          "job/pay-not-held",
          `input ${index}: a payment's outputs are the job's held reward for the stake's node, ` +
            "alone or followed by its validation pool",
        );
      }
      if (pool) checkPoolPayment(tx, index, s);
      if (spendHeight < stake.height + disputeWindow) {
        fail(
          "job/dispute-window",
          `input ${index}: payment is not mineable before height ${stake.height + disputeWindow}`,
        );
      }
      if (claimPending(ctx.notices.get(`${pay.stake.txid}:${pay.stake.vout}`))) {
        fail("job/claim-pending", `input ${index}: the client's non-delivery claim is unanswered`);
      }
      const n = ctx.notices.get(`${pay.stake.txid}:${pay.stake.vout}`);
      if (n?.answerHeight != null && spendHeight < n.answerHeight + disputeWindow) {
        fail(
          "job/answer-window",
          `input ${index}: the client may dispute the answer until height ${
            n.answerHeight + disputeWindow - 1
          }`,
        );
      }
      return;
    }
    case PATH_REFUND: {
      const refund = parseSigned(sig, PATH_REFUND, "escrow REFUND");
      checkSig(refund.sig, refund.pubkey, script.clientHash);
      if (spendHeight < script.expiryHeight) {
        fail(
          "job/not-expired",
          `input ${index}: refund only at or after height ${script.expiryHeight}`,
        );
      }
      return;
    }
    case PATH_ESCROW_FRAUD: {
      parseBarePath(sig, PATH_ESCROW_FRAUD, "escrow FRAUD");
      const proven = [...ctx.fraud.entries()].some(([i, ok]) => {
        if (!ok) return false;
        const s = parseOutputScript(coinScripts[i]);
        return s.type === "compute-stake" && equalBytes(s.jobId, script.jobId);
      });
      if (!proven) {
        fail(
          "job/no-fraud-proof",
          `input ${index}: no valid stake fraud proof for this job in the transaction`,
        );
      }
      if (!allOutputsPayClient(tx, script.clientHash)) {
        fail("job/refund-not-to-client", "a fraud refund must pay only the client");
      }
      return;
    }
    default:
      fail(
        "tx/bad-script-sig",
        `input ${index}: unknown escrow spend path 0x${(sig[0] ?? 0).toString(16)}`,
      );
  }
}

/** Applies the rules of a stake input. */
export function checkStakeSpend(
  tx: Transaction,
  index: number,
  script: Extract<OutputScript, { type: "compute-stake" }>,
  coinHeight: number,
  spendHeight: number,
  disputeWindow: number,
  ctx: SpendContext,
  checkSig: (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array) => void,
): void {
  const sig = tx.inputs[index].scriptSig;
  if (!equalBytes(tx.jobId, script.jobId)) {
    fail("job/wrong-job-id", `input ${index}: the transaction's job id differs from the stake's`);
  }
  const prev = tx.inputs[index].prevout;
  const notice = ctx.notices.get(`${toHex(prev.txid)}:${prev.vout}`);
  switch (sig[0]) {
    case PATH_NON_DELIVERY:
      parseBarePath(sig, PATH_NON_DELIVERY, "stake NON-DELIVERY");
      if (!claimPending(notice)) {
        fail("job/no-claim", `input ${index}: no unanswered non-delivery claim`);
      }
      if (spendHeight < notice.claimHeight + disputeWindow) {
        fail(
          "job/claim-window",
          `input ${index}: the node may answer until height ${
            notice.claimHeight + disputeWindow - 1
          }`,
        );
      }
      if (!allOutputsPayClient(tx, script.clientHash)) {
        fail("job/slash-not-to-client", "a slashed stake must pay only the client");
      }
      return;
    case PATH_BAD_ANSWER:
      if (ctx.badAnswers.get(index) !== true) {
        fail("job/answer-not-bad", `input ${index}: the named answer is not provably bad`);
      }
      if (!allOutputsPayClient(tx, script.clientHash)) {
        fail("job/slash-not-to-client", "a slashed stake must pay only the client");
      }
      return;
    case PATH_RELEASE: {
      if (claimPending(notice)) {
        fail("job/claim-pending", `input ${index}: answer the client's claim before releasing`);
      }
      if (notice?.answerHeight != null && spendHeight < notice.answerHeight + disputeWindow) {
        fail(
          "job/answer-window",
          `input ${index}: the client may dispute the answer until height ${
            notice.answerHeight + disputeWindow - 1
          }`,
        );
      }
      const release = parseSigned(sig, PATH_RELEASE, "stake RELEASE");
      checkSig(release.sig, release.pubkey, script.nodeHash);
      if (spendHeight < coinHeight + 2 * disputeWindow) {
        fail(
          "job/stake-locked",
          `input ${index}: the stake is locked until height ${coinHeight + 2 * disputeWindow}`,
        );
      }
      return;
    }
    case PATH_STAKE_FRAUD:
      if (ctx.fraud.get(index) !== true) {
        fail("job/fraud-not-proven", `input ${index}: the fraud proof does not hold`);
      }
      if (!allOutputsPayClient(tx, script.clientHash)) {
        fail("job/slash-not-to-client", "a slashed stake must pay only the client");
      }
      return;
    default:
      fail(
        "tx/bad-script-sig",
        `input ${index}: unknown stake spend path 0x${(sig[0] ?? 0).toString(16)}`,
      );
  }
}

/**
 * Applies the CLAIM and FRAUD rules of a held reward input, the executor's (0x07), a validator's
 * (0x08) or a validation pool (0x0B), alike (`coinHeight`: the block of its payment): the key
 * hashing to its `nodeHash` claims it from the end of that block's epoch; before then a proven fraud
 * proof forfeits it to the client.
 */
export function checkHeldSpend(
  tx: Transaction,
  index: number,
  script: Extract<
    OutputScript,
    { type: "held-reward" | "validator-reward" | "validation-pool" }
  >,
  coinHeight: number,
  spendHeight: number,
  sprint: SprintParams,
  ctx: SpendContext,
  checkSig: (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array) => void,
): void {
  const sig = tx.inputs[index].scriptSig;
  if (!equalBytes(tx.jobId, script.jobId)) {
    fail("job/wrong-job-id", `input ${index}: the transaction's job id differs from the reward's`);
  }
  const until = epochEnd(sprint, coinHeight);
  switch (sig[0]) {
    case PATH_HELD_CLAIM: {
      const claim = parseSigned(sig, PATH_HELD_CLAIM, "held reward CLAIM");
      checkSig(claim.sig, claim.pubkey, script.nodeHash);
      if (spendHeight < until) {
        fail("job/reward-held", `input ${index}: the reward is held until height ${until}`);
      }
      if (ctx.pendingReports?.has(index)) {
        fail(
          "job/report-pending",
          `input ${index}: a user report on this reward is open (resolved, or taken by the ` +
            "executor once its window ends)",
        );
      }
      return;
    }
    case PATH_HELD_FRAUD:
      if (spendHeight >= until) {
        fail(
          "job/reward-released",
          `input ${index}: the reward's epoch ended at height ${until}; it is the node's`,
        );
      }
      if (ctx.fraud.get(index) !== true) {
        fail("job/fraud-not-proven", `input ${index}: the fraud proof does not hold`);
      }
      if (!allOutputsPayClient(tx, script.clientHash)) {
        fail("job/slash-not-to-client", "a forfeited reward must pay only the client");
      }
      return;
    default:
      fail(
        "tx/bad-script-sig",
        `input ${index}: unknown held reward spend path 0x${(sig[0] ?? 0).toString(16)}`,
      );
  }
}

/**
 * Gathers the context the job spend rules need: the stake coins named by escrow PAY inputs (through
 * `getCoin`) and the verdicts of stake FRAUD proofs (through `checker`; none configured = not proven).
 */
export async function gatherSpendContext(
  tx: Transaction,
  coinScripts: (Uint8Array | undefined)[],
  getCoin: (
    txid: string,
    vout: number,
  ) => Promise<{ value: bigint; scriptPubKey: Uint8Array; height: number } | undefined>,
  checker: FraudChecker | undefined,
  getNotice: (stakeKey: string) => Promise<Notice> = () =>
    Promise.resolve({ claimHeight: null, answerHeight: null }),
  getOutputScript: (txid: string, vout: number) => Promise<Uint8Array | undefined> = () =>
    Promise.resolve(undefined),
): Promise<SpendContext> {
  const ctx: SpendContext = {
    stakes: new Map(),
    fraud: new Map(),
    notices: new Map(),
    badAnswers: new Map(),
  };
  const verdicts = new Map<string, Promise<boolean>>();
  const noticeFor = async (key: string) => {
    if (!ctx.notices.has(key)) ctx.notices.set(key, await getNotice(key));
  };
  for (const out of tx.outputs) {
    const t = out.scriptPubKey[0];
    if ((t !== TEMPLATE_JOB_CLAIM && t !== TEMPLATE_JOB_ANSWER) || out.scriptPubKey.length < 37) {
      continue;
    }
    try {
      const parsed = parseOutputScript(out.scriptPubKey);
      if (parsed.type !== "job-claim" && parsed.type !== "job-answer") continue;
      const key = `${parsed.stake.txid}:${parsed.stake.vout}`;
      ctx.stakes.set(key, await getCoin(parsed.stake.txid, parsed.stake.vout));
    } catch { /* rejected by the output checks */ }
  }
  for (const [i, script] of coinScripts.entries()) {
    if (!script) continue;
    const sig = tx.inputs[i].scriptSig;
    const spendsEscrow = script[0] === TEMPLATE_JOB_ESCROW;
    const spendsStake = script[0] === TEMPLATE_COMPUTE_STAKE;
    if (spendsEscrow && sig[0] === PATH_PAY && sig.length === PAY_DATA_LENGTH) {
      const { stake } = parsePay(sig);
      ctx.stakes.set(`${stake.txid}:${stake.vout}`, await getCoin(stake.txid, stake.vout));
      await noticeFor(`${stake.txid}:${stake.vout}`);
    }
    if (spendsStake && sig[0] === PATH_BAD_ANSWER) {
      ctx.badAnswers.set(i, await answerIsBad(tx, i, script, getOutputScript));
    }
    if (spendsStake) {
      await noticeFor(`${toHex(tx.inputs[i].prevout.txid)}:${tx.inputs[i].prevout.vout}`);
    }
    const spendsHeld = script[0] === TEMPLATE_HELD_REWARD ||
      script[0] === TEMPLATE_VALIDATOR_REWARD || script[0] === TEMPLATE_VALIDATION_POOL;
    if ((spendsStake || spendsHeld) && sig[0] === PATH_STAKE_FRAUD) {
      ctx.fraud.set(i, await fraudVerdict(sig, script, checker, verdicts));
    }
  }
  return ctx;
}

/**
 * The verdict of a fraud proof `sig` against a stake, held reward, validator reward or pool `script`
 * (false when malformed, of another job, or without a checker); one proof against one commitment is
 * decided once per transaction (`verdicts`), so a stake, its held reward and its validators' rewards
 * slashed together run the model once.
 */
async function fraudVerdict(
  sig: Uint8Array,
  script: Uint8Array,
  checker: FraudChecker | undefined,
  verdicts: Map<string, Promise<boolean>>,
): Promise<boolean> {
  try {
    const parsed = parseOutputScript(script);
    if (
      parsed.type !== "compute-stake" && parsed.type !== "held-reward" &&
      parsed.type !== "validator-reward" && parsed.type !== "validation-pool"
    ) {
      return false;
    }
    const claim = parseFraudProof(sig);
    if (!equalBytes(claim.jobId, parsed.jobId) || !checker) return false;
    const key = `${toHex(parsed.commitment)}:${toHex(sig)}`;
    let verdict = verdicts.get(key);
    if (!verdict) {
      verdict = checker({ ...claim, commitment: parsed.commitment });
      verdicts.set(key, verdict);
    }
    return await verdict;
  } catch {
    return false;
  }
}

/** Templates of the outputs only a payment creates. */
const PAYMENT_TEMPLATES = new Set([TEMPLATE_HELD_REWARD, TEMPLATE_VALIDATION_POOL]);

/** Templates of the outputs only a pool's distribution creates. */
const PAIR_TEMPLATES = new Set([TEMPLATE_VALIDATOR_REWARD, TEMPLATE_VALIDATION_RECORD]);

/**
 * Checks that a transaction creating a held reward or a validation pool spends an escrow by PAY,
 * and one creating a validator reward or a validation record spends a pool by DISTRIBUTE (whose
 * rules then make those outputs the job's held reward, pool and validators' pairs, the validators
 * eligible): no other transaction creates one, a PAY included, so every held reward and pool is a
 * real payment, with a stake's node and commitment, and every record on chain came with its pool's
 * distribution.
 */
export function checkHeldOutputs(
  tx: Transaction,
  coins: ({ scriptPubKey: Uint8Array } | undefined)[],
): void {
  const spends = (template: number, path: number) =>
    coins.some((c, i) => c?.scriptPubKey[0] === template && tx.inputs[i].scriptSig[0] === path);
  const held = tx.outputs.some((o) => PAYMENT_TEMPLATES.has(o.scriptPubKey[0]));
  const pairs = tx.outputs.some((o) => PAIR_TEMPLATES.has(o.scriptPubKey[0]));
  if (held && !spends(TEMPLATE_JOB_ESCROW, PATH_PAY)) {
    fail(
      "job/held-not-from-pay",
      "a held reward or validation pool is created only by an escrow's PAY spend",
    );
  }
  if (pairs && !spends(TEMPLATE_VALIDATION_POOL, PATH_POOL_DISTRIBUTE)) {
    fail(
      "job/held-not-from-pay",
      "a validator reward or validation record is created only by a pool's DISTRIBUTE",
    );
  }
}

/**
 * Checks the claim and answer outputs of a transaction: value 0, the named stake unspent and of this
 * job, and the transaction funded by the client (claim) or the node (answer) of that stake.
 */
export function checkNoticeOutputs(
  tx: Transaction,
  coins: ({ scriptPubKey: Uint8Array } | undefined)[],
  ctx: SpendContext,
): void {
  for (const [n, out] of tx.outputs.entries()) {
    const t = out.scriptPubKey[0];
    if (t !== TEMPLATE_JOB_CLAIM && t !== TEMPLATE_JOB_ANSWER) continue;
    const parsed = parseOutputScript(out.scriptPubKey);
    if (parsed.type !== "job-claim" && parsed.type !== "job-answer") continue;
    if (out.value !== 0n) {
      fail("job/notice-value", `output ${n}: a claim or answer carries no value`);
    }
    const stake = ctx.stakes.get(`${parsed.stake.txid}:${parsed.stake.vout}`);
    const s = stake ? parseOutputScript(stake.scriptPubKey) : null;
    if (!s || s.type !== "compute-stake") {
      fail("job/stake-missing", `output ${n}: the named stake is missing or spent`);
    }
    if (!equalBytes(tx.jobId, s.jobId)) {
      fail("job/wrong-job-id", `output ${n}: the transaction's job id differs from the stake's`);
    }
    const owner = parsed.type === "job-claim" ? s.clientHash : s.nodeHash;
    const funded = coins.some((c) => {
      if (!c) return false;
      const p = parseOutputScript(c.scriptPubKey);
      return p.type === "pay-to-address" && equalBytes(p.pubKeyHash, owner);
    });
    if (!funded) {
      fail(
        "job/notice-not-authorised",
        `output ${n}: a ${
          parsed.type === "job-claim"
            ? "claim must be funded by the client"
            : "answer must be funded by the node"
        }`,
      );
    }
  }
}

/**
 * Decides a BAD-ANSWER spend of stake input `index`: the named on-chain answer must answer this
 * stake; the client key must be the stake's; the DLEQ proof must show the revealed point is the
 * ECIES shared point of that key; and the answer then fails to decrypt, or decrypts to an output
 * whose commitment differs from the stake's. Anything malformed gives false.
 */
async function answerIsBad(
  tx: Transaction,
  index: number,
  stakeScript: Uint8Array,
  getOutputScript: (txid: string, vout: number) => Promise<Uint8Array | undefined>,
): Promise<boolean> {
  try {
    const { answer: named, clientKey, shared, proof } = parseBadAnswer(tx.inputs[index].scriptSig);
    const stake = parseOutputScript(stakeScript);
    if (stake.type !== "compute-stake") return false;
    const answerScript = await getOutputScript(named.txid, named.vout);
    if (!answerScript) return false;
    const answer = parseOutputScript(answerScript);
    const prev = tx.inputs[index].prevout;
    if (
      answer.type !== "job-answer" || answer.stake.txid !== toHex(prev.txid) ||
      answer.stake.vout !== prev.vout
    ) {
      return false;
    }
    if (!equalBytes(hash160(clientKey), stake.clientHash)) return false;
    const ephemeral = answer.ciphertext.subarray(0, ECIES_EPHEMERAL_LENGTH);
    if (!verifySharedPoint(clientKey, ephemeral, shared, proof)) return false;
    const plain = await decryptWithSharedPoint(answer.ciphertext, shared);
    if (!plain) return true;
    let output: { outputTokens?: unknown; finishReason?: unknown };
    try {
      output = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
    } catch {
      return true;
    }
    const tokens = output?.outputTokens;
    const finish = output?.finishReason;
    if (
      !Array.isArray(tokens) || tokens.some((t) =>
        !Number.isInteger(t) || t < 0 || t > 0xffffffff
      ) ||
      (finish !== "stop" && finish !== "length")
    ) {
      return true;
    }
    return !equalBytes(outputCommitment(stake.jobId, tokens as number[], finish), stake.commitment);
  } catch {
    return false;
  }
}
