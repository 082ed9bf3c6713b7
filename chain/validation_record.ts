/**
 * @module Validation records (issue 16, "who validated", on chain): a validator's signed statement
 * that it checked one job's output, as the payment of that job carries it. The record holds the
 * validator's ticket (Gamma and its DLEQ proof for the job id: chain/validator_draw.ts), its verdict,
 * how many positions it checked and how many of them exceeded the margin level (the statistical
 * evidence), a digest of the full per-position verdict, and the validator key's signature over all
 * of it bound to the job id and the output commitment. Pure bytes: the consensus rules that use it
 * are in chain/spend.ts; the split of a payment between executor and validators is
 * {@link validatorSplit}.
 */

import { ByteWriter, concatBytes, equalBytes } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { isValidPublicKey, signPreimage, verifySignature } from "./keys.ts";
import { DLEQ_PROOF_LENGTH, ECIES_EPHEMERAL_LENGTH, verifySharedPoint } from "./dleq.ts";
import { jobPoint } from "./validator_draw.ts";

/**
 * Template byte of a validation record (value 0, unspendable, never in the UTXO set): 0x09 ||
 * validator key 33 || sprint u32 LE || Gamma 65 || proof 98 || verdict u8 || positions u16 LE ||
 * exceeded u16 LE || detail 32 || signature 64.
 */
export const TEMPLATE_VALIDATION_RECORD = 0x09;
/** Length of a validation record script. */
export const VALIDATION_RECORD_SCRIPT_LENGTH = 1 + 33 + 4 + ECIES_EPHEMERAL_LENGTH +
  DLEQ_PROOF_LENGTH + 1 + 2 + 2 + 32 + 64;
/** Most validators one payment pays (records per payment). */
export const MAX_PAID_VALIDATORS = 8;
/** The validators of a paid job share 1 / VALIDATOR_PART_DIVISOR of the payment. */
export const VALIDATOR_PART_DIVISOR = 10n;

/** How many sprints before the newest closed one a record's sprint may be. */
export const MAX_RECORD_SPRINT_AGE = 2;

/**
 * Which sprints a record of a payment may name: from `newestClosed - MAX_RECORD_SPRINT_AGE` to
 * `newestClosed`, the newest sprint whose window had closed below the payment's height.
 */
export function recordSprintInRange(sprint: number, newestClosed: number): boolean {
  return sprint >= 1 && sprint <= newestClosed && sprint >= newestClosed - MAX_RECORD_SPRINT_AGE;
}

/** A validator's verdict on a job, as a record stores it (byte 0, 1, 2). */
export const RECORD_VERDICTS = ["honest", "fraud", "inconclusive"] as const;
/** A verdict a record can carry. */
export type RecordVerdict = typeof RECORD_VERDICTS[number];

/** A decoded validation record. */
export interface ValidationRecord {
  /** The validator's compressed public key (the key whose compute weight it drew with). */
  validatorKey: Uint8Array;
  /** The sprint whose weights it drew under. */
  sprint: number;
  /** Gamma = secret·H(job id), 65 bytes uncompressed. */
  gamma: Uint8Array;
  /** The DLEQ proof of Gamma (98 bytes). */
  proof: Uint8Array;
  /** Its verdict over the positions it checked. */
  verdict: RecordVerdict;
  /** Positions it checked (1..65535). */
  positions: number;
  /** Of those, positions whose margin exceeded the level (0 logits): the evidence. */
  exceeded: number;
  /** SHA-256 of the full verdict (request nonce and every position's outcome and margin). */
  detail: Uint8Array;
  /** The validator key's compact signature over {@link attestationPreimage}. */
  signature: Uint8Array;
}

/** The record fields a validator signs (all but the signature). */
export type RecordBody = Omit<ValidationRecord, "signature">;

const ATTEST_TAG = new TextEncoder().encode("camelid/validate/attest");
const DETAIL_TAG = new TextEncoder().encode("camelid/validate/detail");

/**
 * What the validator signs: "camelid/validate/attest" || job id 32 || output commitment 32 ||
 * sprint u32 LE || Gamma 65 || verdict u8 || positions u16 LE || exceeded u16 LE || detail 32.
 */
export function attestationPreimage(
  jobId: Uint8Array,
  commitment: Uint8Array,
  body: RecordBody,
): Uint8Array {
  if (jobId.length !== 32 || commitment.length !== 32) {
    throw new RangeError("job id and commitment must be 32 bytes");
  }
  const w = new ByteWriter(ATTEST_TAG.length + 32 + 32 + 4 + 65 + 1 + 2 + 2 + 32);
  w.bytes(ATTEST_TAG).bytes(jobId).bytes(commitment).u32(body.sprint).bytes(body.gamma);
  w.u8(RECORD_VERDICTS.indexOf(body.verdict)).u16(body.positions).u16(body.exceeded);
  w.bytes(body.detail);
  return w.finish();
}

/**
 * The detail digest of a full verdict: SHA-256("camelid/validate/detail" || JSON of [request nonce,
 * [[position, outcome, margin], ...]]), so the record binds every margin the client saw.
 */
