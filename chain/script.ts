/**
 * @module Output script templates: a small closed set of typed templates, not a script VM.
 * A scriptPubKey is one template byte followed by that template's fixed-size payload.
 */

import { DecodeError } from "./errors.ts";
import { addressFromHash, decodeAddress } from "./keys.ts";
import { toHex } from "./bytes.ts";
import {
  parseValidationRecord,
  TEMPLATE_VALIDATION_RECORD,
  type ValidationRecord,
} from "./validation_record.ts";

import { parseReportScript, type ReportOutput, TEMPLATE_REPORT } from "./report.ts";

export { TEMPLATE_REPORT, TEMPLATE_VALIDATION_RECORD };

/** Template byte of pay-to-address outputs: 0x01 || HASH160(pubkey). */
export const TEMPLATE_PAY_TO_ADDRESS = 0x01;
/** Template byte of a job escrow: 0x02 || jobId 32 || client HASH160 20 || expiry height u32. */
export const TEMPLATE_JOB_ESCROW = 0x02;
/** Template byte of a compute stake: 0x03 || jobId 32 || node HASH160 20 || client HASH160 20 || commitment 32. */
export const TEMPLATE_COMPUTE_STAKE = 0x03;
/** Template byte of a non-delivery claim: 0x04 || stake txid 32 || stake vout u32 (value 0). */
export const TEMPLATE_JOB_CLAIM = 0x04;
/** Template byte of a claim's answer: 0x05 || stake outpoint 36 || ciphertext (value 0). */
export const TEMPLATE_JOB_ANSWER = 0x05;
/** Largest ciphertext an answer output carries. */
export const MAX_ANSWER_CIPHERTEXT = 9_000;
/**
 * Template byte of a sprint proof (value 0, unspendable): 0x06 || sprint index u32 ||
 * node public key 33 || nonces u32 each, strictly ascending (docs/protocol.md, "Compute weight").
 */
export const TEMPLATE_SPRINT_PROOF = 0x06;
/** Most nonces any sprint proof output carries (a network may allow fewer). */
export const MAX_SPRINT_PROOF_NONCES = 2048;
/** Bytes of a sprint proof script before its nonces. */
export const SPRINT_PROOF_HEADER_LENGTH = 38;
/**
 * Template byte of a held reward (an escrow's payment, held until the end of its epoch): 0x07 ||
 * jobId 32 || node HASH160 20 || client HASH160 20 || commitment 32 (docs/protocol.md, "Held rewards").
 */
export const TEMPLATE_HELD_REWARD = 0x07;
/**
 * Template byte of a validator's reward (a validated job's payment share, held like the executor's):
 * 0x08 || jobId 32 || validator HASH160 20 || client HASH160 20 || commitment 32 (docs/protocol.md,
 * "Validator rewards").
 */
export const TEMPLATE_VALIDATOR_REWARD = 0x08;
/**
 * Template byte of a validation pool (a payment's validators' tenth, held for its epoch until the
 * client distributes it to the eligible validators): 0x0B || jobId 32 || executor HASH160 20 ||
 * client HASH160 20 || commitment 32 (chain/pool_rules.ts).
 */
export const TEMPLATE_VALIDATION_POOL = 0x0b;
/** Template byte of provably unspendable outputs (the genesis coinbase); payload up to 80 bytes. */
export const TEMPLATE_UNSPENDABLE = 0x00;

/** Length of a pay-to-address unlocking script: 64-byte signature || 33-byte public key. */
export const PAY_TO_ADDRESS_SCRIPT_SIG_LENGTH = 97;

/** Length of a job escrow scriptPubKey: 0x02 || jobId 32 || client HASH160 20 || expiry height u32. */
export const JOB_ESCROW_SCRIPT_LENGTH = 58;
/** Length of a compute stake (and held reward) scriptPubKey: template || jobId 32 || node HASH160 20 || client HASH160 20 || commitment 32. */
export const COMPUTE_STAKE_SCRIPT_LENGTH = 105;

