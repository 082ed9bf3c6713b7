/** @module Proof of work: compact-bits targets, chain work and retargeting. */

import { DecodeError } from "./errors.ts";

/**
 * Expands compact bits into a 256-bit target. Throws `DecodeError` (`pow/bad-bits`) for negative or
 * overflowing encodings, as Bitcoin's SetCompact flags them.
 */
export function bitsToTarget(bits: number): bigint {
  const exponent = bits >>> 24;
  let mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0 && mantissa !== 0) {
    throw new DecodeError("pow/bad-bits", `negative compact target 0x${bits.toString(16)}`);
  }
  let target: bigint;
  if (exponent <= 3) {
    mantissa >>>= 8 * (3 - exponent);
    target = BigInt(mantissa);
  } else {
    target = BigInt(mantissa) << BigInt(8 * (exponent - 3));
  }
  if (target >= 1n << 256n) {
    throw new DecodeError(
      "pow/bad-bits",
      `compact target 0x${bits.toString(16)} overflows 256 bits`,
    );
  }
  return target;
}

/** Compresses a target into compact bits (Bitcoin's GetCompact). */
export function targetToBits(target: bigint): number {
  if (target < 0n) throw new RangeError("target must be non-negative");
  let size = Math.ceil(target.toString(16).length / 2);
  if (target === 0n) size = 0;
  let compact: number;
  if (size <= 3) compact = Number(target << BigInt(8 * (3 - size)));
  else compact = Number(target >> BigInt(8 * (size - 3)));
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return ((size << 24) | compact) >>> 0;
}

/** Reads a 32-byte hash as a big-endian 256-bit integer (digest byte order, as ids are shown). */
export function hashToBigInt(hash: Uint8Array): bigint {
  let v = 0n;
  for (const b of hash) v = (v << 8n) | BigInt(b);
  return v;
}

/** The 32-byte big-endian encoding of a target. */
export function targetToBytes(target: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let t = target;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/** True when `hash` (32 bytes, read big-endian) is at most the target of `bits`. */
export function checkProofOfWork(hash: Uint8Array, bits: number, powLimitBits: number): boolean {
  const target = bitsToTarget(bits);
  if (target === 0n || target > bitsToTarget(powLimitBits)) return false;
  return hashToBigInt(hash) <= target;
}

/** Expected number of hashes to meet the target of `bits`: 2^256 / (target + 1). */
export function blockWork(bits: number): bigint {
  const target = bitsToTarget(bits);
  return (1n << 256n) / (target + 1n);
}

/**
 * Next target after a retarget window: scales the old target by actual / expected timespan, clamped to
 * a factor of 4 either way and to the proof-of-work limit (Bitcoin's CalculateNextWorkRequired).
 */
export function retargetBits(
  lastBits: number,
  actualTimespan: number,
  expectedTimespan: number,
  powLimitBits: number,
): number {
  const clamped = Math.min(Math.max(actualTimespan, expectedTimespan / 4), expectedTimespan * 4);
  let target = bitsToTarget(lastBits) * BigInt(Math.round(clamped)) / BigInt(expectedTimespan);
  const limit = bitsToTarget(powLimitBits);
  if (target > limit) target = limit;
  return targetToBits(target);
}