export function verdictDetail(
  nonce: string,
  checked: readonly { position: number; outcome: string; margin: number }[],
): Uint8Array {
  const body = JSON.stringify([nonce, checked.map((c) => [c.position, c.outcome, c.margin])]);
  return sha256(concatBytes(DETAIL_TAG, new TextEncoder().encode(body)));
}

/** Signs a record body for `jobId` and `commitment` with the validator's secret key. */
export function signRecord(
  jobId: Uint8Array,
  commitment: Uint8Array,
  body: RecordBody,
  secretKey: Uint8Array,
): ValidationRecord {
  return {
    ...body,
    signature: signPreimage(attestationPreimage(jobId, commitment, body), secretKey),
  };
}

/** Why a record does not hold for a job (the consensus codes of chain/spend.ts). */
export type RecordFault = "job/bad-ticket" | "job/bad-attestation";

/**
 * Checks a record against its job and output: the ticket's DLEQ proof shows Gamma = the key's
 * secret times the job's point, and the key signed the record for this job and commitment. Returns
 * the first fault, or null when it holds. (Whether the validator was due needs the weights: that is
 * node policy and derivation, not this check.)
 */
export function recordFault(
  jobId: Uint8Array,
  commitment: Uint8Array,
  record: ValidationRecord,
): RecordFault | null {
  if (!verifySharedPoint(record.validatorKey, jobPoint(jobId), record.gamma, record.proof)) {
    return "job/bad-ticket";
  }
  const preimage = attestationPreimage(jobId, commitment, record);
  if (!verifySignature(record.signature, preimage, record.validatorKey)) {
    return "job/bad-attestation";
  }
  return null;
}

/** The output script of a validation record. */
export function validationRecordScript(record: ValidationRecord): Uint8Array {
  const w = new ByteWriter(VALIDATION_RECORD_SCRIPT_LENGTH);
  w.u8(TEMPLATE_VALIDATION_RECORD).bytes(record.validatorKey).u32(record.sprint);
  w.bytes(record.gamma).bytes(record.proof).u8(RECORD_VERDICTS.indexOf(record.verdict));
  w.u16(record.positions).u16(record.exceeded).bytes(record.detail).bytes(record.signature);
  const s = w.finish();
  parseValidationRecord(s); // refuses what the parser would
  return s;
}

/**
 * Strict decode of a validation record script: exact length, a valid key, a known verdict, 1..65535
 * positions and no more exceeded than positions (`DecodeError` `script/length` or
 * `script/bad-record`).
 */
export function parseValidationRecord(script: Uint8Array): ValidationRecord {
  if (script.length !== VALIDATION_RECORD_SCRIPT_LENGTH) {
    throw new DecodeError(
      "script/length",
      `validation record script must be ${VALIDATION_RECORD_SCRIPT_LENGTH} bytes, got ${script.length}`,
    );
  }
  const v = new DataView(script.buffer, script.byteOffset, script.length);
  let o = 1;
  const take = (n: number) => script.slice(o, o += n);
  const validatorKey = take(33);
  const sprint = v.getUint32(o, true);
  o += 4;
  const gamma = take(ECIES_EPHEMERAL_LENGTH);
  const proof = take(DLEQ_PROOF_LENGTH);
  const verdict = RECORD_VERDICTS[script[o++]];
  const positions = v.getUint16(o, true);
  const exceeded = v.getUint16(o + 2, true);
  o += 4;
  const detail = take(32);
  const signature = take(64);
  const bad = (why: string) => new DecodeError("script/bad-record", `validation record: ${why}`);
  if (!isValidPublicKey(validatorKey)) throw bad("the validator key is not a valid point");
  if (verdict === undefined) throw bad(`unknown verdict byte ${script[1 + 33 + 4 + 65 + 98]}`);
  if (positions < 1) throw bad("it checked no position");
  if (exceeded > positions) throw bad(`${exceeded} exceeded of ${positions} positions`);
  return { validatorKey, sprint, gamma, proof, verdict, positions, exceeded, detail, signature };
}

/**
 * How a payment of `total` (the sum of its outputs) splits between the executor and `k` validators
 * (0..{@link MAX_PAID_VALIDATORS}): each validator gets floor(total / (10 k)), the executor the
 * rest; with no validator the executor gets all of it.
 *
 * @example
 * ```ts
 * validatorSplit(1000n, 3); // { each: 33n, executor: 901n }
 * ```
 */
export function validatorSplit(total: bigint, k: number): { each: bigint; executor: bigint } {
  if (!Number.isInteger(k) || k < 0 || k > MAX_PAID_VALIDATORS) {
    throw new RangeError(`0..${MAX_PAID_VALIDATORS} validators`);
  }
  if (k === 0) return { each: 0n, executor: total };
  const each = total / (VALIDATOR_PART_DIVISOR * BigInt(k));
  return { each, executor: total - each * BigInt(k) };
}

/** True when two records name the same validator key. */
export function sameValidator(a: ValidationRecord, b: ValidationRecord): boolean {
  return equalBytes(a.validatorKey, b.validatorKey);
}