/** A decoded output script. */
export type OutputScript =
  | { type: "pay-to-address"; pubKeyHash: Uint8Array }
  | { type: "unspendable"; data: Uint8Array }
  | { type: "job-escrow"; jobId: Uint8Array; clientHash: Uint8Array; expiryHeight: number }
  | {
    type: "compute-stake";
    jobId: Uint8Array;
    nodeHash: Uint8Array;
    clientHash: Uint8Array;
    commitment: Uint8Array;
  }
  | {
    type: "held-reward";
    jobId: Uint8Array;
    nodeHash: Uint8Array;
    clientHash: Uint8Array;
    commitment: Uint8Array;
  }
  | {
    type: "validator-reward";
    jobId: Uint8Array;
    /** The validator's HASH160. */
    nodeHash: Uint8Array;
    clientHash: Uint8Array;
    commitment: Uint8Array;
  }
  | {
    type: "validation-pool";
    jobId: Uint8Array;
    /** The executor's HASH160. */
    nodeHash: Uint8Array;
    clientHash: Uint8Array;
    commitment: Uint8Array;
  }
  | { type: "validation-record"; record: ValidationRecord }
  | { type: "job-claim"; stake: { txid: string; vout: number } }
  | { type: "job-answer"; stake: { txid: string; vout: number }; ciphertext: Uint8Array }
  | { type: "sprint-proof"; sprint: number; nodeKey: Uint8Array; nonces: Uint32Array }
  | ({ type: "report" } & ReportOutput);

/** The sprint proof output script of node `nodeKey` for sprint `sprint`. */
export function sprintProofScript(
  sprint: number,
  nodeKey: Uint8Array,
  nonces: ArrayLike<number>,
): Uint8Array {
  if (!Number.isInteger(sprint) || sprint < 0 || sprint > 0xffffffff) {
    throw new RangeError("bad sprint index");
  }
  if (nodeKey.length !== 33) throw new RangeError("node key must be 33 bytes");
  const s = new Uint8Array(SPRINT_PROOF_HEADER_LENGTH + 4 * nonces.length);
  const v = new DataView(s.buffer);
  s[0] = TEMPLATE_SPRINT_PROOF;
  v.setUint32(1, sprint, true);
  s.set(nodeKey, 5);
  for (let i = 0; i < nonces.length; i++) v.setUint32(38 + 4 * i, nonces[i], true);
  parseOutputScript(s); // refuses a nonce list the parser would
  return s;
}

/** Strict decode of a sprint proof script: 1..MAX_SPRINT_PROOF_NONCES ascending u32 nonces. */
function parseSprintProof(script: Uint8Array): OutputScript {
  const n = (script.length - SPRINT_PROOF_HEADER_LENGTH) / 4;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SPRINT_PROOF_NONCES) {
    throw new DecodeError("script/length", `bad sprint proof script length ${script.length}`);
  }
  const v = new DataView(script.buffer, script.byteOffset, script.length);
  const nonces = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    nonces[i] = v.getUint32(SPRINT_PROOF_HEADER_LENGTH + 4 * i, true);
    if (i > 0 && nonces[i] <= nonces[i - 1]) {
      throw new DecodeError(
        "script/sprint-nonces",
        "sprint proof nonces are not strictly ascending",
      );
    }
  }
  return {
    type: "sprint-proof",
    sprint: v.getUint32(1, true),
    nodeKey: script.slice(5, 38),
    nonces,
  };
}

/** A claim (`0x04`) or answer (`0x05`) output script naming a stake outpoint. */
export function stakeNoticeScript(
  template: typeof TEMPLATE_JOB_CLAIM | typeof TEMPLATE_JOB_ANSWER,
  stakeTxid: Uint8Array,
  stakeVout: number,
  ciphertext: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (stakeTxid.length !== 32) throw new RangeError("stake txid must be 32 bytes");
  const answer = template === TEMPLATE_JOB_ANSWER;
  if (answer && (ciphertext.length === 0 || ciphertext.length > MAX_ANSWER_CIPHERTEXT)) {
    throw new RangeError(`an answer carries 1..${MAX_ANSWER_CIPHERTEXT} bytes of ciphertext`);
  }
  const s = new Uint8Array(37 + (answer ? ciphertext.length : 0));
  s[0] = template;
  s.set(stakeTxid, 1);
  new DataView(s.buffer).setUint32(33, stakeVout, true);
  if (answer) s.set(ciphertext, 37);
  return s;
}

/** The escrow output script of a job: the reward, locked to the job id, refundable at `expiryHeight`. */
export function jobEscrowScript(
  jobId: Uint8Array,
  clientHash: Uint8Array,
  expiryHeight: number,
): Uint8Array {
  if (jobId.length !== 32 || clientHash.length !== 20) {
    throw new RangeError("jobId must be 32 bytes, clientHash 20");
  }
  if (!Number.isInteger(expiryHeight) || expiryHeight < 0 || expiryHeight > 0xffffffff) {
    throw new RangeError("bad expiry height");
  }
  const s = new Uint8Array(JOB_ESCROW_SCRIPT_LENGTH);
  s[0] = TEMPLATE_JOB_ESCROW;
  s.set(jobId, 1);
  s.set(clientHash, 33);
  new DataView(s.buffer).setUint32(53, expiryHeight, true);
  return s;
}

