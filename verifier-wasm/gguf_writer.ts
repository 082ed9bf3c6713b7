/**
 * @module GGUF v3 writer (little-endian) for the models the project makes itself: typed metadata,
 * F32 / F16 / Q8_0 tensors quantized from f32 values, every tensor aligned to `general.alignment`.
 * Pure TypeScript; the output is read back by `verifier-wasm/gguf.ts` and by llama.cpp.
 */

import {
  f32ToF16,
  GGMLType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  type GGUFMetadataEntry,
  type GGUFScalar,
  GGUFValueType,
  type GGUFValueTypeCode,
} from "./gguf.ts";

/** Tensor types the writer can produce. */
export type WritableTensorType = typeof GGMLType.F32 | typeof GGMLType.F16 | typeof GGMLType.Q8_0;

/** A tensor to write: f32 source values, converted to `type` on write. */
export interface TensorSpec {
  /** Tensor name (at most 63 bytes). */
  name: string;
  /** Storage type: F32, F16 or Q8_0. */
  type: WritableTensorType;
  /** Dimensions innermost first (ggml `ne` order). */
  dims: number[];
  /** Source values, `product(dims)` of them, row-major with `dims[0]` innermost. */
  values: Float32Array;
}

/** Helpers building typed metadata entries. */
export const meta = {
  /** u32 entry. */
  u32: (value: number): GGUFMetadataEntry => ({ type: GGUFValueType.UINT32, value }),
  /** i32 entry. */
  i32: (value: number): GGUFMetadataEntry => ({ type: GGUFValueType.INT32, value }),
  /** f32 entry. */
  f32: (value: number): GGUFMetadataEntry => ({ type: GGUFValueType.FLOAT32, value }),
  /** bool entry. */
  bool: (value: boolean): GGUFMetadataEntry => ({ type: GGUFValueType.BOOL, value }),
  /** string entry. */
  str: (value: string): GGUFMetadataEntry => ({ type: GGUFValueType.STRING, value }),
  /** array entry of `arrayType` elements. */
  array: (arrayType: GGUFValueTypeCode, value: GGUFScalar[]): GGUFMetadataEntry => ({
    type: GGUFValueType.ARRAY,
    arrayType,
    value,
  }),
};

const encoder = new TextEncoder();

class Sink {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.len, BigInt(v), true);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  str(s: string): void {
    const b = encoder.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.len % alignment)) % alignment;
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }
  scalar(type: number, v: GGUFScalar): void {
    this.ensure(8);
    const d = this.view;
    switch (type) {
      case GGUFValueType.UINT8:
        d.setUint8(this.len, v as number);
        this.len += 1;
        return;
      case GGUFValueType.INT8:
        d.setInt8(this.len, v as number);
        this.len += 1;
        return;
      case GGUFValueType.UINT16:
        d.setUint16(this.len, v as number, true);
        this.len += 2;
        return;
      case GGUFValueType.INT16:
        d.setInt16(this.len, v as number, true);
        this.len += 2;
        return;
      case GGUFValueType.UINT32:
        d.setUint32(this.len, v as number, true);
        this.len += 4;
        return;
      case GGUFValueType.INT32:
        d.setInt32(this.len, v as number, true);
        this.len += 4;
        return;
      case GGUFValueType.FLOAT32:
        d.setFloat32(this.len, v as number, true);
        this.len += 4;
        return;
      case GGUFValueType.BOOL:
        d.setUint8(this.len, v ? 1 : 0);
        this.len += 1;
        return;
      case GGUFValueType.STRING:
        this.str(v as string);
        return;
      case GGUFValueType.UINT64:
        d.setBigUint64(this.len, BigInt(v as bigint | number), true);
        this.len += 8;
        return;
      case GGUFValueType.INT64:
        d.setBigInt64(this.len, BigInt(v as bigint | number), true);
        this.len += 8;
        return;
      case GGUFValueType.FLOAT64:
        d.setFloat64(this.len, v as number, true);
        this.len += 8;
        return;
      default:
        throw new TypeError(`cannot write metadata value type ${type}`);
    }
  }
}

