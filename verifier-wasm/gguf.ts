/**
 * @module Strict, pure-TypeScript GGUF v3 reader: metadata, tensor directory and zero-copy tensor
 * data views. No Deno or Node APIs, so it runs in browsers too (the verifier reads weights with it).
 *
 * Layout (little-endian only): magic "GGUF", version u32 (= 3), tensor count u64, metadata count
 * u64, metadata key/value pairs, tensor infos, padding to `general.alignment` (default 32), tensor
 * data. Strings are u64 length + UTF-8 bytes. Tensor dims are listed innermost first (ggml `ne`
 * order): a matrix with `dims = [cols, rows]` stores `rows` rows of `cols` elements.
 *
 * The decoder is strict: every length is bounded, keys and tensor names are unique, tensor offsets
 * are aligned, data ranges lie inside the file and do not overlap, and bytes past the last tensor
 * are only the alignment padding.
 */

import { DecodeError } from "../chain/errors.ts";

/** GGUF metadata value types (the `gguf_type` enum). */
export const GGUFValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** One of the {@link GGUFValueType} codes. */
export type GGUFValueTypeCode = (typeof GGUFValueType)[keyof typeof GGUFValueType];

/** ggml tensor types this reader knows the storage size of (the `ggml_type` enum). */
export const GGMLType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  BF16: 30,
} as const;

/** One of the {@link GGMLType} codes. */
export type GGMLTypeCode = (typeof GGMLType)[keyof typeof GGMLType];

/** Block size (elements) and block byte size per known ggml type. */
const TYPE_LAYOUT: ReadonlyMap<number, { name: string; block: number; bytes: number }> = new Map([
  [0, { name: "F32", block: 1, bytes: 4 }],
  [1, { name: "F16", block: 1, bytes: 2 }],
  [2, { name: "Q4_0", block: 32, bytes: 18 }],
  [3, { name: "Q4_1", block: 32, bytes: 20 }],
  [6, { name: "Q5_0", block: 32, bytes: 22 }],
  [7, { name: "Q5_1", block: 32, bytes: 24 }],
  [8, { name: "Q8_0", block: 32, bytes: 34 }],
  [9, { name: "Q8_1", block: 32, bytes: 36 }],
  [10, { name: "Q2_K", block: 256, bytes: 84 }],
  [11, { name: "Q3_K", block: 256, bytes: 110 }],
  [12, { name: "Q4_K", block: 256, bytes: 144 }],
  [13, { name: "Q5_K", block: 256, bytes: 176 }],
  [14, { name: "Q6_K", block: 256, bytes: 210 }],
  [15, { name: "Q8_K", block: 256, bytes: 292 }],
  [24, { name: "I8", block: 1, bytes: 1 }],
  [25, { name: "I16", block: 1, bytes: 2 }],
  [26, { name: "I32", block: 1, bytes: 4 }],
  [27, { name: "I64", block: 1, bytes: 8 }],
  [28, { name: "F64", block: 1, bytes: 8 }],
  [30, { name: "BF16", block: 1, bytes: 2 }],
]);

/** The GGUF magic, "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** The only GGUF version this reader accepts. */
export const GGUF_VERSION = 3;
/** Alignment of the tensor data section when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Bounds the decoder enforces (hostile input must not make it allocate without limit). */
export const GGUF_LIMITS = {
  maxTensors: 1 << 16,
  maxMetadata: 1 << 16,
  maxStringBytes: 1 << 20,
  maxArrayLength: 1 << 24,
  maxDims: 4,
  maxNameBytes: 63,
} as const;

/** A scalar metadata value: u64/i64 as bigint, other integers and floats as number. */
export type GGUFScalar = number | bigint | boolean | string;
/** A metadata value: a scalar or a (possibly nested) array of them. */
export type GGUFValue = GGUFScalar | GGUFValue[];

/** One metadata entry with its declared type (and element type for arrays). */
export interface GGUFMetadataEntry {
  /** Declared value type. */
  type: GGUFValueTypeCode;
  /** Element type when `type` is ARRAY. */
  arrayType?: GGUFValueTypeCode;
  /** The decoded value. */
  value: GGUFValue;
}

/** Metadata keyed by name, in file order. */
export type GGUFMetadata = Map<string, GGUFMetadataEntry>;