/** The stake output script a compute node locks for one job, committing to its output. */
export function computeStakeScript(
  jobId: Uint8Array,
  nodeHash: Uint8Array,
  clientHash: Uint8Array,
  commitment: Uint8Array,
): Uint8Array {
  return nodeJobScript(TEMPLATE_COMPUTE_STAKE, jobId, nodeHash, clientHash, commitment);
}

/**
 * The held reward script of a job's payment: the node's reward, spendable by the node from the end
 * of the epoch it was paid in, forfeited to the client on a fraud proof against `commitment` before.
 */
export function heldRewardScript(
  jobId: Uint8Array,
  nodeHash: Uint8Array,
  clientHash: Uint8Array,
  commitment: Uint8Array,
): Uint8Array {
  return nodeJobScript(TEMPLATE_HELD_REWARD, jobId, nodeHash, clientHash, commitment);
}

/**
 * A validator's reward script for a job's payment: the validator's share, spendable by it from the
 * end of the epoch it was paid in, forfeited to the client on a fraud proof against `commitment`
 * before (it vouched for that output).
 */
export function validatorRewardScript(
  jobId: Uint8Array,
  validatorHash: Uint8Array,
  clientHash: Uint8Array,
  commitment: Uint8Array,
): Uint8Array {
  return nodeJobScript(TEMPLATE_VALIDATOR_REWARD, jobId, validatorHash, clientHash, commitment);
}

/**
 * A job's validation pool script: the validators' part of its payment, which the client distributes
 * to eligible validators before the end of the payment's epoch, the executor claims from then, and a
 * fraud proof against `commitment` forfeits to the client before.
 */
export function validationPoolScript(
  jobId: Uint8Array,
  nodeHash: Uint8Array,
  clientHash: Uint8Array,
  commitment: Uint8Array,
): Uint8Array {
  return nodeJobScript(TEMPLATE_VALIDATION_POOL, jobId, nodeHash, clientHash, commitment);
}

/** The held reward script paying the node of a stake (same job, node, client and commitment). */
export function heldRewardScriptOfStake(stakeScript: Uint8Array): Uint8Array {
  const s = parseOutputScript(stakeScript);
  if (s.type !== "compute-stake") throw new RangeError("not a compute stake script");
  return heldRewardScript(s.jobId, s.nodeHash, s.clientHash, s.commitment);
}

/** The validation pool script of a stake's job (same job, executor, client and commitment). */
export function validationPoolScriptOfStake(stakeScript: Uint8Array): Uint8Array {
  const s = parseOutputScript(stakeScript);
  if (s.type !== "compute-stake") throw new RangeError("not a compute stake script");
  return validationPoolScript(s.jobId, s.nodeHash, s.clientHash, s.commitment);
}

/** A stake or held reward script: template || jobId 32 || node 20 || client 20 || commitment 32. */
function nodeJobScript(
  template:
    | typeof TEMPLATE_COMPUTE_STAKE
    | typeof TEMPLATE_HELD_REWARD
    | typeof TEMPLATE_VALIDATOR_REWARD
    | typeof TEMPLATE_VALIDATION_POOL,
  jobId: Uint8Array,
  nodeHash: Uint8Array,
  clientHash: Uint8Array,
  commitment: Uint8Array,
): Uint8Array {
  if (
    jobId.length !== 32 || nodeHash.length !== 20 || clientHash.length !== 20 ||
    commitment.length !== 32
  ) {
    throw new RangeError("stake script: jobId 32, nodeHash 20, clientHash 20, commitment 32 bytes");
  }
  const s = new Uint8Array(COMPUTE_STAKE_SCRIPT_LENGTH);
  s[0] = template;
  s.set(jobId, 1);
  s.set(nodeHash, 33);
  s.set(clientHash, 53);
  s.set(commitment, 73);
  return s;
}

/** The scriptPubKey paying to `address`. */
export function payToAddressScript(address: string): Uint8Array {
  return payToHashScript(decodeAddress(address));
}

/** The scriptPubKey paying to a 20-byte public key hash. */
export function payToHashScript(pubKeyHash: Uint8Array): Uint8Array {
  if (pubKeyHash.length !== 20) throw new RangeError("public key hash must be 20 bytes");
  const s = new Uint8Array(21);
  s[0] = TEMPLATE_PAY_TO_ADDRESS;
  s.set(pubKeyHash, 1);
  return s;
}

