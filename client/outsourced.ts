/**
 * @module Outsourced verification, the client's side: ask neighbours to check positions chosen by
 * the client's secret (every position of short outputs), gather their signed per-position votes, and
 * tally them (a majority of the verifiers asked decides). Where compute weights are in force, only
 * validators due for the job by their draw vote (client/validator_ticket.ts): a verdict without a
 * ticket that checks is refused with its code and does not count, a checked not-due answer counts
 * as answered, and a majority of the due votes that came decides; each counted due vote is a signed
 * validation record, which the payment puts on chain (phases/pay.ts). The answering side is
 * compute/jobs/verifier_service.ts.
 */

import { fromHex, toHex } from "../chain/bytes.ts";
import { encodeJob } from "../chain/job.ts";
import { MAX_PAID_VALIDATORS, type ValidationRecord } from "../chain/validation_record.ts";
import { choosePositions, selectionSeed } from "../verifier-wasm/mod.ts";
import { isTimeout } from "./errors.ts";
import {
  type CheckedTicket,
  checkNotDue,
  checkVerdictTicket,
  type DueContext,
  type ValidatorTicketCode,
  ValidatorTicketError,
  type VoterSelection,
} from "./validator_ticket.ts";
import { type JobSession, sendJobMessage } from "./job_session.ts";
import type { JobOutput } from "./phases/check.ts";
import type { OfferedJob } from "./phases/offer.ts";

/** How often the verification request is sent again while votes are missing (ms). */
export const VERIFY_RESEND_MS = 2_000;

/** Outputs up to this many tokens are checked at every position. */
export const CHECK_ALL_UP_TO = 64;

/** What to ask of neighbours. */
export interface OutsourceOptions {
  /** Votes wanted (a majority of these decides). */
  verifiers: number;
  /** How long to gather votes (ms, default 30 s). */
  timeoutMs?: number;
  /** Sampled interior positions of long outputs (default 8). */
  k?: number;
  /** The executor's reward address, named in the request (validators draw with its probability). */
  executor?: string;
  /**
   * The weights in force and the executor's validation probability: only due validators vote
   * (`verifiers` then counts answers, votes and checked not-due alike). Absent or null: every
   * verifier votes, as before.
   */
  validators?: DueContext | null;
  /** Why every verifier may vote (no `validators`; default "no compute weights in force"). */
  openReason?: string;
}

/** One verifier's answer. */
export interface Vote {
  /** Verifier key (hex). */
  key: string;
  /** Its verdict. */
  verdict: "honest" | "fraud" | "inconclusive";
  /** Positions it reports failing. */
  failing: number[];
  /** Its checked ticket (weights in force): validator address, draw, due probability. */
  validator?: CheckedTicket;
}

/** A verifier answer that did not count, and why. */
export interface RefusedAnswer {
  /** Verifier key (envelope, hex). */
  key: string;
  /** Why. */
  code: ValidatorTicketCode;
}

/** The outcome of the votes. */
export interface Tally {
  /** honest or fraud when a majority of the verifiers asked says so, else inconclusive. */
  verdict: "honest" | "fraud" | "inconclusive";
  /** Positions to name in a fraud proof (fraud only): those every fraud voter reports failing, else the first fraud voter's. */
  positions: number[];
}

/** Tallies votes: a majority of `verifiers` decides. */
export function tallyVotes(votes: Vote[], verifiers: number): Tally {
  const fraudVoters = votes.filter((v) => v.verdict === "fraud");
  const honestVoters = votes.filter((v) => v.verdict === "honest");
  const majority = Math.floor(verifiers / 2) + 1;
  if (honestVoters.length >= majority) return { verdict: "honest", positions: [] };
  if (fraudVoters.length < majority) return { verdict: "inconclusive", positions: [] };
  const failing = fraudVoters.map((v) => new Set(v.failing));
  const agreed = [...failing[0]].filter((p) => failing.every((f) => f.has(p)));
  return { verdict: "fraud", positions: agreed.length ? agreed : [...failing[0]] };
}

/** What an outsourced check asked and got. */
export interface OutsourcedCheck {
  /** The signed votes, one per verifier. */
  votes: Vote[];
  /** The output positions every verifier was asked to check. */
  positions: number[];
  /**
   * Who might vote: `weight` (due validators of sprint `sprint` only) or `any-verifier` (no
   * weights in force: every verifier serving the model, as before).
   */
  selection: VoterSelection;
  /** Validators whose checked tickets show them not due (addresses; weights in force). */
  notDue: string[];
  /** Answers refused (no ticket, bad ticket, not due, bad signature), one per verifier and code. */
  refused: RefusedAnswer[];
  /**
   * The validation record of every counted due vote (weights in force), in the order the votes
   * came: what the payment may put on chain ({@link paidRecords}).
   */
  records: ValidationRecord[];
}

/**
 * The records a payment carries: those of the counted due votes, in ascending order of the
 * validator key (hex), at most MAX_PAID_VALIDATORS (the first in that order).
 */
export function paidRecords(records: readonly ValidationRecord[]): ValidationRecord[] {
  return records.map((r) => ({ hex: toHex(r.validatorKey), r }))
    .sort((a, b) => a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0)
    .slice(0, MAX_PAID_VALIDATORS)
    .map(({ r }) => r);
}

