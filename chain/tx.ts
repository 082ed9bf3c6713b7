/**
 * @module Transactions: the canonical encoding (with the 32-byte Job ID), txid, signature hash and
 * signing of pay-to-address inputs. Decoding is purely structural: scripts stay opaque bytes.
 */

import { ByteReader, ByteWriter, concatBytes, fromHex, toHex } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { sha256, sha256Concat, sha256d } from "./hash.ts";
import { MAX_TX_SIZE } from "./params.ts";
import { publicKeyOf, signDigest } from "./keys.ts";

/** Reference to an output of an earlier transaction. */
export interface OutPoint {
  /** Txid of the earlier transaction, 32 bytes in digest order. */
  txid: Uint8Array;
  /** Index of the output. */
  vout: number;
}

/** A transaction input. */
export interface TxInput {
  /** The output being spent (all-zero txid and vout 0xffffffff in a coinbase). */
  prevout: OutPoint;
  /** Unlocking data (opaque to the decoder). */
  scriptSig: Uint8Array;
  /** Sequence number. */
  sequence: number;
}

/**
 * An input spending the output `coin` (txid in hex), final sequence, with the unlocking data
 * `scriptSig` (none by default: signed or filled in later).
 */
export function spendInput(
  coin: { txid: string; vout: number },
  scriptSig: Uint8Array = new Uint8Array(0),
): TxInput {
  return {
    prevout: { txid: fromHex(coin.txid, 32), vout: coin.vout },
    scriptSig,
    sequence: 0xffffffff,
  };
}

/** A transaction output. */
export interface TxOutput {
  /** Amount in base units. */
  value: bigint;
  /** Locking script (a template; opaque to the decoder). */
  scriptPubKey: Uint8Array;
}

/** A transaction. */
export interface Transaction {
  /** Format version. */
  version: number;
  /** Inputs. */
  inputs: TxInput[];
  /** Outputs. */
  outputs: TxOutput[];
  /** Lock time (block height). */
  lockTime: number;
  /** Job this transaction belongs to; 32 zero bytes when none. */
  jobId: Uint8Array;
}

/** Max inputs or outputs a decoder accepts in one transaction. */
export const MAX_TX_IO = 10_000;
/** Max length of one script. */
export const MAX_SCRIPT_SIZE = 10_000;
/** Vout marking a coinbase input. */
export const COINBASE_VOUT = 0xffffffff;
/** The all-zero job id ("no job"). */
export const NO_JOB = new Uint8Array(32);

/** Appends the canonical encoding of `tx` to a writer. */
export function writeTransaction(w: ByteWriter, tx: Transaction): void {
  w.u32(tx.version);
  w.varint(tx.inputs.length);
  for (const input of tx.inputs) {
    if (input.prevout.txid.length !== 32) throw new RangeError("prevout txid must be 32 bytes");
    w.bytes(input.prevout.txid).u32(input.prevout.vout).varBytes(input.scriptSig).u32(
      input.sequence,
    );
  }
  w.varint(tx.outputs.length);
  for (const output of tx.outputs) w.u64(output.value).varBytes(output.scriptPubKey);
  if (tx.jobId.length !== 32) throw new RangeError("jobId must be 32 bytes");
  w.u32(tx.lockTime).bytes(tx.jobId);
}

/** The canonical encoding of `tx`. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  const w = new ByteWriter(256);
  writeTransaction(w, tx);
  return w.finish();
}

/** Reads one transaction from a reader (bounded counts and script sizes). */
export function readTransaction(r: ByteReader): Transaction {
  const version = r.u32();
  const nIn = r.varint(MAX_TX_IO);
  const inputs: TxInput[] = [];
  for (let i = 0; i < nIn; i++) {
    const txid = r.bytes(32);
    const vout = r.u32();
    const scriptSig = r.varBytes(MAX_SCRIPT_SIZE);
    inputs.push({ prevout: { txid, vout }, scriptSig, sequence: r.u32() });
  }
  const nOut = r.varint(MAX_TX_IO);
  const outputs: TxOutput[] = [];
  for (let i = 0; i < nOut; i++) {
    const value = r.u64();
    outputs.push({ value, scriptPubKey: r.varBytes(MAX_SCRIPT_SIZE) });
  }
  const lockTime = r.u32();
  const jobId = r.bytes(32);
  return { version, inputs, outputs, lockTime, jobId };
}