/** An unspendable output script carrying `data` (at most 80 bytes). */
export function unspendableScript(data: Uint8Array): Uint8Array {
  if (data.length > 80) throw new RangeError("unspendable data must be at most 80 bytes");
  const s = new Uint8Array(1 + data.length);
  s[0] = TEMPLATE_UNSPENDABLE;
  s.set(data, 1);
  return s;
}

const NODE_JOB_TYPES: Record<
  number,
  "compute-stake" | "held-reward" | "validator-reward" | "validation-pool"
> = {
  [TEMPLATE_COMPUTE_STAKE]: "compute-stake",
  [TEMPLATE_HELD_REWARD]: "held-reward",
  [TEMPLATE_VALIDATOR_REWARD]: "validator-reward",
  [TEMPLATE_VALIDATION_POOL]: "validation-pool",
};

/** Throws `DecodeError` `script/length` unless a `what` script is exactly `length` bytes. */
function requireScriptLength(script: Uint8Array, length: number, what: string): void {
  if (script.length !== length) {
    throw new DecodeError(
      "script/length",
      `${what} script must be ${length} bytes, got ${script.length}`,
    );
  }
}

/**
 * Parses a scriptPubKey into its template. Throws `DecodeError` with `script/unknown-template` for
 * templates this ledger does not know (yet) and `script/length` for a wrong payload size.
 */
export function parseOutputScript(script: Uint8Array): OutputScript {
  if (script.length === 0) throw new DecodeError("script/empty", "empty output script");
  switch (script[0]) {
    case TEMPLATE_PAY_TO_ADDRESS:
      requireScriptLength(script, 21, "pay-to-address");
      return { type: "pay-to-address", pubKeyHash: script.slice(1) };
    case TEMPLATE_JOB_ESCROW:
      requireScriptLength(script, JOB_ESCROW_SCRIPT_LENGTH, "job escrow");
      return {
        type: "job-escrow",
        jobId: script.slice(1, 33),
        clientHash: script.slice(33, 53),
        expiryHeight: new DataView(script.buffer, script.byteOffset).getUint32(53, true),
      };
    case TEMPLATE_COMPUTE_STAKE:
    case TEMPLATE_HELD_REWARD:
    case TEMPLATE_VALIDATOR_REWARD:
    case TEMPLATE_VALIDATION_POOL: {
      const type = NODE_JOB_TYPES[script[0]];
      requireScriptLength(script, COMPUTE_STAKE_SCRIPT_LENGTH, type.replace("-", " "));
      return {
        type,
        jobId: script.slice(1, 33),
        nodeHash: script.slice(33, 53),
        clientHash: script.slice(53, 73),
        commitment: script.slice(73, 105),
      };
    }
    case TEMPLATE_VALIDATION_RECORD:
      return { type: "validation-record", record: parseValidationRecord(script) };
    case TEMPLATE_JOB_CLAIM:
    case TEMPLATE_JOB_ANSWER: {
      const claim = script[0] === TEMPLATE_JOB_CLAIM;
      if (
        claim
          ? script.length !== 37
          : script.length < 38 || script.length > 37 + MAX_ANSWER_CIPHERTEXT
      ) {
        throw new DecodeError(
          "script/length",
          `bad ${claim ? "claim" : "answer"} script length ${script.length}`,
        );
      }
      const stake = {
        txid: toHex(script.subarray(1, 33)),
        vout: new DataView(script.buffer, script.byteOffset).getUint32(33, true),
      };
      return claim
        ? { type: "job-claim", stake }
        : { type: "job-answer", stake, ciphertext: script.slice(37) };
    }
    case TEMPLATE_SPRINT_PROOF:
      return parseSprintProof(script);
    case TEMPLATE_REPORT:
      return { type: "report", ...parseReportScript(script) };
    case TEMPLATE_UNSPENDABLE:
      if (script.length > 81) {
        throw new DecodeError("script/length", "unspendable script over 81 bytes");
      }
      return { type: "unspendable", data: script.slice(1) };
    default:
      throw new DecodeError(
        "script/unknown-template",
        `unknown output script template 0x${script[0].toString(16).padStart(2, "0")}`,
      );
  }
}

/** The address an output pays to, or null for outputs that pay no address. */
export function scriptAddress(script: Uint8Array): string | null {
  try {
    const parsed = parseOutputScript(script);
    return parsed.type === "pay-to-address" ? addressFromHash(parsed.pubKeyHash) : null;
  } catch {
    return null;
  }
}
