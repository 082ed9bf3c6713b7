/**
 * @module User reports (issue 16), the bytes: the report output (template 0x0A, the client's bond
 * naming a held reward and a sprint) and the unlocking layouts of its paths, VOTES (the validators'
 * records) and EXPIRE (the executor, once the report window has passed). The consensus rules are in
 * report_rules.ts, the builders in report_tx.ts (docs: notes "User reports").
 */

import { ByteWriter, fromHex, toHex } from "./bytes.ts";
import { DecodeError, ValidationError } from "./errors.ts";
import type { Outpoint } from "./job_unlock.ts";
import {
  parseValidationRecord,
  TEMPLATE_VALIDATION_RECORD,
  VALIDATION_RECORD_SCRIPT_LENGTH,
  type ValidationRecord,
  validationRecordScript,
} from "./validation_record.ts";

/**
 * Template byte of a report output (the bond): 0x0A || held reward txid 32 || vout u32 LE || sprint
 * u32 LE. Spendable on VOTES (the validators' records) or EXPIRE (the executor).
 */
export const TEMPLATE_REPORT = 0x0a;
/** Length of a report output script. */
export const REPORT_SCRIPT_LENGTH = 1 + 32 + 4 + 4;
/** Most validation records a VOTES spend carries. */
export const MAX_REPORT_RECORDS = 16;
/** Report path: the validators' records, `0x01 || n u8 || n x validation record script (302)`. */
export const PATH_REPORT_VOTES = 0x01;
/** Report path of the executor after the report window: `0x02 || sig 64 || pubkey 33`. */
export const PATH_REPORT_EXPIRE = 0x02;

/** A decoded report output: the held reward it accuses and the sprint whose weights judge it. */
export interface ReportOutput {
  /** The job's held reward (template 0x07) of the executor. */
  held: Outpoint;
  /** The sprint whose weights the validators must hold a majority of. */
  sprint: number;
}

/** The report output script naming `held` and `sprint`. */
export function reportScript(report: ReportOutput): Uint8Array {
  const { held, sprint } = report;
  if (!Number.isInteger(sprint) || sprint < 0 || sprint > 0xffffffff) {
    throw new RangeError("bad sprint index");
  }
  return new ByteWriter(REPORT_SCRIPT_LENGTH).u8(TEMPLATE_REPORT).bytes(fromHex(held.txid, 32))
    .u32(held.vout).u32(sprint).finish();
}

/** Strict decode of a report output script (`DecodeError` `script/length` for a wrong size). */
export function parseReportScript(script: Uint8Array): ReportOutput {
  if (script.length !== REPORT_SCRIPT_LENGTH || script[0] !== TEMPLATE_REPORT) {
    throw new DecodeError(
      "script/length",
      `report script must be ${REPORT_SCRIPT_LENGTH} bytes, got ${script.length}`,
    );
  }
  const v = new DataView(script.buffer, script.byteOffset, script.length);
  return {
    held: { txid: toHex(script.subarray(1, 33)), vout: v.getUint32(33, true) },
    sprint: v.getUint32(37, true),
  };
}

/** The VOTES unlocking data carrying `records` (1..{@link MAX_REPORT_RECORDS}). */
export function encodeVotes(records: readonly ValidationRecord[]): Uint8Array {
  if (records.length < 1 || records.length > MAX_REPORT_RECORDS) {
    throw new RangeError(`a report's votes carry 1..${MAX_REPORT_RECORDS} records`);
  }
  const w = new ByteWriter(2 + records.length * VALIDATION_RECORD_SCRIPT_LENGTH);
  w.u8(PATH_REPORT_VOTES).u8(records.length);
  for (const r of records) w.bytes(validationRecordScript(r));
  return w.finish();
}

/**
 * Reads VOTES unlocking data (strict: exact length, 1..{@link MAX_REPORT_RECORDS} records, each a
 * strictly decoded validation record); `ValidationError` `report/bad-votes` when malformed.
 */
export function parseVotes(scriptSig: Uint8Array): ValidationRecord[] {
  const n = scriptSig[1] ?? 0;
  if (
    scriptSig[0] !== PATH_REPORT_VOTES || n < 1 || n > MAX_REPORT_RECORDS ||
    scriptSig.length !== 2 + n * VALIDATION_RECORD_SCRIPT_LENGTH
  ) {
    throw new ValidationError(
      "report/bad-votes",
      `VOTES data is 0x01 || n (1..${MAX_REPORT_RECORDS}) || n records of ${VALIDATION_RECORD_SCRIPT_LENGTH} bytes`,
    );
  }
  return Array.from({ length: n }, (_, i) => {
    const at = 2 + i * VALIDATION_RECORD_SCRIPT_LENGTH;
    if (scriptSig[at] !== TEMPLATE_VALIDATION_RECORD) {
      throw new ValidationError("report/bad-votes", `record ${i} is not a validation record`);
    }
    try {
      return parseValidationRecord(scriptSig.subarray(at, at + VALIDATION_RECORD_SCRIPT_LENGTH));
    } catch (e) {
      throw new ValidationError("report/bad-votes", `record ${i}: ${(e as Error).message}`);
    }
  });
}