/**
 * Tallies an outsourced check: a majority of the `verifiers` asked, or, where weights are in force,
 * a majority of the due validators that voted (none: inconclusive).
 */
export function tallyCheck(check: OutsourcedCheck, verifiers: number): Tally {
  const base = check.selection.by === "weight" ? Math.max(1, check.votes.length) : verifiers;
  return tallyVotes(check.votes, base);
}

/**
 * Broadcasts a verification request for positions chosen by the client's secret, and gathers signed
 * votes from distinct verifiers (each answering exactly the positions asked) until `verifiers`
 * answered or the time is up, asking again every {@link VERIFY_RESEND_MS} while votes are missing.
 */
export async function outsourceVerification(
  s: JobSession,
  offered: OfferedJob,
  output: JobOutput,
  commitment: string,
  want: OutsourceOptions,
): Promise<OutsourcedCheck> {
  const { outputTokens: tokens, finishReason: finish } = output;
  const stakeCommitment = fromHex(commitment, 32);
  const seed = selectionSeed(
    { secret: crypto.getRandomValues(new Uint8Array(32)) },
    stakeCommitment,
    offered.jobId,
  );
  const plan = choosePositions(
    tokens.length,
    finish,
    tokens.length <= CHECK_ALL_UP_TO ? "all" : "sampled",
    want.k ?? 8,
    seed,
  );
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  const request = {
    t: "verify-request" as const,
    jobId: offered.id,
    job: toHex(encodeJob(offered.job)),
    outputTokens: tokens,
    finishReason: finish,
    positions: plan.positions,
    nonce,
    ...(want.executor ? { executor: want.executor } : {}),
    ...(want.validators ? { sprint: want.validators.sprint } : {}),
  };
  await sendJobMessage(s, request);
  s.say("verifying", { positions: plan.positions.length, verifiers: want.verifiers });
  const asked = new Set(plan.positions);
  const ctx = want.validators ?? null;
  const votes = new Map<string, Vote>();
  const records = new Map<string, ValidationRecord>();
  const notDue = new Map<string, string>();
  const refused = new Map<string, RefusedAnswer>();
  const refuse = (key: string, e: unknown) => {
    if (!(e instanceof ValidatorTicketError)) throw e;
    refused.set(`${key}:${e.code}`, { key, code: e.code });
  };
  const end = Date.now() + (want.timeoutMs ?? 30_000);
  while (votes.size + notDue.size < want.verifiers && Date.now() < end) {
    let next;
    try {
      next = await offered.inbox.next(Math.max(1, Math.min(end - Date.now(), VERIFY_RESEND_MS)));
    } catch (e) {
      if (!isTimeout(e)) throw e;
      // Votes missing: ask again (a verifier that refused a request within its per-requester
      // interval, or missed it, answers now; the votes already counted are kept).
      if (Date.now() < end) await sendJobMessage(s, request);
      continue;
    }
    const { from, m } = next;
    if ((m.t !== "verdict" && m.t !== "not-due") || m.nonce !== nonce) continue;
    const key = toHex(from);
    if (m.t === "not-due") {
      if (!ctx || votes.has(m.validator.key)) continue;
      try {
        notDue.set(m.validator.key, checkNotDue(ctx, offered.jobId, m).address);
      } catch (e) {
        refuse(key, e);
      }
      continue;
    }
    if (
      m.checked.length !== plan.positions.length || m.checked.some((c) => !asked.has(c.position))
    ) {
      continue;
    }
    let validator: CheckedTicket | undefined;
    let record: ValidationRecord | undefined;
    if (ctx) {
      try {
        ({ record, ...validator } = checkVerdictTicket(ctx, offered.jobId, stakeCommitment, m));
      } catch (e) {
        refuse(key, e);
        continue;
      }
    }
    // Where weights are in force a vote is the ticket key's (one per weight), else the envelope's.
    const voter = validator ? m.validator!.key : key;
    if (votes.has(voter) || notDue.has(voter)) continue;
    if (record) records.set(voter, record);
    votes.set(voter, {
      key,
      verdict: m.verdict,
      failing: m.checked.filter((c) => c.outcome === "fail").map((c) => c.position),
      ...(validator ? { validator } : {}),
    });
  }
  return {
    votes: [...votes.values()],
    positions: plan.positions,
    selection: ctx
      ? { by: "weight", sprint: ctx.sprint }
      : { by: "any-verifier", reason: want.openReason ?? "no compute weights in force" },
    notDue: [...notDue.values()],
    refused: [...refused.values()],
    records: [...records.values()],
  };
}

/** One line for people: who might vote on the output, and what came of it. */
export function describeSelection(
  c: Pick<OutsourcedCheck, "votes" | "selection" | "notDue" | "refused">,
): string {
  if (c.selection.by === "any-verifier") {
    return `voters: every verifier serving the model (${c.selection.reason})`;
  }
  const refused = c.refused.length
    ? `; refused: ${c.refused.map((r) => `${r.key.slice(0, 10)}… ${r.code}`).join(", ")}`
    : "";
  return `voters: validators due by compute weight of sprint ${c.selection.sprint} ` +
    `(${c.votes.length} due voted, ${c.notDue.length} not due${refused})`;
}
