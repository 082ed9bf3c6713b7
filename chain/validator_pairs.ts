/**
 * @module The validator pairs of a payment or a pool's distribution: a validator's reward (0x08) and
 * its validation record (0x09), side by side. One place checks them for both (chain/spend.ts PAY,
 * chain/pool_rules.ts DISTRIBUTE): the reward pays the HASH160 of its record's key on the job's
 * client and commitment, no record is the executor's own, no key appears twice, and every record's
 * ticket and signature hold for the job and the committed output.
 */

import { equalBytes, toHex } from "./bytes.ts";
import { ValidationError } from "./errors.ts";
import { hash160 } from "./hash.ts";
import {
  parseOutputScript,
  TEMPLATE_VALIDATION_RECORD,
  TEMPLATE_VALIDATOR_REWARD,
  validatorRewardScript,
} from "./script.ts";
import type { Transaction } from "./tx.ts";
import { recordFault, type ValidationRecord } from "./validation_record.ts";

/** The job a pair is checked against: a stake's, a held reward's or a pool's fields. */
export interface PairJob {
  /** The job id. */
  readonly jobId: Uint8Array;
  /** The executor's HASH160. */
  readonly nodeHash: Uint8Array;
  /** The client's HASH160. */
  readonly clientHash: Uint8Array;
  /** The executor's output commitment. */
  readonly commitment: Uint8Array;
}

function fail(code: string, message: string): never {
  throw new ValidationError(code, message);
}

/** How many (0x08, 0x09) pairs, by template byte, `tx`'s outputs hold from output `first` on. */
export function leadingPairs(tx: Transaction, first: number): number {
  let k = 0;
  for (let n = first; n + 1 < tx.outputs.length; n += 2) {
    if (
      tx.outputs[n].scriptPubKey[0] !== TEMPLATE_VALIDATOR_REWARD ||
      tx.outputs[n + 1].scriptPubKey[0] !== TEMPLATE_VALIDATION_RECORD
    ) {
      break;
    }
    k++;
  }
  return k;
}

/**
 * Checks the `k` pairs of input `index`'s transaction from output `first` on (their template bytes
 * already checked): each reward is the reward of its record's key on `job`
 * (`job/validator-reward`), no record is the executor's (`job/self-validation`), no key appears
 * twice (`job/duplicate-validator`). Returns the records in order; their values and the costly
 * ticket and signature checks ({@link checkRecordsHold}) are the caller's.
 */
export function checkValidatorPairs(
  tx: Transaction,
  index: number,
  job: PairJob,
  first: number,
  k: number,
): ValidationRecord[] {
  const records: ValidationRecord[] = [];
  const keys = new Set<string>();
  for (let n = first; n < first + 2 * k; n += 2) {
    const parsed = parseOutputScript(tx.outputs[n + 1].scriptPubKey);
    if (parsed.type !== "validation-record") {
      fail("job/validator-reward", `input ${index}: output ${n + 1} is not a record`);
    }
    const { record } = parsed;
    const validatorHash = hash160(record.validatorKey);
    const reward = validatorRewardScript(job.jobId, validatorHash, job.clientHash, job.commitment);
    if (!equalBytes(tx.outputs[n].scriptPubKey, reward)) {
      fail(
        "job/validator-reward",
        `input ${index}: output ${n} is not the reward of the validator of record ${n + 1}`,
      );
    }
    if (equalBytes(validatorHash, job.nodeHash)) {
      fail("job/self-validation", `input ${index}: record ${n + 1} is the executor's own`);
    }
    const key = toHex(record.validatorKey);
    if (keys.has(key)) {
      fail("job/duplicate-validator", `input ${index}: validator ${key} appears twice`);
    }
    keys.add(key);
    records.push(record);
  }
  return records;
}

/**
 * True when the pairs from output `first` on pay `each` to every reward and nothing to every
 * record (the value rule of a payment's and a distribution's pairs alike).
 */
export function pairValuesAre(tx: Transaction, first: number, k: number, each: bigint): boolean {
  return tx.outputs.slice(first, first + 2 * k).every((o, j) =>
    o.value === (j % 2 === 0 ? each : 0n)
  );
}

/**
 * Checks that every record (the pairs' records from output `first` on) holds for `job`'s id and
 * commitment ({@link recordFault}: `job/bad-ticket`, `job/bad-attestation`): a DLEQ verification and
 * a signature each, so callers run it after every cheaper rule.
 */
export function checkRecordsHold(
  job: PairJob,
  records: readonly ValidationRecord[],
  index: number,
  first: number,
): void {
  for (const [j, record] of records.entries()) {
    const fault = recordFault(job.jobId, job.commitment, record);
    if (fault) {
      fail(
        fault,
        `input ${index}: record ${first + 2 * j + 1} does not hold for this job and output`,
      );
    }
  }
}
