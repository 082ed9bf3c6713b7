/**
 * @module The client's user report on a paid job (issue 16, chain/report_rules.ts): while the
 * executor's reward is held, the client posts a bond (a report output naming the held reward and the
 * newest closed sprint), asks every validator to check the job it was delivered (a `verify-request`
 * naming the bond: validators holding weight answer whatever their draw, with signed records), and,
 * once the records' keys hold a majority of the sprint's weight (the executor's left out), spends
 * the bond on them: the validators share it; where the fraud votes hold the majority, the same
 * transaction takes the held reward to the client (the slash).
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { CodedError, ValidationError } from "../../chain/errors.ts";
import { encodeJob, type Job, jobIdBytes } from "../../chain/job.ts";
import { addressFromHash, addressFromPublicKey } from "../../chain/keys.ts";
import type { ReportOutput } from "../../chain/report.ts";
import { type ReportOutcome, tallyVotes } from "../../chain/report_rules.ts";
import { reportBondTx, reportResolutionTx } from "../../chain/report_tx.ts";
import { parseOutputScript } from "../../chain/script.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { recordFault, type ValidationRecord } from "../../chain/validation_record.ts";
import type { TxAnswer } from "../../relay/client.ts";
import { isTimeout } from "../errors.ts";
import type { VerdictMessage, VerifyRequestMessage } from "../job_messages.ts";
import { JobInbox, type JobSession, sendJobMessage } from "../job_session.ts";
import { VERIFY_RESEND_MS } from "../outsourced.ts";
import { verdictRecordBody } from "../validator_ticket.ts";
import { weightsByAddress } from "./choose.ts";
import { MAX_RECORD_SPRINT_AGE, recordSprintInRange } from "../record_eligibility.ts";

/** Why a report could not be made or resolved. */
export type ReportErrorCode =
  /** The node knows no payment (held reward) of the job. */
  | "report/not-paid"
  /** The node's job pool has not the job itself (its offer was not seen), or not this client's. */
  | "report/no-job"
  /** The output given is not the one the executor committed to. */
  | "report/output-mismatch"
  /** The reward's epoch has ended (or ends with the next block): a report is too late. */
  | "report/reward-released"
  /** No closed sprint that may judge the report gives weight to a validator other than the executor. */
  | "report/no-weights"
  /** The validators that answered do not hold a majority of the weight. */
  | "report/no-majority"
  /** The bond given to ask again is not a report output on this job's held reward. */
  | "report/not-a-bond";

/** A report error, with its {@link ReportErrorCode}. */
export class ReportError extends CodedError<ReportErrorCode> {}

/** Most output positions a report asks validators to check (a request's limit). */
export const REPORT_POSITIONS = 256;

/** What to report. */
export interface ReportOptions {
  /** The job id (hex). */
  jobId: string;
  /** The output the executor delivered. */
  output: { outputTokens: number[]; finishReason: "stop" | "length" };
  /** The bond, base units (default: the network's `reportFee`). */
  bond?: bigint;
  /** A bond already posted for this job (asked again), instead of a new one. */
  existingBond?: { txid: string; vout: number };
  /** How long to gather votes (ms, default 30 s). */
  timeoutMs?: number;
  /** Progress: `bond`, `asking`, `vote`, `resolved`. */
  onState?: (state: string, detail: Record<string, unknown>) => void;
}

/** One validator's counted vote. */
export interface ReportVote {
  /** The validator's key (hex). */
  key: string;
  /** Its address. */
  address: string;
  /** Its verdict. */
  verdict: VerdictMessage["verdict"];
  /** Its weight in the report's sprint. */
  weight: number;
}

