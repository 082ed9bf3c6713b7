/**
 * @module Validator tickets on outsourced verdicts (issue 16, "who validates"): where compute
 * weights are in force, a verifier votes on a job only when its draw (chain/validator_draw.ts) for
 * the job id is due under the weights and the executor's validation probability, and its verdict
 * carries the ticket (Gamma, DLEQ proof) and the weight key's signature of the verdict as a
 * validation record (chain/validation_record.ts), which the client puts on chain in its payment; a
 * verifier that is not due says so with its ticket. The verifier (compute/jobs/verifier_service.ts) issues and the
 * client (client/outsourced.ts) checks with the same rule. Without weights (no sprint closed, no
 * weight on chain) there is no rule and every serving verifier votes, as before.
 */

import { fromHex, toHex } from "../chain/bytes.ts";
import { CodedError } from "../chain/errors.ts";
import { addressFromPublicKey, publicKeyOf, verifySignature } from "../chain/keys.ts";
import {
  attestationPreimage,
  type RecordBody,
  signRecord,
  type ValidationRecord,
  verdictDetail,
} from "../chain/validation_record.ts";
import type {
  NotDueMessage,
  SignedTicketJson,
  TicketJson,
  VerdictMessage,
} from "./job_messages.ts";
import type { WeightsLookup } from "./phases/choose.ts";
import type { ComputeReputation } from "./phases/reputation.ts";
import {
  dueProbability,
  jobPoint,
  ticketDraw,
  type ValidationTicket,
  validationTicket,
} from "../chain/validator_draw.ts";
import { verifySharedPoint } from "../chain/dleq.ts";

import { VALIDATORS_PER_JOB } from "../chain/record_eligibility.ts";

export { VALIDATORS_PER_JOB };

/** Why a validator's verdict or not-due answer was refused (it does not count). */
export type ValidatorTicketCode =
  /** Weights are in force but the verdict carries no ticket. */
  | "validator/no-ticket"
  /** The ticket names another sprint than the weights in force. */
  | "validator/wrong-sprint"
  /** The ticket does not check: its Gamma is not the key's for this job id, or its proof is bad. */
  | "validator/bad-ticket"
  /** The ticket checks but the validator is not due for this job (or has no weight). */
  | "validator/not-due"
  /** A not-due answer whose ticket shows the validator due: it declines its duty. */
  | "validator/due"
  /** The verdict's signature is not the ticket key's record signature for this job and output. */
  | "validator/bad-signature"
  /** The verdict checked no position, or more than a record can state. */
  | "validator/positions";

/** A refused validator answer, with its {@link ValidatorTicketCode}. */
export class ValidatorTicketError extends CodedError<ValidatorTicketCode> {}

/** What decides who is due for one job: the weights in force and the executor's probability. */
export interface DueContext {
  /** The sprint whose weights are in force. */
  readonly sprint: number;
  /** Compute weight by address (positive weights only). */
  readonly byAddress: ReadonlyMap<string, number>;
  /** Sum of the weights (> 0). */
  readonly total: number;
  /** The executor's reward address (it never validates its own job); null when unknown. */
  readonly executor: string | null;
  /** The executor's validation probability (1 when unknown). */
  readonly validationProbability: number;
  /** Validators wanted per job ({@link VALIDATORS_PER_JOB}). */
  readonly validatorsPerJob: number;
}

/**
 * The due context from the weights in force and the executor's reputation; null when no weight is
 * in force (the lookup failed, no sprint closed, or every weight is 0): every verifier may vote.
 */
export function dueContextOf(
  weights: WeightsLookup | null,
  executor: string | null,
  reputation?: ComputeReputation | { validationProbability: number },
): DueContext | null {
  if (!weights || "unavailable" in weights) return null;
  let total = 0;
  for (const w of weights.byAddress.values()) total += w;
  if (!(total > 0)) return null;
  const p = reputation && "validationProbability" in reputation
    ? reputation.validationProbability
    : 1;
  return {
    sprint: weights.sprint,
    byAddress: weights.byAddress,
    total,
    executor,
    validationProbability: Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 1,
    validatorsPerJob: VALIDATORS_PER_JOB,
  };
}

/** Who may vote on an outsourced check, as the client decided it. */
export type VoterSelection =
  | { by: "weight"; sprint: number }
  | { by: "any-verifier"; reason: string };

