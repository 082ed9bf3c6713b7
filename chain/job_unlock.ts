/**
 * @module The unlocking data of the job templates, each layout written and read in one place: the
 * first byte of an input's scriptSig names the spend path, and each path has an exact layout.
 *
 * Escrow (`TEMPLATE_JOB_ESCROW`) paths: PAY `0x01 || sig 64 || pubkey 33 || stake txid 32 || stake
 * vout u32`, REFUND `0x02 || sig 64 || pubkey 33`, FRAUD `0x03`.
 * Stake (`TEMPLATE_COMPUTE_STAKE`) paths: RELEASE `0x01 || sig 64 || pubkey 33`, FRAUD `0x02 ||
 * varBytes job || varint n || n x u32 output || u8 finish || varint k || k x u32 positions`,
 * NON-DELIVERY `0x03`, BAD-ANSWER `0x04 || answer txid 32 || answer vout u32 || client key 33 ||
 * shared point 65 || DLEQ proof 98`.
 * Held reward (`TEMPLATE_HELD_REWARD`) paths: CLAIM `0x01 || sig 64 || pubkey 33`, FRAUD the stake
 * FRAUD layout (`0x02 || ...`) against the held reward's commitment, REPORT `0x03 || sig 64 || pubkey
 * 33` (the client, beside a confirmed report: chain/report_rules.ts).
 * Validation pool (`TEMPLATE_VALIDATION_POOL`) paths: CLAIM and FRAUD as a held reward's, DISTRIBUTE
 * `0x04 || sig 64 || pubkey 33` (the client, to eligible validators: chain/pool_rules.ts).
 */

import { ByteReader, ByteWriter, fromHex, toHex } from "./bytes.ts";
import { DecodeError, ValidationError } from "./errors.ts";
import { decodeJob, encodeJob, type Job, MAX_OUTPUT_TOKENS } from "./job.ts";
import { sha256d } from "./hash.ts";
import { DLEQ_PROOF_LENGTH, ECIES_EPHEMERAL_LENGTH } from "./dleq.ts";

/** Escrow PAY path (client, naming the stake). */
export const PATH_PAY = 0x01;
/** Escrow refund path. */
export const PATH_REFUND = 0x02;
/** Escrow path beside a stake fraud proof. */
export const PATH_ESCROW_FRAUD = 0x03;
/** Stake release path. */
export const PATH_RELEASE = 0x01;
/** Stake fraud path. */
export const PATH_STAKE_FRAUD = 0x02;
/** Stake slash for an unanswered non-delivery claim. */
export const PATH_NON_DELIVERY = 0x03;
/** Stake slash for an answer that provably does not decrypt to the committed output. */
export const PATH_BAD_ANSWER = 0x04;
/** Held reward path of the node, from the end of the payment's epoch. */
export const PATH_HELD_CLAIM = 0x01;
/** Held reward path of a fraud proof before the end of the payment's epoch (the stake FRAUD layout). */
export const PATH_HELD_FRAUD = PATH_STAKE_FRAUD;
/** Held reward path of a confirmed user report (the client signs; chain/report_rules.ts). */
export const PATH_HELD_REPORT = 0x03;
/** Validation pool path of the client, distributing it to eligible validators (chain/pool_rules.ts). */
export const PATH_POOL_DISTRIBUTE = 0x04;

const SIG_LENGTH = 64;
const PUBKEY_LENGTH = 33;
const OUTPOINT_LENGTH = 36;
/** Length of PAY data: path || sig 64 || pubkey 33 || stake outpoint 36. */
export const PAY_DATA_LENGTH = 1 + SIG_LENGTH + PUBKEY_LENGTH + OUTPOINT_LENGTH;
/** Length of REFUND and RELEASE data: path || sig 64 || pubkey 33. */
export const SIGNED_DATA_LENGTH = 1 + SIG_LENGTH + PUBKEY_LENGTH;
/** Length of BAD-ANSWER data: path || answer outpoint 36 || client key 33 || shared point 65 || proof 98. */
export const BAD_ANSWER_DATA_LENGTH = 1 + OUTPOINT_LENGTH + PUBKEY_LENGTH + ECIES_EPHEMERAL_LENGTH +
  DLEQ_PROOF_LENGTH;