/**
 * Decodes exactly one transaction from `bytes`. Strict: truncated input, non-minimal varints,
 * oversized counts or scripts and trailing bytes throw `DecodeError` (`decode/too-large` when the input
 * exceeds MAX_TX_SIZE).
 */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("transaction bytes must be a Uint8Array");
  if (bytes.length > MAX_TX_SIZE) {
    throw new DecodeError(
      "decode/too-large",
      `transaction is ${bytes.length} bytes, over the ${MAX_TX_SIZE}-byte limit`,
    );
  }
  const r = new ByteReader(bytes, "transaction");
  const tx = readTransaction(r);
  r.end();
  return tx;
}

/** The 32-byte txid: SHA-256d of the canonical encoding. */
export function txidBytes(tx: Transaction): Uint8Array {
  return sha256d(encodeTransaction(tx));
}

/** The txid as lowercase hex in digest byte order. */
export function txid(tx: Transaction): string {
  return toHex(txidBytes(tx));
}

/** True when `tx` is a coinbase: one input spending the null outpoint. */
export function isCoinbase(tx: Transaction): boolean {
  return tx.inputs.length === 1 && tx.inputs[0].prevout.vout === COINBASE_VOUT &&
    tx.inputs[0].prevout.txid.every((b) => b === 0);
}

const SIGHASH_TAG = new TextEncoder().encode("camelid/sighash");

/** What an input spends, as the signature hash commits to it. */
export interface SpentOutput {
  /** Value of the spent output. */
  value: bigint;
  /** Locking script of the spent output. */
  scriptPubKey: Uint8Array;
}

/**
 * The signature hash of input `index`: SHA-256d("camelid/sighash" || u32 index || spent script
 * || u64 spent value || tx encoded with every scriptSig empty). It commits to all inputs,
 * all outputs, the lock time and the job id.
 */
export function signatureHash(tx: Transaction, index: number, spent: SpentOutput): Uint8Array {
  return sha256(signatureHashPreimage(tx, index, spent));
}

/**
 * The single SHA-256 under input `index`'s signature hash (signatureHash = SHA-256 of it): what
 * verifiers are handed, since native ECDSA verification hashes its input once itself.
 */
export function signatureHashPreimage(
  tx: Transaction,
  index: number,
  spent: SpentOutput,
): Uint8Array {
  return new SighashPreimages(tx).of(index, spent);
}

/**
 * The signature hash preimages of one transaction's inputs, its encoding with every scriptSig empty
 * made once: checking n inputs costs n hashes of it rather than n encodings. The transaction must
 * not change while this is in use.
 */
export class SighashPreimages {
  readonly #tx: Transaction;
  readonly #stripped: Uint8Array;

  /** Encodes `tx` with its scriptSigs emptied. */
  constructor(tx: Transaction) {
    this.#tx = tx;
    const w = new ByteWriter(256);
    writeTransaction(w, {
      ...tx,
      inputs: tx.inputs.map((i) => ({ ...i, scriptSig: new Uint8Array(0) })),
    });
    this.#stripped = w.finish();
  }

  /** The preimage for input `index` spending `spent` (see {@link signatureHash}). */
  of(index: number, spent: SpentOutput): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.#tx.inputs.length) {
      throw new RangeError(`input index ${index} out of range`);
    }
    const w = new ByteWriter(64 + spent.scriptPubKey.length);
    w.bytes(SIGHASH_TAG).u32(index).varBytes(spent.scriptPubKey).u64(spent.value);
    return sha256Concat([w.finish(), this.#stripped]);
  }
}

/** Signs input `index` of a pay-to-address spend in place: scriptSig = signature || public key. */
export function signPayToAddressInput(
  tx: Transaction,
  index: number,
  spent: SpentOutput,
  secretKey: Uint8Array,
): void {
  const sig = signDigest(signatureHash(tx, index, spent), secretKey);
  tx.inputs[index].scriptSig = concatBytes(sig, publicKeyOf(secretKey));
}