/** What a report came to. */
export interface ReportResult {
  /** The job id. */
  jobId: string;
  /** The sprint whose weights judged it. */
  sprint: number;
  /** The executor's held reward accused. */
  held: { txid: string; vout: number; units: string };
  /** The bond. */
  bond: { txid: string; vout: number; units: string };
  /** The counted votes, heaviest first (those put on chain). */
  votes: ReportVote[];
  /** Answers not counted, with why. */
  refused: { key: string; reason: string }[];
  /** The weights: of the voters, of the fraud voters, of the sprint less the executor's. */
  weight: Omit<ReportOutcome, "confirmed">;
  /** confirmed: the fraud votes hold the majority (the reward is slashed to the client). */
  outcome: "confirmed" | "false";
  /** The resolution transaction. */
  resolution: string;
}

/** Most records a resolution carries (chain/report.ts MAX_REPORT_RECORDS). */
const MAX_VOTES = 16;

/** The job as the node's pool shows it, rebuilt and checked against its id. */
function poolJob(field: unknown, jobId: string): Job {
  const j = field as Record<string, unknown> | null;
  if (!j) throw new ReportError("report/no-job", `the node's job pool has not job ${jobId}`);
  const job: Job = {
    modelId: fromHex(String(j.modelId), 32),
    promptTokens: j.promptTokens as number[],
    seed: BigInt(String(j.seed)),
    maxTokens: Number(j.maxTokens),
    temperature: Number(j.temperature),
    topK: Number(j.topK),
    topP: Number(j.topP),
    timestamp: Number(j.timestamp),
    expiryHeight: Number(j.expiryHeight),
    clientKey: fromHex(String(j.clientKey), 33),
    contact: String(j.contact),
  };
  if (toHex(jobIdBytes(job)) !== jobId) {
    throw new ReportError("report/no-job", `the pool's job does not hash to ${jobId}`);
  }
  return job;
}

/** An output of a transaction as a coin (value and script). */
function coinOf(tx: TxAnswer, vout: number) {
  const out = tx.outputs.find((o) => o.n === vout);
  if (!out) throw new ReportError("report/not-paid", `${tx.txid} has no output ${vout}`);
  return { txid: tx.txid, vout, value: BigInt(out.units), scriptPubKey: fromHex(out.scriptPubKey) };
}

/** Reports job `o.jobId` (see the module doc); throws {@link ReportError} or a node error. */
export async function reportJob(s: JobSession, o: ReportOptions): Promise<ReportResult> {
  const say = o.onState ?? (() => {});
  const pool = await s.node.job(o.jobId);
  const held = pool.held as { txid: string; vout: number; heldUntil: number } | undefined;
  const stake = pool.stake as { commitment: string } | null;
  if (!held || !stake) throw new ReportError("report/not-paid", `job ${o.jobId} is not paid`);
  const job = poolJob(pool.job, o.jobId);
  const jobId = fromHex(o.jobId, 32);
  const commitment = outputCommitment(jobId, o.output.outputTokens, o.output.finishReason);
  if (toHex(commitment) !== stake.commitment) {
    throw new ReportError("report/output-mismatch", "the output is not the one committed to");
  }
  const heldCoin = coinOf(await s.node.tx(held.txid), held.vout);
  const heldScript = parseOutputScript(heldCoin.scriptPubKey);
  if (heldScript.type !== "held-reward") {
    throw new ReportError("report/not-paid", `${held.txid}:${held.vout} is not a held reward`);
  }
  const executor = addressFromHash(heldScript.nodeHash);
  const { bond, bondCoin, sprint, weights } = o.existingBond
    ? await existingBond(s, o.existingBond, held, executor)
    : await postBond(s, o.bond ?? s.params.reportFee, jobId, held, executor, say);

  // The validators' records.
  const { votes, refused } = await gatherRecords(s, {
    job,
    jobId,
    commitment,
    output: o.output,
    sprint,
    weights,
    executor,
    bond,
    timeoutMs: o.timeoutMs ?? 30_000,
    say,
  });
  const counted = votes.sort((a, b) => b.vote.weight - a.vote.weight).slice(0, MAX_VOTES);
  const records = counted.map((v) => v.record);
  let outcome: ReportOutcome;
  try {
    outcome = tallyVotes(records, sprint, weights, executor);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new ReportError(
      "report/no-majority",
      `${e.message}; the bond ${bond.txid}:${bond.vout} stands: report again with it before ` +
        `height ${held.heldUntil + s.params.reportWindow}`,
    );
  }

  // The resolution.
  const resolve = async () => {
    const tx = reportResolutionTx({
      bond: bondCoin,
      records,
      held: outcome.confirmed ? heldCoin : null,
      jobId,
      secretKey: s.secretKey,
      utxos: await s.node.spendableCoins(s.address),
      fee: s.fee,
    });
    await s.node.sendTx(encodeTransaction(tx));
    return txid(tx);
  };
  const resolution = await (s.spendLock ? s.spendLock(resolve) : resolve());
  const { confirmed, ...weight } = outcome;
  say("resolved", { resolution, outcome: confirmed ? "confirmed" : "false" });
  return {
    jobId: o.jobId,
    sprint,
    held: { txid: held.txid, vout: held.vout, units: heldCoin.value.toString() },
    bond: { ...bond, units: bondCoin.value.toString() },
    votes: counted.map((v) => v.vote),
    refused,
    weight,
    outcome: confirmed ? "confirmed" : "false",
    resolution,
  };
}