/**
 * Whether votes are checked by weight: only when weights are in force (`ctx`) and at least one
 * verifier serving the model says it draws with a key that holds weight (its `/v1/status`
 * `verifier.validator`); otherwise every verifier votes, as before, and the reason says why.
 * `holders` counts the verifiers holding weight (the answers to wait for).
 */
export function chooseVoters(
  ctx: DueContext | null,
  verifierAddresses: readonly (string | undefined)[],
): { validators: DueContext | null; selection: VoterSelection; holders: number } {
  if (!ctx) {
    return {
      validators: null,
      selection: { by: "any-verifier", reason: "no compute weights in force" },
      holders: 0,
    };
  }
  const holders = verifierAddresses.filter((a) => a !== undefined && ctx.byAddress.has(a)).length;
  if (holders === 0) {
    return {
      validators: null,
      selection: {
        by: "any-verifier",
        reason: `no verifier serving the model holds compute weight of sprint ${ctx.sprint}`,
      },
      holders,
    };
  }
  return { validators: ctx, selection: { by: "weight", sprint: ctx.sprint }, holders };
}

/**
 * The probability that the validator at `address` is due for a job under `ctx`: min(1,
 * validatorsPerJob x its weight share x the executor's validation probability); 0 for the executor
 * itself and for a key without weight.
 */
export function dueThreshold(ctx: DueContext, address: string): number {
  if (address === ctx.executor) return 0;
  return dueProbability({
    weightShare: (ctx.byAddress.get(address) ?? 0) / ctx.total,
    validatorsPerJob: ctx.validatorsPerJob,
    validationProbability: ctx.validationProbability,
  });
}

/** A validator's draw for one job under a context. */
export interface Draw {
  /** The ticket as messages carry it. */
  ticket: TicketJson;
  /** Its draw in [0, 1). */
  draw: number;
  /** The due probability it is compared with. */
  threshold: number;
  /** draw < threshold. */
  due: boolean;
}

/** The draw of the validator with `secretKey` for `jobId` under `ctx`. */
export function drawFor(ctx: DueContext, jobId: Uint8Array, secretKey: Uint8Array): Draw {
  const key = publicKeyOf(secretKey);
  const t = validationTicket(jobId, secretKey);
  const draw = ticketDraw(t);
  const threshold = dueThreshold(ctx, addressFromPublicKey(key));
  return {
    ticket: { key: toHex(key), sprint: ctx.sprint, gamma: toHex(t.gamma), proof: toHex(t.proof) },
    draw,
    threshold,
    due: draw < threshold,
  };
}

/**
 * Margin level of a record's `exceeded` count: a checked position whose margin is above it (the
 * verifier scores another token above the claimed one) exceeds, the margin test's level 0
 * (compute/weight/margin_sprt.ts).
 */
export const RECORD_MARGIN_LEVEL = 0;

/** Most positions a validation record can state (a u16; a request asks for far fewer). */
export const MAX_RECORD_POSITIONS = 0xffff;

/**
 * The validation record body (chain/validation_record.ts) of a due validator's verdict: its ticket,
 * its verdict, positions = the positions it checked, exceeded = those with a margin above
 * {@link RECORD_MARGIN_LEVEL}, detail = `verdictDetail(request nonce, checked)`. Throws
 * `validator/positions` when the verdict checked no position or more than a record can state.
 */
export function verdictRecordBody(
  m: Pick<VerdictMessage, "nonce" | "verdict" | "checked">,
  ticket: TicketJson,
): RecordBody {
  if (m.checked.length < 1 || m.checked.length > MAX_RECORD_POSITIONS) {
    throw new ValidatorTicketError(
      "validator/positions",
      `a record states 1..${MAX_RECORD_POSITIONS} positions, the verdict checked ${m.checked.length}`,
    );
  }
  return {
    validatorKey: fromHex(ticket.key, 33),
    sprint: ticket.sprint,
    gamma: fromHex(ticket.gamma, 65),
    proof: fromHex(ticket.proof, 98),
    verdict: m.verdict,
    positions: m.checked.length,
    exceeded: m.checked.filter((c) => c.margin > RECORD_MARGIN_LEVEL).length,
    detail: verdictDetail(m.nonce, m.checked),
  };
}

