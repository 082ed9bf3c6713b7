/**
 * @module Who validates a job, checkably (node policy): each validator's draw for a job is a
 * verifiable random value of its key and the job id, so anyone can check that it was due. The
 * draw is an ECVRF-style construction on secp256k1 from the project's DLEQ proof (chain/dleq.ts):
 * H = a point hashed from the job id (try-and-increment), Gamma = secret·H with a proof that
 * log_G(public key) = log_H(Gamma), draw = SHA-256("camelid/validate/draw" || Gamma) as a fraction.
 * Why not an ECDSA signature of the job id: whoever holds the key can make many valid ECDSA
 * signatures (any nonce) and pick the draw it likes; Gamma is unique per key and job.
 * A validator is due when draw < min(1, validators per job x weight share x validation probability).
 */

import * as secp from "@noble/secp256k1";
import { concatBytes } from "./bytes.ts";
import { sha256 } from "./hash.ts";
import { proveSharedPoint, verifySharedPoint } from "./dleq.ts";

const POINT_TAG = new TextEncoder().encode("camelid/validate/point");
const DRAW_TAG = new TextEncoder().encode("camelid/validate/draw");

/** A validator's ticket for one job: its VRF point and the proof. */
export interface ValidationTicket {
  /** Gamma = secret·H(jobId), 65 bytes uncompressed. */
  readonly gamma: Uint8Array;
  /** DLEQ proof (98 bytes). */
  readonly proof: Uint8Array;
}

/** H(jobId): the first x = SHA-256(tag || jobId || counter u8) that is on the curve (even y). */
export function jobPoint(jobId: Uint8Array): Uint8Array {
  if (jobId.length !== 32) throw new RangeError("job id must be 32 bytes");
  for (let ctr = 0; ctr < 256; ctr++) {
    const x = sha256(concatBytes(POINT_TAG, jobId, Uint8Array.of(ctr)));
    try {
      return secp.Point.fromBytes(concatBytes(Uint8Array.of(2), x)).toBytes(false);
    } catch { /* not on the curve: next counter */ }
  }
  throw new RangeError("no curve point for this job id"); // probability 2^-256
}

/** The ticket of the validator with `secretKey` for `jobId`. */
export function validationTicket(jobId: Uint8Array, secretKey: Uint8Array): ValidationTicket {
  const { shared, proof } = proveSharedPoint(secretKey, jobPoint(jobId));
  return { gamma: shared, proof };
}

/** The draw in [0, 1) of a ticket: the first 52 bits of SHA-256(tag || Gamma) over 2^52. */
export function ticketDraw(ticket: ValidationTicket): number {
  const d = sha256(concatBytes(DRAW_TAG, ticket.gamma));
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + d[i];
  return (v * 16 + (d[6] >> 4)) / 2 ** 52;
}

/** How likely a validator is to be due for one job. */
export interface DueRule {
  /** The validator's share of the epoch's total weight, in [0, 1]. */
  readonly weightShare: number;
  /** Validators wanted per validated job (expected number). */
  readonly validatorsPerJob: number;
  /** The executor's validation probability (reputation.ts). */
  readonly validationProbability: number;
}

/** The probability that a validator is due: min(1, validatorsPerJob x share x probability). */
export function dueProbability(rule: DueRule): number {
  return Math.min(1, rule.validatorsPerJob * rule.weightShare * rule.validationProbability);
}

/**
 * Checks a ticket presented by the validator `publicKey` for `jobId`: true when its proof holds and
 * its draw falls under the due probability. Malformed tickets give false.
 */
export function isDueToValidate(
  jobId: Uint8Array,
  publicKey: Uint8Array,
  ticket: ValidationTicket,
  rule: DueRule,
): boolean {
  if (!verifySharedPoint(publicKey, jobPoint(jobId), ticket.gamma, ticket.proof)) return false;
  return ticketDraw(ticket) < dueProbability(rule);
}