/**
 * The sprint whose weights judge a report made at the next block after `height`: the newest closed
 * sprint (window end below that block) of the {@link MAX_RECORD_SPRINT_AGE} + 1 consensus allows
 * where a key other than the executor holds weight, with those weights.
 */
async function judgingWeights(s: JobSession, height: number, executor: string) {
  const p = s.params.sprint;
  const newest = Math.floor((height - p.window) / p.interval);
  for (let sprint = newest; sprint >= 1 && recordSprintInRange(sprint, newest); sprint--) {
    const weights = weightsByAddress(await s.node.weights(sprint));
    if ([...weights.keys()].some((a) => a !== executor)) return { sprint, weights };
  }
  throw new ReportError(
    "report/no-weights",
    `no validator other than the executor holds weight in sprints ${
      newest - MAX_RECORD_SPRINT_AGE
    }..${newest}`,
  );
}

/**
 * Posts a bond of `value` on `held` under the sprint {@link judgingWeights} picks; throws
 * `report/reward-released` when the reward's epoch ends with the next block.
 */
async function postBond(
  s: JobSession,
  value: bigint,
  jobId: Uint8Array,
  held: { txid: string; vout: number; heldUntil: number },
  executor: string,
  say: (state: string, detail: Record<string, unknown>) => void,
) {
  const { height } = await s.node.status();
  if (height + 1 >= held.heldUntil) {
    throw new ReportError("report/reward-released", `the reward was held until ${held.heldUntil}`);
  }
  const { sprint, weights } = await judgingWeights(s, height, executor);
  const report: ReportOutput = { held: { txid: held.txid, vout: held.vout }, sprint };
  const post = async () => {
    const utxos = await s.node.spendableCoins(s.address);
    const { tx, bytes } = reportBondTx(report, value, jobId, {
      utxos,
      secretKey: s.secretKey,
      fee: s.fee,
    });
    await s.node.sendTx(bytes);
    return { tx, bond: { txid: txid(tx), vout: 0 } };
  };
  const { tx, bond } = await (s.spendLock ? s.spendLock(post) : post());
  say("bond", { ...bond, units: value.toString(), sprint });
  const bondCoin = { ...bond, value, scriptPubKey: tx.outputs[0].scriptPubKey };
  return { bond, bondCoin, sprint, weights };
}

/**
 * A bond posted before (`job report --existing-bond`): it must be a report on `held`; its sprint
 * and that sprint's weights judge the report.
 */
async function existingBond(
  s: JobSession,
  bond: { txid: string; vout: number },
  held: { txid: string; vout: number },
  executor: string,
) {
  const bondCoin = coinOf(await s.node.tx(bond.txid), bond.vout);
  const r = parseOutputScript(bondCoin.scriptPubKey);
  if (r.type !== "report" || r.held.txid !== held.txid || r.held.vout !== held.vout) {
    throw new ReportError("report/not-a-bond", `${bond.txid}:${bond.vout} is no bond on this job`);
  }
  const weights = weightsByAddress(await s.node.weights(r.sprint));
  if (![...weights.keys()].some((a) => a !== executor)) {
    throw new ReportError("report/no-weights", `no validator holds weight in sprint ${r.sprint}`);
  }
  return { bond, bondCoin, sprint: r.sprint, weights };
}