/** One tensor directory entry. */
export interface GGUFTensorInfo {
  /** Tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** ggml type code ({@link GGMLType}). */
  type: number;
  /** ggml type name, e.g. `F16`. */
  typeName: string;
  /** Dimensions innermost first (ggml `ne` order). */
  dims: number[];
  /** Number of elements (product of dims). */
  elements: number;
  /** Offset of the data relative to the start of the data section. */
  offset: number;
  /** Stored size in bytes. */
  size: number;
}

/** One tensor: its directory entry plus a zero-copy view of its stored bytes. */
export interface GGUFTensor extends GGUFTensorInfo {
  /** Stored bytes: a subarray of the input (no copy). */
  data: Uint8Array;
}

/** The parsed header of a GGUF file (metadata and tensor directory), without tensor data. */
export interface GGUFDirectory {
  /** Format version (always 3). */
  version: number;
  /** Tensor data alignment in bytes. */
  alignment: number;
  /** Absolute byte offset where the tensor data section starts. */
  dataOffset: number;
  /** Metadata entries in file order. */
  metadata: GGUFMetadata;
  /** Tensor directory in file order. */
  tensors: GGUFTensorInfo[];
}

/** A parsed GGUF file. */
export interface GGUFFile {
  /** Format version (always 3). */
  version: number;
  /** Tensor data alignment in bytes. */
  alignment: number;
  /** Absolute byte offset where the tensor data section starts. */
  dataOffset: number;
  /** Metadata entries in file order. */
  metadata: GGUFMetadata;
  /** Tensors in directory order. */
  tensors: GGUFTensor[];
  /** Tensors keyed by name. */
  tensorsByName: Map<string, GGUFTensor>;
}

/** Name of a ggml type, or throws `DecodeError` (`gguf/unsupported-tensor-type`). */
export function ggmlTypeName(type: number): string {
  const layout = TYPE_LAYOUT.get(type);
  if (!layout) {
    throw new DecodeError("gguf/unsupported-tensor-type", `unsupported ggml tensor type ${type}`);
  }
  return layout.name;
}

/** Bytes a tensor of `type` with innermost dimension `dims[0]` occupies. */
export function ggmlTensorBytes(type: number, dims: readonly number[]): number {
  const layout = TYPE_LAYOUT.get(type);
  if (!layout) {
    throw new DecodeError("gguf/unsupported-tensor-type", `unsupported ggml tensor type ${type}`);
  }
  const inner = dims.length ? dims[0] : 1;
  if (inner % layout.block !== 0) {
    throw new DecodeError(
      "gguf/bad-tensor-shape",
      `innermost dimension ${inner} is not a multiple of ${layout.name}'s block size ${layout.block}`,
    );
  }
  let elements = 1;
  for (const d of dims) elements *= d;
  return (elements / layout.block) * layout.bytes;
}

/** The fixed-size numeric value types: byte size and little-endian reader. */
const FIXED_SCALARS: ReadonlyMap<
  number,
  { size: number; read: (v: DataView, at: number) => number | bigint }
> = new Map([
  [GGUFValueType.UINT8, { size: 1, read: (v, at) => v.getUint8(at) }],
  [GGUFValueType.INT8, { size: 1, read: (v, at) => v.getInt8(at) }],
  [GGUFValueType.UINT16, { size: 2, read: (v, at) => v.getUint16(at, true) }],
  [GGUFValueType.INT16, { size: 2, read: (v, at) => v.getInt16(at, true) }],
  [GGUFValueType.UINT32, { size: 4, read: (v, at) => v.getUint32(at, true) }],
  [GGUFValueType.INT32, { size: 4, read: (v, at) => v.getInt32(at, true) }],
  [GGUFValueType.FLOAT32, { size: 4, read: (v, at) => v.getFloat32(at, true) }],
  [GGUFValueType.UINT64, { size: 8, read: (v, at) => v.getBigUint64(at, true) }],
  [GGUFValueType.INT64, { size: 8, read: (v, at) => v.getBigInt64(at, true) }],
  [GGUFValueType.FLOAT64, { size: 8, read: (v, at) => v.getFloat64(at, true) }],
]);

