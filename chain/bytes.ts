/** @module Strict byte reader/writer: little-endian integers, minimal CompactSize varints, hex. */

import { DecodeError } from "./errors.ts";

/** Largest CompactSize value any decoder accepts (Bitcoin's MAX_SIZE, 32 MiB). */
export const MAX_COMPACT_SIZE = 0x02000000;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/**
 * Parses lowercase or uppercase hex into bytes. Throws `DecodeError` (`hex/invalid`) on odd length or
 * non-hex characters, and (`hex/length`) when `expectedLength` bytes are required but not given.
 */
export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  if (typeof hex !== "string") throw new TypeError("hex must be a string");
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new DecodeError("hex/invalid", "expected an even-length hex string");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new DecodeError("hex/length", `expected ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}

/** Whether `s` is 32 bytes as 64 lowercase hex characters (a txid, hash, model or job id). */
export function isHex32(s: unknown): s is string {
  return typeof s === "string" && /^[0-9a-f]{64}$/.test(s);
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-shape equality of two byte arrays. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Number of bytes the CompactSize encoding of `n` takes. */
export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Growable little-endian byte writer. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /** Creates a writer with an initial capacity hint. */
  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Appends one byte. */
  u8(v: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  /** Appends a little-endian u16. */
  u16(v: number): this {
    this.#reserve(2);
    this.#view.setUint16(this.#len, v, true);
    this.#len += 2;
    return this;
  }

  /** Appends a little-endian u32. */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`u32 out of range: ${v}`);
    }
    this.#reserve(4);
    this.#view.setUint32(this.#len, v, true);
    this.#len += 4;
    return this;
  }

  /** Appends a little-endian u64 from a bigint. */
  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`u64 out of range: ${v}`);
    this.#reserve(8);
    this.#view.setBigUint64(this.#len, v, true);
    this.#len += 8;
    return this;
  }

  /** Appends a little-endian IEEE-754 f32. */
  f32(v: number): this {
    this.#reserve(4);
    this.#view.setFloat32(this.#len, v, true);
    this.#len += 4;
    return this;
  }

  /** Appends a minimal CompactSize varint. */
  varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfd).u16(n);
    if (n <= 0xffffffff) return this.u8(0xfe).u32(n);
    return this.u8(0xff).u64(BigInt(n));
  }

  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** Appends a CompactSize length prefix followed by the bytes. */
  varBytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** The written bytes (a copy). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/**
 * Strict little-endian reader over a byte array. Every read checks bounds and throws `DecodeError`
 * with code `decode/truncated`; `end()` throws `decode/trailing-bytes` if anything is left.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #pos = 0;
  /** What is being decoded, used in error messages. */
  readonly what: string;

  /** Creates a reader over `bytes`; `what` names the object in error messages. */
  constructor(bytes: Uint8Array, what = "input") {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = what;
  }

  /** Current offset. */
  get position(): number {
    return this.#pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#pos;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#bytes.length) {
      throw new DecodeError(
        "decode/truncated",
        `${this.what}: truncated at offset ${this.#pos}, needed ${n} more bytes, have ${this.remaining}`,
      );
    }
  }

  /** Reads one byte. */
  u8(): number {
    this.#need(1);
    return this.#bytes[this.#pos++];
  }

  /** Reads a little-endian u16. */
  u16(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }

  /** Reads a little-endian u32. */
  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  /** Reads a little-endian u64 as bigint. */
  u64(): bigint {
    this.#need(8);
    const v = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return v;
  }

  /** Reads a little-endian f32. */
  f32(): number {
    this.#need(4);
    const v = this.#view.getFloat32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  /**
   * Reads a CompactSize varint, rejecting non-minimal encodings (`decode/non-minimal-varint`) and
   * values above `max` (`decode/too-large`).
   */
  varint(max = MAX_COMPACT_SIZE): number {
    const first = this.u8();
    let v: number;
    if (first < 0xfd) v = first;
    else if (first === 0xfd) {
      v = this.u16();
      if (v < 0xfd) this.#nonMinimal();
    } else if (first === 0xfe) {
      v = this.u32();
      if (v <= 0xffff) this.#nonMinimal();
    } else {
      const big = this.u64();
      if (big <= 0xffffffffn) this.#nonMinimal();
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new DecodeError("decode/too-large", `${this.what}: varint ${big} exceeds ${max}`);
      }
      v = Number(big);
    }
    if (v > max) {
      throw new DecodeError("decode/too-large", `${this.what}: value ${v} exceeds ${max}`);
    }
    return v;
  }

  #nonMinimal(): never {
    throw new DecodeError(
      "decode/non-minimal-varint",
      `${this.what}: non-minimal CompactSize varint`,
    );
  }

  /** Reads exactly `n` bytes (a copy). */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#bytes.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** Reads a CompactSize length (at most `max`) then that many bytes. */
  varBytes(max = MAX_COMPACT_SIZE): Uint8Array {
    return this.bytes(this.varint(max));
  }

  /** Asserts that all input was consumed. */
  end(): void {
    if (this.remaining !== 0) {
      throw new DecodeError(
        "decode/trailing-bytes",
        `${this.what}: ${this.remaining} trailing bytes after offset ${this.#pos}`,
      );
    }
  }
}