/** Most positions a fraud proof may name. */
export const MAX_FRAUD_POSITIONS = 64;

/** An output named by hex txid and index. */
export interface Outpoint {
  /** Txid (hex). */
  txid: string;
  /** Output index. */
  vout: number;
}

/** A signature and the key that made it. */
export interface SignedData {
  /** 64-byte compact signature. */
  sig: Uint8Array;
  /** 33-byte compressed public key. */
  pubkey: Uint8Array;
}

/** Escrow PAY data: the client's signature and the stake the payment waits on. */
export interface PayData extends SignedData {
  /** The stake of the same job. */
  stake: Outpoint;
}

/** What a stake FRAUD proof reveals and names. */
export interface FraudProofData {
  /** The job, as offered. */
  job: Job;
  /** Its id (SHA-256d of the job's encoding). */
  jobId: Uint8Array;
  /** Revealed output tokens. */
  outputTokens: number[];
  /** Revealed finish reason. */
  finishReason: "stop" | "length";
  /** Output positions the proof says are false. */
  positions: number[];
}

/** Stake BAD-ANSWER data: the answer, the client key, the ECIES shared point and its DLEQ proof. */
export interface BadAnswerData {
  /** The on-chain answer output. */
  answer: Outpoint;
  /** The client's public key (33 bytes). */
  clientKey: Uint8Array;
  /** The ECIES shared point (65 bytes). */
  shared: Uint8Array;
  /** DLEQ proof that `shared` is the client key's shared point (98 bytes). */
  proof: Uint8Array;
}

function badSig(message: string): never {
  throw new ValidationError("tx/bad-script-sig", message);
}

function writeOutpoint(w: ByteWriter, o: Outpoint): ByteWriter {
  return w.bytes(fromHex(o.txid, 32)).u32(o.vout);
}

function readOutpoint(bytes: Uint8Array, at: number): Outpoint {
  return {
    txid: toHex(bytes.subarray(at, at + 32)),
    vout: new DataView(bytes.buffer, bytes.byteOffset).getUint32(at + 32, true),
  };
}

function checkSigned(d: SignedData): void {
  if (d.sig.length !== SIG_LENGTH || d.pubkey.length !== PUBKEY_LENGTH) {
    throw new RangeError("a signature is 64 bytes, a public key 33");
  }
}

/** Writes escrow PAY data. */
export function encodePay(d: PayData): Uint8Array {
  checkSigned(d);
  return writeOutpoint(
    new ByteWriter(PAY_DATA_LENGTH).u8(PATH_PAY).bytes(d.sig).bytes(d.pubkey),
    d.stake,
  )
    .finish();
}

/** Reads escrow PAY data; `ValidationError` `tx/bad-script-sig` when malformed. */
export function parsePay(scriptSig: Uint8Array): PayData {
  if (scriptSig.length !== PAY_DATA_LENGTH || scriptSig[0] !== PATH_PAY) {
    badSig("escrow PAY data must be 0x01 || sig 64 || pubkey 33 || stake outpoint 36");
  }
  return {
    sig: scriptSig.slice(1, 65),
    pubkey: scriptSig.slice(65, 98),
    stake: readOutpoint(scriptSig, 98),
  };
}

/**
 * Writes REFUND (escrow), RELEASE (stake), CLAIM or REPORT (held reward) data, a report's EXPIRE
 * (the same byte as REFUND) or a pool's DISTRIBUTE: `path || sig || pubkey`.
 */
export function encodeSigned(
  path:
    | typeof PATH_REFUND
    | typeof PATH_RELEASE
    | typeof PATH_HELD_CLAIM
    | typeof PATH_HELD_REPORT
    | typeof PATH_POOL_DISTRIBUTE,
  d: SignedData,
): Uint8Array {
  checkSigned(d);
  return new ByteWriter(SIGNED_DATA_LENGTH).u8(path).bytes(d.sig).bytes(d.pubkey).finish();
}

/** Reads REFUND, RELEASE or CLAIM data; `ValidationError` `tx/bad-script-sig` naming `what` when malformed. */
export function parseSigned(scriptSig: Uint8Array, path: number, what: string): SignedData {
  if (scriptSig.length !== SIGNED_DATA_LENGTH || scriptSig[0] !== path) {
    badSig(`${what} data must be 0x0${path} || sig 64 || pubkey 33`);
  }
  return { sig: scriptSig.slice(1, 65), pubkey: scriptSig.slice(65, 98) };
}