class Cursor {
  readonly view: DataView;
  pos = 0;
  readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) {
      throw new DecodeError(
        "gguf/truncated",
        `truncated GGUF: need ${n} bytes for ${what} at offset ${this.pos}, ` +
          `${this.bytes.length - this.pos} left`,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** u64 that must fit in a safe integer no larger than `max`. */
  size(what: string, max: number): number {
    const v = this.u64(what);
    if (v > BigInt(max)) {
      throw new DecodeError("gguf/too-large", `${what} ${v} exceeds the limit ${max}`);
    }
    return Number(v);
  }
  string(what: string, max = GGUF_LIMITS.maxStringBytes): string {
    const n = this.size(`${what} length`, max);
    this.need(n, what);
    const raw = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return this.decoder.decode(raw);
    } catch {
      throw new DecodeError("gguf/bad-utf8", `${what} is not valid UTF-8`);
    }
  }
  scalar(type: number, what: string): GGUFScalar {
    const fixed = FIXED_SCALARS.get(type);
    if (fixed) {
      this.need(fixed.size, what);
      this.pos += fixed.size;
      return fixed.read(this.view, this.pos - fixed.size);
    }
    if (type === GGUFValueType.BOOL) {
      const b = this.u8(what);
      if (b > 1) throw new DecodeError("gguf/bad-bool", `${what}: bool byte ${b} is not 0 or 1`);
      return b === 1;
    }
    if (type === GGUFValueType.STRING) return this.string(what);
    throw new DecodeError("gguf/bad-value-type", `${what}: unknown value type ${type}`);
  }
  value(type: number, what: string, depth: number): GGUFMetadataEntry {
    if (type !== GGUFValueType.ARRAY) {
      return { type: type as GGUFValueTypeCode, value: this.scalar(type, what) };
    }
    if (depth > 2) throw new DecodeError("gguf/too-deep", `${what}: arrays nested too deeply`);
    const elemType = this.u32(`${what} array type`);
    const n = this.size(`${what} array length`, GGUF_LIMITS.maxArrayLength);
    if (elemType !== GGUFValueType.ARRAY && elemType > GGUFValueType.FLOAT64) {
      throw new DecodeError("gguf/bad-value-type", `${what}: unknown array type ${elemType}`);
    }
    // Every element takes at least this many bytes: refuse counts the input cannot hold before
    // allocating anything.
    const minSize = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8][elemType];
    this.need(n * minSize, `${what} array of ${n} elements`);
    const out: GGUFValue[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = elemType === GGUFValueType.ARRAY
        ? this.value(elemType, what, depth + 1).value
        : this.scalar(elemType, what);
    }
    return {
      type: GGUFValueType.ARRAY,
      arrayType: elemType as GGUFValueTypeCode,
      value: out,
    };
  }
}

/**
 * Parses a whole GGUF v3 file held in memory. Tensor `data` fields are views into `bytes`.
 * Throws `DecodeError` with codes such as `gguf/bad-magic`, `gguf/bad-version`, `gguf/truncated`,
 * `gguf/unsupported-tensor-type`, `gguf/bad-alignment`, `gguf/overlap`, `gguf/trailing-bytes`.
 */
export function readGGUF(bytes: Uint8Array): GGUFFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("readGGUF expects a Uint8Array");
  const dir = readGGUFDirectory(bytes, bytes.length);
  const tensors: GGUFTensor[] = dir.tensors.map((t) => ({
    ...t,
    data: bytes.subarray(dir.dataOffset + t.offset, dir.dataOffset + t.offset + t.size),
  }));
  return {
    version: dir.version,
    alignment: dir.alignment,
    dataOffset: dir.dataOffset,
    metadata: dir.metadata,
    tensors,
    tensorsByName: new Map(tensors.map((t) => [t.name, t])),
  };
}

/**
 * Parses the header (metadata and tensor directory) from `prefix`, the first bytes of a GGUF file
 * of `fileLength` bytes, and checks every tensor range against `fileLength`. When the header does
 * not fit in `prefix` it throws `DecodeError` `gguf/truncated` with `needMore` set on the error
 * (read a longer prefix and retry); a file that is itself too short gets plain `gguf/truncated`.
 */
export function readGGUFDirectory(prefix: Uint8Array, fileLength: number): GGUFDirectory {
  if (!(prefix instanceof Uint8Array)) {
    throw new TypeError("readGGUFDirectory expects a Uint8Array");
  }
  if (!Number.isSafeInteger(fileLength) || fileLength < prefix.length) {
    throw new RangeError("fileLength must be a safe integer >= prefix length");
  }
  try {
    return parseDirectory(prefix, fileLength);
  } catch (e) {
    if (e instanceof DecodeError && e.code === "gguf/truncated" && prefix.length < fileLength) {
      (e as DecodeError & { needMore?: boolean }).needMore = true;
    }
    throw e;
  }
}