/**
 * Signs a due validator's verdict as a validation record for job `jobId` and the output
 * `commitment` it checked (`outputCommitment` of the request's output): the ticket with the record
 * signature, for `VerdictMessage.validator`. One signature per vote, which the client checks and
 * puts on chain in its payment.
 */
export function signVerdictRecord(
  jobId: Uint8Array,
  commitment: Uint8Array,
  m: Pick<VerdictMessage, "nonce" | "verdict" | "checked">,
  ticket: TicketJson,
  secretKey: Uint8Array,
): SignedTicketJson {
  const record = signRecord(jobId, commitment, verdictRecordBody(m, ticket), secretKey);
  return { ...ticket, signature: toHex(record.signature) };
}

/** A checked ticket: the validator's address, its draw and the due probability. */
export interface CheckedTicket {
  /** The validator's address (the key's HASH160). */
  address: string;
  /** Its draw. */
  draw: number;
  /** The due probability under the client's context. */
  threshold: number;
}

function checkTicket(ctx: DueContext, jobId: Uint8Array, t: TicketJson): CheckedTicket {
  if (t.sprint !== ctx.sprint) {
    throw new ValidatorTicketError(
      "validator/wrong-sprint",
      `the ticket draws under sprint ${t.sprint}, the weights in force are sprint ${ctx.sprint}`,
    );
  }
  const key = fromHex(t.key, 33);
  const ticket: ValidationTicket = { gamma: fromHex(t.gamma, 65), proof: fromHex(t.proof, 98) };
  if (!verifySharedPoint(key, jobPoint(jobId), ticket.gamma, ticket.proof)) {
    throw new ValidatorTicketError(
      "validator/bad-ticket",
      "the ticket's proof does not show Gamma = the key's secret times this job's point",
    );
  }
  const address = addressFromPublicKey(key);
  return { address, draw: ticketDraw(ticket), threshold: dueThreshold(ctx, address) };
}

/** A counted due vote: its checked ticket and the validation record the client may put on chain. */
export interface CheckedVote extends CheckedTicket {
  /** The verdict as a signed validation record (chain/validation_record.ts). */
  record: ValidationRecord;
}

/**
 * Checks a verdict under weights in force for the output `commitment` (the stake's, from the
 * receipt): it must carry a ticket of the sprint in force whose proof holds for this job id, whose
 * draw is due, and whose key signed this verdict as a validation record for this job and output.
 * Throws a {@link ValidatorTicketError} naming the first rule broken; returns the record.
 */
export function checkVerdictTicket(
  ctx: DueContext,
  jobId: Uint8Array,
  commitment: Uint8Array,
  m: VerdictMessage,
): CheckedVote {
  if (!m.validator) {
    throw new ValidatorTicketError(
      "validator/no-ticket",
      `compute weights of sprint ${ctx.sprint} are in force and the verdict carries no ticket`,
    );
  }
  const checked = checkTicket(ctx, jobId, m.validator);
  if (!(checked.draw < checked.threshold)) {
    throw new ValidatorTicketError(
      "validator/not-due",
      `draw ${checked.draw} is not under ${checked.threshold} for ${checked.address}`,
    );
  }
  const record = {
    ...verdictRecordBody(m, m.validator),
    signature: fromHex(m.validator.signature, 64),
  };
  const preimage = attestationPreimage(jobId, commitment, record);
  if (!verifySignature(record.signature, preimage, record.validatorKey)) {
    throw new ValidatorTicketError(
      "validator/bad-signature",
      "the verdict is not the ticket key's signed record of this job and output",
    );
  }
  return { ...checked, record };
}

/**
 * Checks a not-due answer: its ticket must hold for this job id under the sprint in force and show
 * a draw that is not due (a due validator saying not-due declines its duty: `validator/due`).
 */
export function checkNotDue(
  ctx: DueContext,
  jobId: Uint8Array,
  m: NotDueMessage,
): CheckedTicket {
  const checked = checkTicket(ctx, jobId, m.validator);
  if (checked.draw < checked.threshold) {
    throw new ValidatorTicketError(
      "validator/due",
      `draw ${checked.draw} is under ${checked.threshold}: ${checked.address} is due`,
    );
  }
  return checked;
}
