/**
 * @module Outsourced verification: a node holding models answers `verify-request` messages with a
 * signed per-position verdict (outcome and margin at each requested position, never a bare token
 * hash), from one prefill of the WASM kernel. Requests are rate-limited per requester. Where compute
 * weights are in force and the node's validator key holds weight, it checks a job only when its draw
 * for the job is due (client/validator_ticket.ts) and signs its verdict, with the ticket, as a
 * validation record for the job and the output it checked (chain/validation_record.ts); when it is
 * not due it answers `not-due` with the ticket. Without weights, or without weight of its own, it
 * answers every request with a plain verdict, as before (clients that check by weight refuse it). A
 * user report's request (its bond seen on the node: compute/jobs/report_bond.ts) is answered with a
 * record under the report's sprint whatever the draw (a report asks the majority of weight). On
 * `dev` a node can be told to lie, so tests show a lying verifier outvoted by honest ones.
 */

import { getLogger } from "@logtape/logtape";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { sha256d } from "../../chain/hash.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { decodeJob } from "../../chain/job.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type NotDueMessage,
  type VerdictMessage,
  type VerifyRequestMessage,
} from "../../client/job_messages.ts";
import { drawFor, type DueContext, signVerdictRecord } from "../../client/validator_ticket.ts";
import { reportTicket } from "./report_bond.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { BucketMap } from "../../relay/limits.ts";
import { provenFalsePositions, type Verdict, verify } from "../../verifier-wasm/mod.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";
import { jobRecordOf } from "../../client/job_record.ts";
import type { ModelStore } from "../model_store.ts";
import type { WorkerNetwork } from "./worker.ts";

const log = getLogger(["camelid", "verifier"]);

/**
 * A verifier's answer to a request for `positions`, from the verdict of a full check: each
 * position's outcome and margin (a record fault at a position fails it; a position not checked is a
 * near-tie), and fraud when a position fails or the record has a fault of its whole, honest when
 * every position passes and the verdict is not inconclusive, inconclusive otherwise.
 */
export function voteOn(
  result: Pick<Verdict, "verdict" | "reason" | "checked" | "faults">,
  positions: readonly number[],
): Pick<VerdictMessage, "verdict" | "checked"> {
  const provenFalse = provenFalsePositions(result);
  const checked = positions.map((p) => {
    const c = result.checked.find((x) => x.position === p);
    if (c) return { position: p, outcome: c.outcome, margin: c.margin };
    return {
      position: p,
      outcome: provenFalse.has(p) ? "fail" as const : "near" as const,
      margin: 0,
    };
  });
  const verdict: VerdictMessage["verdict"] =
    checked.some((c) => c.outcome === "fail") || result.reason === "record-fault"
      ? "fraud"
      : checked.every((c) => c.outcome === "pass") && result.verdict !== "inconclusive"
      ? "honest"
      : "inconclusive";
  return { verdict, checked };
}

/**
 * Requests one requester may send at once before the per-requester rate applies: a client running
 * several jobs (a job tree's layer, a gateway's `n` choices) asks for their verdicts together.
 */
export const VERIFY_REQUEST_BURST = 8;

/** Options of {@link VerifierService}. */
export interface VerifierServiceOptions {
  /** The node's network. */
  network: WorkerNetwork;
  /** Models it can check. */
  models: ModelStore;
  /**
   * Smallest mean interval between two requests of one requester, ms (default 1000; 0: no limit).
   * A requester may send up to {@link VERIFY_REQUEST_BURST} at once (several jobs of one client).
   */
  minIntervalMs?: number;
  /** Dev tests only: answer the opposite of the truth. */
  lie?: boolean;
  /** The node's validator key and the due rule it draws under (absent: it votes on every job). */
  validator?: ValidatorDuty;
  /**
   * Keeps this node's margin evidence of each job it checks (compute/weight/local_evidence.ts:
   * the margins of every checked position, the true ones even when lying).
   */
  evidence?: (
    jobId: string,
    output: { outputTokens: readonly number[]; finishReason: "stop" | "length" },
    margins: readonly number[],
  ) => Promise<unknown>;
}

/** A verifier's validation duty where compute weights are in force. */
export interface ValidatorDuty {
  /** The secret key of the node's compute weight (its wallet key, which proves its sprints). */
  secretKey: Uint8Array;
  /**
   * The due context for a job done by `executor` (its reward address, when the request names
   * it), under the weights of `sprint` (the one the client checks with, when it names one) or the
   * weights in force, and the executor's validation probability, as the node serves them
   * (`/v1/weights`, `/v1/reputation/:key`); null when no weight is in force.
   */
  context(executor: string | null, sprint: number | null): Promise<DueContext | null>;
  /**
   * The sprint of a user report's bond on job `jobId` (hex) as the node knows it (compute/jobs/
   * report_bond.ts); null when there is no such bond: the report is not answered.
   */
  reportSprint?(bond: { txid: string; vout: number }, jobId: string): Promise<number | null>;
}

