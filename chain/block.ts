/** @module Blocks: the 80-byte header, block encoding, Merkle root (CVE-2012-2459 aware), genesis. */

import { ByteReader, ByteWriter, concatBytes, toHex } from "./bytes.ts";
import { sha256d } from "./hash.ts";
import { MAX_BLOCK_SIZE, type NetworkParams } from "./params.ts";
import {
  COINBASE_VOUT,
  NO_JOB,
  readTransaction,
  type Transaction,
  txidBytes,
  writeTransaction,
} from "./tx.ts";
import { unspendableScript } from "./script.ts";
import { DecodeError } from "./errors.ts";
import { INITIAL_SUBSIDY } from "./params.ts";

/** Size of an encoded block header. */
export const HEADER_SIZE = 80;

/** A block header. */
export interface BlockHeader {
  /** Format version. */
  version: number;
  /** Hash of the previous block (32 bytes, digest order; zeros for genesis). */
  prevHash: Uint8Array;
  /** Merkle root of the block's txids. */
  merkleRoot: Uint8Array;
  /** Block time, Unix seconds. */
  time: number;
  /** Compact target. */
  bits: number;
  /** Proof-of-work nonce. */
  nonce: number;
}

/** A block: header plus transactions, coinbase first. */
export interface Block {
  /** The header. */
  header: BlockHeader;
  /** The transactions. */
  txs: Transaction[];
}

/** Encodes a header into exactly 80 bytes. */
export function encodeHeader(h: BlockHeader): Uint8Array {
  if (h.prevHash.length !== 32 || h.merkleRoot.length !== 32) {
    throw new RangeError("prevHash and merkleRoot must be 32 bytes");
  }
  return new ByteWriter(HEADER_SIZE).u32(h.version).bytes(h.prevHash).bytes(h.merkleRoot)
    .u32(h.time).u32(h.bits).u32(h.nonce).finish();
}

/** Reads a header from a reader. */
export function readHeader(r: ByteReader): BlockHeader {
  return {
    version: r.u32(),
    prevHash: r.bytes(32),
    merkleRoot: r.bytes(32),
    time: r.u32(),
    bits: r.u32(),
    nonce: r.u32(),
  };
}

/** Decodes exactly 80 bytes into a header (`DecodeError` otherwise). */
export function decodeHeader(bytes: Uint8Array): BlockHeader {
  const r = new ByteReader(bytes, "block header");
  const h = readHeader(r);
  r.end();
  return h;
}

/** The block hash bytes: SHA-256d of the header. */
export function headerHashBytes(h: BlockHeader): Uint8Array {
  return sha256d(encodeHeader(h));
}

/** The block hash as lowercase hex in digest order. */
export function blockHash(h: BlockHeader): string {
  return toHex(headerHashBytes(h));
}

/** Encodes a whole block. */
export function encodeBlock(block: Block): Uint8Array {
  const w = new ByteWriter(1024);
  w.bytes(encodeHeader(block.header)).varint(block.txs.length);
  for (const tx of block.txs) writeTransaction(w, tx);
  return w.finish();
}

/**
 * Decodes a whole block. Strict: `DecodeError` `decode/too-large` over MAX_BLOCK_SIZE, `DecodeError` for truncation,
 * non-minimal varints, a zero transaction count and trailing bytes.
 */
export function decodeBlock(bytes: Uint8Array): Block {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("block bytes must be a Uint8Array");
  if (bytes.length > MAX_BLOCK_SIZE) {
    throw new DecodeError(
      "decode/too-large",
      `block is ${bytes.length} bytes, over the ${MAX_BLOCK_SIZE}-byte limit`,
    );
  }
  const r = new ByteReader(bytes, "block");
  const header = readHeader(r);
  const n = r.varint(Math.floor(MAX_BLOCK_SIZE / 60));
  const txs: Transaction[] = [];
  for (let i = 0; i < n; i++) txs.push(readTransaction(r));
  r.end();
  return { header, txs };
}

/** Result of {@link merkleRoot}. */
export interface MerkleResult {
  /** The root. */
  root: Uint8Array;
  /** True when two identical adjacent hashes were paired (the CVE-2012-2459 mutation). */
  mutated: boolean;
}

/**
 * Bitcoin's Merkle root over 32-byte leaves (odd levels duplicate the last node). `mutated` reports a
 * pair of identical siblings, which lets an attacker duplicate transactions without changing the root:
 * blocks with `mutated` are invalid.
 */
export function merkleRoot(leaves: Uint8Array[]): MerkleResult {
  if (leaves.length === 0) return { root: new Uint8Array(32), mutated: false };
  let level = leaves;
  let mutated = false;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i];
      const right = i + 1 < level.length ? level[i + 1] : level[i];
      if (i + 1 < level.length && toHex(left) === toHex(right)) mutated = true;
      next.push(sha256d(concatBytes(left, right)));
    }
    level = next;
  }
  return { root: level[0], mutated };
}

/** Merkle root of a block's txids. */
export function blockMerkleRoot(txs: Transaction[]): MerkleResult {
  return merkleRoot(txs.map(txidBytes));
}

const GENESIS_MESSAGE = new TextEncoder().encode(
  "CamelidCoin genesis: lightweight clients pay compute nodes, anyone checks the work",
);

/** The genesis block of a network (its coinbase output is unspendable). */
export function genesisBlock(params: NetworkParams): Block {
  const coinbase: Transaction = {
    version: 1,
    inputs: [{
      prevout: { txid: new Uint8Array(32), vout: COINBASE_VOUT },
      scriptSig: concatBytes(new Uint8Array(4), GENESIS_MESSAGE.slice(0, 80)),
      sequence: 0xffffffff,
    }],
    outputs: [{ value: INITIAL_SUBSIDY, scriptPubKey: unspendableScript(new Uint8Array(0)) }],
    lockTime: 0,
    jobId: NO_JOB,
  };
  const txs = [coinbase];
  return {
    header: {
      version: 1,
      prevHash: new Uint8Array(32),
      merkleRoot: blockMerkleRoot(txs).root,
      time: params.genesis.time,
      bits: params.genesis.bits,
      nonce: params.genesis.nonce,
    },
    txs,
  };
}