function parseDirectory(bytes: Uint8Array, fileLength: number): GGUFDirectory {
  const c = new Cursor(bytes);
  if (bytes.length < 4 || c.view.getUint32(0, true) !== GGUF_MAGIC) {
    throw new DecodeError("gguf/bad-magic", "not a GGUF file (missing 'GGUF' magic)");
  }
  c.pos = 4;
  const version = c.u32("version");
  if (version !== GGUF_VERSION) {
    throw new DecodeError(
      "gguf/bad-version",
      `unsupported GGUF version ${version} (only little-endian v${GGUF_VERSION} is supported)`,
    );
  }
  const nTensors = c.size("tensor count", GGUF_LIMITS.maxTensors);
  const nKv = c.size("metadata count", GGUF_LIMITS.maxMetadata);
  const metadata: GGUFMetadata = new Map();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key #${i}`, 1 << 16);
    if (key.length === 0) throw new DecodeError("gguf/bad-key", `metadata key #${i} is empty`);
    if (metadata.has(key)) {
      throw new DecodeError("gguf/duplicate-key", `duplicate metadata key ${JSON.stringify(key)}`);
    }
    const type = c.u32(`type of ${key}`);
    metadata.set(key, c.value(type, key, 0));
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignEntry = metadata.get("general.alignment");
  if (alignEntry) {
    const a = alignEntry.value;
    if (
      alignEntry.type !== GGUFValueType.UINT32 || typeof a !== "number" || a === 0 || (a & (a - 1))
    ) {
      throw new DecodeError(
        "gguf/bad-alignment",
        "general.alignment must be a non-zero power of two u32",
      );
    }
    alignment = a;
  }
  interface Info {
    name: string;
    type: number;
    dims: number[];
    elements: number;
    offset: number;
    size: number;
  }
  const infos: Info[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor #${i} name`, GGUF_LIMITS.maxNameBytes);
    if (names.has(name)) {
      throw new DecodeError("gguf/duplicate-tensor", `duplicate tensor ${JSON.stringify(name)}`);
    }
    names.add(name);
    const nDims = c.u32(`${name} dims count`);
    if (nDims < 1 || nDims > GGUF_LIMITS.maxDims) {
      throw new DecodeError(
        "gguf/bad-tensor-shape",
        `${name}: ${nDims} dimensions (1 to 4 allowed)`,
      );
    }
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.size(`${name} dim ${d}`, Number.MAX_SAFE_INTEGER);
      if (n === 0) throw new DecodeError("gguf/bad-tensor-shape", `${name}: dimension ${d} is 0`);
      dims.push(n);
      elements *= n;
      if (elements > Number.MAX_SAFE_INTEGER) {
        throw new DecodeError("gguf/too-large", `${name}: element count overflows`);
      }
    }
    const type = c.u32(`${name} type`);
    if (!TYPE_LAYOUT.has(type)) {
      throw new DecodeError(
        "gguf/unsupported-tensor-type",
        `tensor ${name} has unsupported ggml type ${type}`,
      );
    }
    const offset = c.size(`${name} offset`, Number.MAX_SAFE_INTEGER);
    if (offset % alignment !== 0) {
      throw new DecodeError(
        "gguf/bad-alignment",
        `tensor ${name} offset ${offset} is not a multiple of ${alignment}`,
      );
    }
    const size = ggmlTensorBytes(type, dims);
    infos.push({ name, type, dims, elements, offset, size });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (let p = c.pos; p < Math.min(dataOffset, bytes.length); p++) {
    if (bytes[p] !== 0) {
      throw new DecodeError("gguf/bad-padding", `non-zero padding byte before tensor data at ${p}`);
    }
  }
  const sorted = [...infos].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const t of sorted) {
    if (t.offset < end) {
      throw new DecodeError("gguf/overlap", `tensor ${t.name} overlaps the previous tensor's data`);
    }
    end = t.offset + t.size;
  }
  const dataEnd = dataOffset + end;
  if (dataEnd > fileLength) {
    throw new DecodeError(
      "gguf/truncated",
      `truncated GGUF: tensor data ends at byte ${dataEnd} but the file has ${fileLength}`,
    );
  }
  const maxLength = nTensors === 0
    ? dataOffset
    : dataOffset + Math.ceil(end / alignment) * alignment;
  if (fileLength > maxLength) {
    throw new DecodeError(
      "gguf/trailing-bytes",
      `${fileLength - maxLength} unexpected bytes after the last tensor`,
    );
  }
  const tensors: GGUFTensorInfo[] = infos.map((t) => ({
    name: t.name,
    type: t.type,
    typeName: TYPE_LAYOUT.get(t.type)!.name,
    dims: t.dims,
    elements: t.elements,
    offset: t.offset,
    size: t.size,
  }));
  return { version, alignment, dataOffset, metadata, tensors };
}