/** What {@link gatherRecords} asks about. */
interface RecordQuery {
  job: Job;
  jobId: Uint8Array;
  commitment: Uint8Array;
  output: ReportOptions["output"];
  sprint: number;
  weights: ReadonlyMap<string, number>;
  executor: string;
  bond: { txid: string; vout: number };
  timeoutMs: number;
  say: (state: string, detail: Record<string, unknown>) => void;
}

/**
 * Asks every validator (a broadcast `verify-request` naming the bond, sent again every
 * VERIFY_RESEND_MS) and keeps each answer whose record holds for the job and the committed output,
 * of the report's sprint, by a key with weight other than the executor's, until every such key
 * answered or the time is up.
 */
async function gatherRecords(s: JobSession, q: RecordQuery) {
  const n = q.output.outputTokens.length;
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  const request: VerifyRequestMessage = {
    t: "verify-request",
    jobId: toHex(q.jobId),
    job: toHex(encodeJob(q.job)),
    outputTokens: q.output.outputTokens,
    finishReason: q.output.finishReason,
    positions: Array.from({ length: Math.min(n, REPORT_POSITIONS) }, (_, i) => i),
    nonce,
    executor: q.executor,
    sprint: q.sprint,
    report: q.bond,
  };
  const inbox = new JobInbox(s.node, s.clientKey, toHex(q.jobId), s.events);
  const expected = [...q.weights.keys()].filter((a) => a !== q.executor);
  const votes = new Map<string, { vote: ReportVote; record: ValidationRecord }>();
  const refused: { key: string; reason: string }[] = [];
  await sendJobMessage(s, request);
  q.say("asking", { validators: expected.length, positions: request.positions.length });
  const end = Date.now() + q.timeoutMs;
  while (votes.size < expected.length && Date.now() < end) {
    let next;
    try {
      next = await inbox.next(Math.max(1, Math.min(end - Date.now(), VERIFY_RESEND_MS)));
    } catch (e) {
      if (!isTimeout(e)) throw e;
      if (Date.now() < end) await sendJobMessage(s, request);
      continue;
    }
    const { m, from } = next;
    if (m.t !== "verdict" || m.nonce !== nonce) continue;
    const why = refusal(m, q, request.positions.length);
    if (typeof why === "string") {
      refused.push({ key: toHex(from), reason: why });
      continue;
    }
    if (votes.has(why.vote.address)) continue;
    votes.set(why.vote.address, why);
    q.say("vote", { address: why.vote.address, verdict: why.vote.verdict });
  }
  return { votes: [...votes.values()], refused };
}

/** Why an answer does not count (a code), or its vote and record. */
function refusal(
  m: VerdictMessage,
  q: RecordQuery,
  positions: number,
): string | { vote: ReportVote; record: ValidationRecord } {
  if (!m.validator) return "report/no-record";
  if (m.checked.length !== positions) return "report/positions";
  if (m.validator.sprint !== q.sprint) return "report/wrong-sprint";
  let record: ValidationRecord;
  try {
    record = {
      ...verdictRecordBody(m, m.validator),
      signature: fromHex(m.validator.signature, 64),
    };
  } catch (e) {
    if (e instanceof CodedError) return e.code;
    throw e;
  }
  const fault = recordFault(q.jobId, q.commitment, record);
  if (fault) return fault;
  const address = addressFromPublicKey(record.validatorKey);
  if (address === q.executor) return "report/self-validation";
  const weight = q.weights.get(address) ?? 0;
  if (!(weight > 0)) return "report/no-weight";
  return {
    vote: { key: m.validator.key, address, verdict: m.verdict, weight },
    record,
  };
}