/** Writes the data of a path that is its single byte (escrow FRAUD, stake NON-DELIVERY). */
export function encodeBarePath(
  path: typeof PATH_ESCROW_FRAUD | typeof PATH_NON_DELIVERY,
): Uint8Array {
  return new Uint8Array([path]);
}

/** Checks data that must be the single path byte; `ValidationError` `tx/bad-script-sig` naming `what`. */
export function parseBarePath(scriptSig: Uint8Array, path: number, what: string): void {
  if (scriptSig.length !== 1 || scriptSig[0] !== path) {
    badSig(`${what} data is the single byte 0x0${path}`);
  }
}

/** Writes a stake FRAUD proof. */
export function encodeFraudProof(d: Omit<FraudProofData, "jobId">): Uint8Array {
  if (d.positions.length === 0 || d.positions.length > MAX_FRAUD_POSITIONS) {
    throw new RangeError(`a fraud proof names 1..${MAX_FRAUD_POSITIONS} positions`);
  }
  const w = new ByteWriter(256).u8(PATH_STAKE_FRAUD).varBytes(encodeJob(d.job))
    .varint(d.outputTokens.length);
  for (const t of d.outputTokens) w.u32(t);
  w.u8(d.finishReason === "stop" ? 0 : 1).varint(d.positions.length);
  for (const p of d.positions) w.u32(p);
  return w.finish();
}

/** Reads a stake FRAUD proof (strict); `DecodeError` when malformed. */
export function parseFraudProof(scriptSig: Uint8Array): FraudProofData {
  const r = new ByteReader(scriptSig, "fraud proof");
  if (r.u8() !== PATH_STAKE_FRAUD) throw new DecodeError("fraud/path", "not a stake FRAUD path");
  const jobBytes = r.varBytes(64_000);
  const job = decodeJob(jobBytes);
  const n = r.varint(MAX_OUTPUT_TOKENS);
  const outputTokens = Array.from({ length: n }, () => r.u32());
  const finish = r.u8();
  if (finish > 1) {
    throw new DecodeError("fraud/finish", "finish reason must be 0 (stop) or 1 (length)");
  }
  const k = r.varint(MAX_FRAUD_POSITIONS);
  const positions = Array.from({ length: k }, () => r.u32());
  r.end();
  if (k === 0) {
    throw new DecodeError("fraud/positions", "a fraud proof must name at least one position");
  }
  return {
    job,
    jobId: sha256d(jobBytes),
    outputTokens,
    finishReason: finish === 0 ? "stop" : "length",
    positions,
  };
}

/** Writes stake BAD-ANSWER data. */
export function encodeBadAnswer(d: BadAnswerData): Uint8Array {
  if (
    d.clientKey.length !== PUBKEY_LENGTH || d.shared.length !== ECIES_EPHEMERAL_LENGTH ||
    d.proof.length !== DLEQ_PROOF_LENGTH
  ) {
    throw new RangeError("bad answer data: client key 33, shared point 65, proof 98 bytes");
  }
  return writeOutpoint(new ByteWriter(BAD_ANSWER_DATA_LENGTH).u8(PATH_BAD_ANSWER), d.answer)
    .bytes(d.clientKey).bytes(d.shared).bytes(d.proof).finish();
}

/** Reads stake BAD-ANSWER data; `ValidationError` `tx/bad-script-sig` when malformed. */
export function parseBadAnswer(scriptSig: Uint8Array): BadAnswerData {
  if (scriptSig.length !== BAD_ANSWER_DATA_LENGTH || scriptSig[0] !== PATH_BAD_ANSWER) {
    badSig("stake BAD-ANSWER data must be 0x04 || answer 36 || key 33 || point 65 || proof 98");
  }
  const key = 1 + OUTPOINT_LENGTH;
  const shared = key + PUBKEY_LENGTH;
  const proof = shared + ECIES_EPHEMERAL_LENGTH;
  return {
    answer: readOutpoint(scriptSig, 1),
    clientKey: scriptSig.slice(key, shared),
    shared: scriptSig.slice(shared, proof),
    proof: scriptSig.slice(proof),
  };
}