/** Metadata value of `key`, or throws `DecodeError` (`gguf/missing-key`). */
export function ggufValue(file: GGUFDirectory | GGUFFile, key: string): GGUFValue {
  const e = file.metadata.get(key);
  if (!e) throw new DecodeError("gguf/missing-key", `GGUF metadata lacks ${key}`);
  return e.value;
}

/** String metadata value of `key`; throws `DecodeError` when absent or not a string. */
export function ggufString(file: GGUFDirectory | GGUFFile, key: string): string {
  const v = ggufValue(file, key);
  if (typeof v !== "string") throw new DecodeError("gguf/bad-key", `${key} is not a string`);
  return v;
}

/** Numeric metadata value of `key` (any integer or float type, bigint narrowed when safe). */
export function ggufNumber(file: GGUFDirectory | GGUFFile, key: string): number {
  const v = ggufValue(file, key);
  if (typeof v === "number") return v;
  if (typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(2 ** 53)) {
    return Number(v);
  }
  throw new DecodeError("gguf/bad-key", `${key} is not a number`);
}

/** Tensor called `name`, or throws `DecodeError` (`gguf/missing-tensor`). */
export function ggufTensor(file: GGUFFile, name: string): GGUFTensor {
  const t = file.tensorsByName.get(name);
  if (!t) throw new DecodeError("gguf/missing-tensor", `GGUF has no tensor ${name}`);
  return t;
}

const F16_EXP_TABLE = (() => {
  const t = new Float64Array(32);
  for (let e = 0; e < 32; e++) t[e] = 2 ** (e - 15);
  return t;
})();

/** IEEE binary16 bits to a number (exact; subnormals, infinities and NaN included). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * F16_EXP_TABLE[e] * (1 + m / 1024);
}

/** Round-to-nearest-even conversion of a number (first rounded to f32) to binary16 bits. */
export function f32ToF16(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/**
 * Dequantizes Q8_0 blocks (each: f16 scale `d`, then 32 int8 `q`; value = d * q, computed in f32)
 * into `out`, which must hold `blocks * 32` floats.
 */
export function dequantizeQ8_0(data: Uint8Array, out: Float32Array): Float32Array {
  if (data.length % 34 !== 0 || out.length !== (data.length / 34) * 32) {
    throw new RangeError("Q8_0 data must be whole 34-byte blocks matching the output length");
  }
  const nb = data.length / 34;
  for (let b = 0; b < nb; b++) {
    const o = b * 34;
    const d = Math.fround(f16ToF32(data[o] | (data[o + 1] << 8)));
    const base = b * 32;
    for (let i = 0; i < 32; i++) {
      const q = data[o + 2 + i];
      out[base + i] = d * (q > 127 ? q - 256 : q);
    }
  }
  return out;
}

/**
 * The tensor's values as f32 (F32, F16 or Q8_0 only). F32 tensors whose data is 4-byte aligned are
 * returned as a view (no copy); everything else is a fresh array.
 */
export function tensorToF32(t: GGUFTensor): Float32Array {
  const { data } = t;
  if (t.type === GGMLType.F32) {
    if ((data.byteOffset & 3) === 0) {
      return new Float32Array(data.buffer, data.byteOffset, t.elements);
    }
    return new Float32Array(data.slice().buffer);
  }
  const out = new Float32Array(t.elements);
  if (t.type === GGMLType.F16) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
    return out;
  }
  if (t.type === GGMLType.Q8_0) return dequantizeQ8_0(data, out);
  throw new DecodeError(
    "gguf/unsupported-tensor-type",
    `cannot dequantize tensor ${t.name} of type ${t.typeName} (F32, F16, Q8_0 only)`,
  );
}