/** Stored byte size of a tensor of `type` with `elements` values. */
function storedBytes(type: WritableTensorType, elements: number): number {
  if (type === GGMLType.F32) return elements * 4;
  if (type === GGMLType.F16) return elements * 2;
  return (elements / 32) * 34;
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/** Fast f32 -> f16 (round to nearest even), normal range inlined, rare cases delegated. */
function toF16(v: number): number {
  F32_SCRATCH[0] = v;
  const x = U32_SCRATCH[0];
  const exp = (x >>> 23) & 0xff;
  if (exp < 113 || exp > 141) return f32ToF16(v);
  const sign = (x >>> 16) & 0x8000;
  const mant = x & 0x7fffff;
  let h = ((exp - 112) << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/**
 * Q8_0 quantization as ggml's reference `quantize_row_q8_0_ref`: per 32 values, amax = max |x|,
 * d = amax / 127, q = round-half-away(x * (1/d)); d is stored as f16. All steps in f32.
 */
export function quantizeQ8_0(values: Float32Array, out: Uint8Array, outOffset = 0): void {
  if (values.length % 32 !== 0) throw new RangeError("Q8_0 needs a multiple of 32 values");
  const nb = values.length / 32;
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(values[b * 32 + i]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const h = toF16(d);
    const o = outOffset + b * 34;
    out[o] = h & 0xff;
    out[o + 1] = h >> 8;
    for (let i = 0; i < 32; i++) {
      const x = Math.fround(values[b * 32 + i] * id);
      const q = x < 0 ? -Math.round(-x) : Math.round(x);
      out[o + 2 + i] = q & 0xff;
    }
  }
}

function encodeTensor(t: TensorSpec, out: Uint8Array, offset: number): void {
  const v = t.values;
  if (t.type === GGMLType.F32) {
    new Uint8Array(out.buffer, out.byteOffset + offset, v.length * 4).set(
      new Uint8Array(v.buffer, v.byteOffset, v.length * 4),
    );
  } else if (t.type === GGMLType.F16) {
    const dv = new DataView(out.buffer, out.byteOffset + offset, v.length * 2);
    for (let i = 0; i < v.length; i++) dv.setUint16(i * 2, toF16(v[i]), true);
  } else {
    quantizeQ8_0(v, out, offset);
  }
}

/**
 * Serializes metadata and tensors into one GGUF v3 file. `general.alignment` is written when the
 * alignment differs from the default 32. Throws `RangeError`/`TypeError` on inconsistent tensors.
 */
export function writeGGUF(
  metadata: Iterable<[string, GGUFMetadataEntry]>,
  tensors: TensorSpec[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): Uint8Array {
  const entries = [...metadata];
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !entries.some(([k]) => k === "general.alignment")) {
    entries.unshift(["general.alignment", meta.u32(alignment)]);
  }
  const s = new Sink();
  s.u32(GGUF_MAGIC);
  s.u32(GGUF_VERSION);
  s.u64(tensors.length);
  s.u64(entries.length);
  for (const [key, e] of entries) {
    s.str(key);
    s.u32(e.type);
    if (e.type === GGUFValueType.ARRAY) {
      const arr = e.value as GGUFScalar[];
      if (e.arrayType === undefined || !Array.isArray(arr)) {
        throw new TypeError(`${key}: array entry needs arrayType and an array value`);
      }
      s.u32(e.arrayType);
      s.u64(arr.length);
      for (const x of arr) s.scalar(e.arrayType, x);
    } else {
      s.scalar(e.type, e.value as GGUFScalar);
    }
  }
  let dataSize = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    let elements = 1;
    for (const d of t.dims) elements *= d;
    if (elements !== t.values.length) {
      throw new RangeError(`${t.name}: ${t.values.length} values for dims ${t.dims.join("x")}`);
    }
    if (t.type === GGMLType.Q8_0 && t.dims[0] % 32 !== 0) {
      throw new RangeError(`${t.name}: Q8_0 needs the innermost dimension to be a multiple of 32`);
    }
    s.str(t.name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(d);
    s.u32(t.type);
    s.u64(dataSize);
    offsets.push(dataSize);
    dataSize += storedBytes(t.type, elements);
    dataSize = Math.ceil(dataSize / alignment) * alignment;
  }
  s.pad(alignment);
  const header = s.len;
  const out = new Uint8Array(header + dataSize);
  out.set(s.buf.subarray(0, header));
  tensors.forEach((t, i) => encodeTensor(t, out, header + offsets[i]));
  return out;
}
