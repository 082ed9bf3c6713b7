/**
 * @module Outsourced verification, the client's side: ask neighbours to check positions chosen by
 * the client's secret (every position of short outputs), gather their signed per-position votes, and
 * tally them (a majority of the verifiers asked decides). The answering side is
 * compute/jobs/verifier_service.ts.
 */

import { fromHex, toHex } from "../chain/bytes.ts";
import { encodeJob } from "../chain/job.ts";
import { choosePositions, selectionSeed } from "../verifier-wasm/mod.ts";
import { isTimeout } from "./errors.ts";
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
  const seed = selectionSeed(
    { secret: crypto.getRandomValues(new Uint8Array(32)) },
    fromHex(commitment),
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
  };
  await sendJobMessage(s, request);
  s.say("verifying", { positions: plan.positions.length, verifiers: want.verifiers });
  const asked = new Set(plan.positions);
  const votes = new Map<string, Vote>();
  const end = Date.now() + (want.timeoutMs ?? 30_000);
  while (votes.size < want.verifiers && Date.now() < end) {
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
    if (m.t !== "verdict" || m.nonce !== nonce) continue;
    const key = toHex(from);
    if (votes.has(key)) continue;
    if (
      m.checked.length !== plan.positions.length || m.checked.some((c) => !asked.has(c.position))
    ) {
      continue;
    }
    votes.set(key, {
      key,
      verdict: m.verdict,
      failing: m.checked.filter((c) => c.status === "fail").map((c) => c.position),
    });
  }
  return { votes: [...votes.values()], positions: plan.positions };
}
