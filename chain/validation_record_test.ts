/**
 * @module Tests of validation records (chain/validation_record.ts): the strict decode of the 0x09
 * script and its codes, the round trip, what `recordFault` catches (a ticket of another key or job,
 * a signature over other fields) and the exact values of `validatorSplit`.
 */

import assert from "node:assert/strict";
import { DecodeError } from "./errors.ts";
import { generateSecretKey, publicKeyOf } from "./keys.ts";
import { parseOutputScript } from "./script.ts";
import {
  parseValidationRecord,
  type RecordBody,
  recordFault,
  signRecord,
  VALIDATION_RECORD_SCRIPT_LENGTH,
  type ValidationRecord,
  validationRecordScript,
  validatorSplit,
  verdictDetail,
} from "./validation_record.ts";
import { validationTicket } from "./validator_draw.ts";

const JOB = new Uint8Array(32).fill(1);
const OTHER_JOB = new Uint8Array(32).fill(2);
const COMMITMENT = new Uint8Array(32).fill(3);

/** Byte offsets in a record script (0x09 || key 33 || sprint 4 || Gamma 65 || proof 98 || ...). */
const AT = { key: 1, verdict: 201, positions: 202, exceeded: 204 } as const;

/** The body of `secret`'s record for `jobId` (its ticket drawn for `ticketJob`). */
function bodyOf(secret: Uint8Array, ticketJob: Uint8Array = JOB): RecordBody {
  const ticket = validationTicket(ticketJob, secret);
  const checked = [
    { position: 3, outcome: "match", margin: -0.5 },
    { position: 9, outcome: "match", margin: 1.25 },
    { position: 12, outcome: "mismatch", margin: 4 },
  ];
  return {
    validatorKey: publicKeyOf(secret),
    sprint: 7,
    gamma: ticket.gamma,
    proof: ticket.proof,
    verdict: "honest",
    positions: 3,
    exceeded: 2,
    detail: verdictDetail("nonce-1", checked),
  };
}

const secret = generateSecretKey();
const record: ValidationRecord = signRecord(JOB, COMMITMENT, bodyOf(secret), secret);

/** Asserts that decoding `script` throws a `DecodeError` with `code`. */
function refused(script: Uint8Array, code: string): void {
  assert.throws(() => parseValidationRecord(script), (e: unknown) => {
    assert.ok(e instanceof DecodeError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** The record's script with `edit` applied to a copy. */
function edited(edit: (s: Uint8Array, v: DataView) => void): Uint8Array {
  const s = validationRecordScript(record).slice();
  edit(s, new DataView(s.buffer));
  return s;
}

Deno.test("a record's script round-trips, as a record and as an output script", () => {
  const script = validationRecordScript(record);
  assert.equal(script.length, VALIDATION_RECORD_SCRIPT_LENGTH);
  assert.equal(script.length, 302);
  assert.deepEqual(parseValidationRecord(script), record);
  assert.deepEqual(parseOutputScript(script), { type: "validation-record", record });
  for (const verdict of ["fraud", "inconclusive"] as const) {
    const other = signRecord(JOB, COMMITMENT, { ...bodyOf(secret), verdict }, secret);
    assert.deepEqual(parseValidationRecord(validationRecordScript(other)), other);
  }
});

Deno.test("the strict decode refuses a wrong length, a bad key, an unknown verdict, no positions and more exceeded than positions", () => {
  const script = validationRecordScript(record);
  refused(script.subarray(0, script.length - 1), "script/length");
  refused(Uint8Array.of(...script, 0), "script/length");
  refused(
    edited((s) => s[AT.key] = 0x05),
    "script/bad-record",
  );
  refused(
    edited((s) => s[AT.verdict] = 3),
    "script/bad-record",
  );
  refused(
    edited((_, v) => v.setUint16(AT.positions, 0, true)),
    "script/bad-record",
  );
  refused(
    edited((_, v) => v.setUint16(AT.exceeded, 4, true)),
    "script/bad-record",
  );
  // As an output, the same script is not a valid output script.
  assert.throws(() => parseOutputScript(edited((s) => s[AT.verdict] = 3)), DecodeError);
  // The builder refuses what the parser would.
  assert.throws(
    () => validationRecordScript({ ...record, positions: 2, exceeded: 3 }),
    DecodeError,
  );
  // The edge values decode: exceeded = positions, 65535 positions.
  const full = edited((_, v) => {
    v.setUint16(AT.positions, 65535, true);
    v.setUint16(AT.exceeded, 65535, true);
  });
  assert.equal(parseValidationRecord(full).positions, 65535);
});

Deno.test("recordFault holds a signed record and catches another key's Gamma, another job and changed fields", () => {
  assert.equal(recordFault(JOB, COMMITMENT, record), null);
  // Another key's ticket, signed by this key: the DLEQ proof does not hold for this key.
  const other = generateSecretKey();
  const theirs = bodyOf(other);
  const borrowed = signRecord(
    JOB,
    COMMITMENT,
    { ...bodyOf(secret), gamma: theirs.gamma, proof: theirs.proof },
    secret,
  );
  assert.equal(recordFault(JOB, COMMITMENT, borrowed), "job/bad-ticket");
  // A ticket drawn for another job, and a record checked against another job.
  const stale = signRecord(JOB, COMMITMENT, bodyOf(secret, OTHER_JOB), secret);
  assert.equal(recordFault(JOB, COMMITMENT, stale), "job/bad-ticket");
  assert.equal(recordFault(OTHER_JOB, COMMITMENT, record), "job/bad-ticket");
  // Its ticket holds for the other job, its signature (over this job) does not.
  assert.equal(recordFault(OTHER_JOB, COMMITMENT, stale), "job/bad-attestation");
  // Fields changed after signing, another output, another signer.
  assert.equal(recordFault(JOB, COMMITMENT, { ...record, exceeded: 1 }), "job/bad-attestation");
  assert.equal(recordFault(JOB, COMMITMENT, { ...record, positions: 4 }), "job/bad-attestation");
  assert.equal(
    recordFault(JOB, COMMITMENT, { ...record, verdict: "fraud" }),
    "job/bad-attestation",
  );
  assert.equal(recordFault(JOB, COMMITMENT, { ...record, sprint: 8 }), "job/bad-attestation");
  assert.equal(
    recordFault(JOB, COMMITMENT, { ...record, detail: verdictDetail("nonce-2", []) }),
    "job/bad-attestation",
  );
  assert.equal(recordFault(JOB, new Uint8Array(32).fill(4), record), "job/bad-attestation");
  const signedByOther = signRecord(JOB, COMMITMENT, bodyOf(secret), other);
  assert.equal(recordFault(JOB, COMMITMENT, signedByOther), "job/bad-attestation");
});

Deno.test("validatorSplit: each validator floor(total / 10k), the executor the rest, exactly", () => {
  assert.deepEqual(validatorSplit(1000n, 0), { each: 0n, executor: 1000n });
  assert.deepEqual(validatorSplit(1000n, 1), { each: 100n, executor: 900n });
  assert.deepEqual(validatorSplit(1000n, 3), { each: 33n, executor: 901n });
  assert.deepEqual(validatorSplit(4_999_990_000n, 8), {
    each: 62_499_875n,
    executor: 4_499_991_000n,
  });
  assert.deepEqual(validatorSplit(79n, 8), { each: 0n, executor: 79n });
  assert.deepEqual(validatorSplit(80n, 8), { each: 1n, executor: 72n });
  for (const k of [-1, 9, 1.5]) assert.throws(() => validatorSplit(1000n, k), RangeError);
});