/** Answers verification requests for the models of a store. */
export class VerifierService {
  readonly #o: VerifierServiceOptions;
  readonly #backends = new Map<string, Promise<WasmBackend>>();
  readonly #requests: BucketMap | undefined;

  /** Starts answering requests seen on the network. */
  constructor(options: VerifierServiceOptions) {
    this.#o = options;
    const interval = options.minIntervalMs ?? 1000;
    this.#requests = interval > 0
      ? new BucketMap(1000 / interval, VERIFY_REQUEST_BURST)
      : undefined;
    options.network.events.addEventListener("message", (e) => {
      const env = (e as CustomEvent<{ envelope: Envelope }>).detail.envelope;
      if (env.type !== "direct" || !isJobPayload(env.payload)) return;
      let m;
      try {
        m = decodeJobMessage(env.payload);
      } catch {
        return;
      }
      if (m.t !== "verify-request") return;
      this.#answer(env, m).catch((err) =>
        log.warn("Verification failed: {error}", { error: (err as Error).message })
      );
    });
  }

  async #answer(env: Envelope, m: VerifyRequestMessage): Promise<void> {
    const requester = toHex(env.from);
    if (this.#requests && !this.#requests.take(requester)) {
      return log.info("Verification request from {key} rate limited", { key: requester });
    }
    const jobBytes = fromHex(m.job);
    const job = decodeJob(jobBytes);
    const jobId = sha256d(jobBytes);
    if (toHex(jobId) !== m.jobId) return;
    const modelId = toHex(job.modelId);
    if (!this.#o.models.path(modelId)) return;
    const duty = this.#o.validator;
    // A user report asks every weight holder, whatever its draw, once its bond is seen.
    const reportSprint = m.report ? await duty?.reportSprint?.(m.report, m.jobId) ?? null : null;
    if (m.report && reportSprint === null) {
      return log.info("Report on job {id}: no bond seen, not answered", { id: m.jobId });
    }
    const ctx = duty ? await duty.context(m.executor ?? null, m.sprint ?? null) : null;
    // It draws only with a key that holds weight; without, it answers as before.
    const weightKey = duty && ctx?.byAddress.has(addressFromPublicKey(publicKeyOf(duty.secretKey)))
      ? duty.secretKey
      : null;
    const draw = weightKey && ctx ? drawFor(ctx, jobId, weightKey) : undefined;
    if (draw && !draw.due && reportSprint === null) {
      const notDue: NotDueMessage = {
        t: "not-due",
        jobId: m.jobId,
        nonce: m.nonce,
        validator: draw.ticket,
      };
      this.#o.network.send(encodeJobMessage(notDue), env.from);
      return log.info("Not due to validate job {id}: draw {draw} >= {threshold}", {
        id: m.jobId,
        draw: draw.draw,
        threshold: draw.threshold,
      });
    }
    const gguf = await this.#o.models.bytes(modelId);
    let backend = this.#backends.get(modelId);
    if (!backend) {
      backend = WasmBackend.create(gguf);
      this.#backends.set(modelId, backend);
    }
    const result = await verify(jobRecordOf(job, jobId, m.outputTokens, m.finishReason), {
      gguf,
      backend: await backend,
    }, {
      positions: "all",
    });
    const { verdict: truth, checked } = voteOn(result, m.positions);
    let verdict = truth;
    if (this.#o.lie) {
      verdict = verdict === "honest" ? "fraud" : "honest";
      for (const c of checked) c.outcome = verdict === "fraud" ? "fail" : "pass";
      log.warn("Lying about job {id} (cheat)", { id: m.jobId });
    }
    const answer: VerdictMessage = {
      t: "verdict",
      jobId: m.jobId,
      nonce: m.nonce,
      verdict,
      checked,
    };
    // The vote is a validation record bound to the output it checked (the stake's commitment); a
    // report's record draws under the report's sprint.
    const ticket = reportSprint !== null && duty
      ? reportTicket(jobId, reportSprint, duty.secretKey)
      : draw?.ticket;
    if (ticket && duty) {
      const commitment = outputCommitment(jobId, m.outputTokens, m.finishReason);
      answer.validator = signVerdictRecord(jobId, commitment, answer, ticket, duty.secretKey);
    }
    this.#o.network.send(encodeJobMessage(answer), env.from);
    log.info("Verdict on job {id} for {key}: {verdict}", { id: m.jobId, key: requester, verdict });
    await this.#o.evidence?.(
      m.jobId,
      { outputTokens: m.outputTokens, finishReason: m.finishReason },
      result.checked.map((c) => c.margin),
    );
  }
}
