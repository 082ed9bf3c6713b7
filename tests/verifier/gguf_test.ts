import assert from "node:assert/strict";
import { gguf } from "@huggingface/gguf";
import fc from "fast-check";
import { DecodeError } from "../../chain/errors.ts";
import { meta, writeGGUF } from "../../verifier-wasm/gguf_writer.ts";
import { makeFixture } from "../../compute/fixture.ts";
import {
  dequantizeQ8_0,
  f16ToF32,
  f32ToF16,
  GGMLType,
  ggufNumber,
  ggufString,
  ggufTensor,
  GGUFValueType,
  readGGUF,
  readGGUFDirectory,
  tensorToF32,
} from "../../verifier-wasm/gguf.ts";

/** Parses `bytes` with @huggingface/gguf through a fetch that serves ranges from memory. */
async function hfParse(bytes: Uint8Array) {
  const fakeFetch = (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const range = new Headers(init?.headers).get("range");
    let body: Uint8Array<ArrayBuffer> = bytes.slice();
    if (range) {
      const [a, b] = range.replace("bytes=", "").split("-").map(Number);
      body = bytes.slice(a, Math.min(bytes.length, b + 1));
    }
    return Promise.resolve(new Response(body, { status: range ? 206 : 200 }));
  };
  return await gguf("https://example.invalid/model.gguf", {
    fetch: fakeFetch as typeof fetch,
  });
}

function expectDecode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const sample = writeGGUF(
  [
    ["general.architecture", meta.str("llama")],
    ["a.u32", meta.u32(7)],
    ["a.f32", meta.f32(0.5)],
    ["a.bool", meta.bool(true)],
    ["a.i32s", meta.array(GGUFValueType.INT32, [-1, 2, 3])],
    ["a.strs", meta.array(GGUFValueType.STRING, ["x", "é", ""])],
    ["a.u64", { type: GGUFValueType.UINT64, value: 1n << 40n }],
  ],
  [
    { name: "w.f32", type: GGMLType.F32, dims: [3, 2], values: Float32Array.of(1, 2, 3, 4, 5, 6) },
    { name: "w.f16", type: GGMLType.F16, dims: [5], values: Float32Array.of(1, -2, 0.5, 65504, 0) },
    {
      name: "w.q8",
      type: GGMLType.Q8_0,
      dims: [32, 2],
      values: new Float32Array(64).map((_, i) => (i - 20) / 8),
    },
  ],
);

Deno.test("reader decodes metadata and tensors written by the writer", () => {
  const f = readGGUF(sample);
  assert.equal(f.version, 3);
  assert.equal(f.alignment, 32);
  assert.equal(f.dataOffset % 32, 0);
  assert.equal(ggufString(f, "general.architecture"), "llama");
  assert.equal(ggufNumber(f, "a.u32"), 7);
  assert.equal(ggufNumber(f, "a.f32"), 0.5);
  assert.equal(f.metadata.get("a.bool")!.value, true);
  assert.deepEqual(f.metadata.get("a.i32s"), {
    type: GGUFValueType.ARRAY,
    arrayType: GGUFValueType.INT32,
    value: [-1, 2, 3],
  });
  assert.deepEqual(f.metadata.get("a.strs")!.value, ["x", "é", ""]);
  assert.equal(f.metadata.get("a.u64")!.value, 1n << 40n);
  assert.deepEqual(f.tensors.map((t) => [t.name, t.typeName, t.dims]), [
    ["w.f32", "F32", [3, 2]],
    ["w.f16", "F16", [5]],
    ["w.q8", "Q8_0", [32, 2]],
  ]);
  assert.deepEqual(Array.from(tensorToF32(ggufTensor(f, "w.f32"))), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(tensorToF32(ggufTensor(f, "w.f16"))), [1, -2, 0.5, 65504, 0]);
  const q = tensorToF32(ggufTensor(f, "w.q8"));
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(q[i] - (i - 20) / 8) <= 0.022, `${i}: ${q[i]}`);
  // Views, not copies.
  const t = ggufTensor(f, "w.f32");
  assert.equal(t.data.buffer, sample.buffer);
  assert.equal(t.data.byteOffset, f.dataOffset + t.offset);
});

Deno.test("reader agrees with @huggingface/gguf on a fixture model", async () => {
  const bytes = makeFixture({ size: "tiny", dtype: "q8_0", seed: 5n });
  const ours = readGGUF(bytes);
  const hf = await hfParse(bytes);
  assert.equal(hf.metadata.version, 3);
  assert.equal(Number(hf.metadata.tensor_count), ours.tensors.length);
  for (const [key, entry] of ours.metadata) {
    const theirs = (hf.metadata as Record<string, unknown>)[key];
    if (typeof entry.value === "number" && entry.type === GGUFValueType.FLOAT32) {
      assert.equal(Math.fround(theirs as number), entry.value, key);
    } else {
      assert.deepEqual(theirs, entry.value, key);
    }
  }
  assert.equal(hf.tensorDataOffset, BigInt(ours.dataOffset));
  assert.deepEqual(
    hf.tensorInfos.map((t) => [t.name, t.dtype, t.shape.map(Number), Number(t.offset)]),
    ours.tensors.map((t) => [t.name, t.type, t.dims, t.offset]),
  );
});

Deno.test("f16 conversion is exact on representable values and rounds to nearest even", () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = f16ToF32(h);
    if (Number.isNaN(v)) continue;
    assert.equal(f32ToF16(v), h, `h=${h.toString(16)}`);
  }
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(f32ToF16(1e6), 0x7c00);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
});

Deno.test("q8_0 dequantization is d * q per 32-value block", () => {
  const block = new Uint8Array(34);
  block[0] = 0x00;
  block[1] = 0x38; // f16 0.5
  block[2] = 2;
  block[3] = 0xff; // -1
  const out = dequantizeQ8_0(block, new Float32Array(32));
  assert.equal(out[0], 1);
  assert.equal(out[1], -0.5);
  assert.throws(() => dequantizeQ8_0(new Uint8Array(33), new Float32Array(32)), RangeError);
});

Deno.test("reader rejects malformed files with typed errors", () => {
  expectDecode(() => readGGUF(new Uint8Array(0)), "gguf/bad-magic");
  expectDecode(() => readGGUF(new TextEncoder().encode("not a gguf file")), "gguf/bad-magic");
  const v2 = sample.slice();
  v2[4] = 2;
  expectDecode(() => readGGUF(v2), "gguf/bad-version");
  const last = ggufTensor(readGGUF(sample), "w.q8");
  const dataEnd = last.data.byteOffset + last.data.length;
  for (const cut of [6, 20, 60, 200, dataEnd - 1]) {
    expectDecode(() => readGGUF(sample.subarray(0, cut)), "gguf/truncated");
  }
  const trailing = new Uint8Array(sample.length + 64);
  trailing.set(sample);
  expectDecode(() => readGGUF(trailing), "gguf/trailing-bytes");
  // An unsupported tensor type (ggml type 40) in the directory.
  const f = readGGUF(sample);
  const typePos = findTensorTypeField(sample, "w.f16", 1);
  const bad = sample.slice();
  new DataView(bad.buffer).setUint32(typePos, 40, true);
  expectDecode(() => readGGUF(bad), "gguf/unsupported-tensor-type");
  // A misaligned tensor offset.
  const mis = sample.slice();
  new DataView(mis.buffer).setBigUint64(
    typePos + 4,
    BigInt(ggufTensor(f, "w.f16").offset + 4),
    true,
  );
  expectDecode(() => readGGUF(mis), "gguf/bad-alignment");
  // Overlapping tensors.
  const ov = sample.slice();
  new DataView(ov.buffer).setBigUint64(typePos + 4, 0n, true);
  expectDecode(() => readGGUF(ov), "gguf/overlap");
  // A huge string length.
  const huge = sample.slice();
  new DataView(huge.buffer).setBigUint64(24, 1n << 40n, true);
  expectDecode(() => readGGUF(huge), "gguf/too-large");
  assert.throws(() => readGGUF("x" as unknown as Uint8Array), TypeError);
});

/** Byte offset of the u32 type field of tensor `name` (its dims count must be `nDims`). */
function findTensorTypeField(bytes: Uint8Array, name: string, nDims: number): number {
  const needle = new TextEncoder().encode(name);
  outer: for (let i = 0; i < bytes.length - needle.length; i++) {
    for (let k = 0; k < needle.length; k++) if (bytes[i + k] !== needle[k]) continue outer;
    return i + needle.length + 4 + nDims * 8;
  }
  throw new Error("not found");
}

Deno.test("directory parsing from a prefix matches the full parse and asks for more when short", () => {
  const full = readGGUF(sample);
  const dir = readGGUFDirectory(sample.subarray(0, full.dataOffset), sample.length);
  assert.deepEqual(dir.tensors, full.tensors.map(({ data: _d, ...info }) => info));
  assert.equal(dir.dataOffset, full.dataOffset);
  assert.throws(
    () => readGGUFDirectory(sample.subarray(0, 40), sample.length),
    (e: unknown) => e instanceof DecodeError && e.code === "gguf/truncated" && "needMore" in e,
  );
  expectDecode(
    () => readGGUFDirectory(sample.subarray(0, full.dataOffset), full.dataOffset + 8),
    "gguf/truncated",
  );
});

Deno.test("a non-default general.alignment is honoured and checked", async () => {
  const bytes = writeGGUF(
    [["general.architecture", meta.str("llama")]],
    [
      { name: "a", type: GGMLType.F32, dims: [3], values: Float32Array.of(1, 2, 3) },
      { name: "b", type: GGMLType.F16, dims: [2], values: Float32Array.of(4, 5) },
    ],
    64,
  );
  const f = readGGUF(bytes);
  assert.equal(f.alignment, 64);
  assert.equal(f.dataOffset % 64, 0);
  assert.deepEqual(f.tensors.map((t) => t.offset), [0, 64]);
  assert.deepEqual(Array.from(tensorToF32(ggufTensor(f, "b"))), [4, 5]);
  const hf = await hfParse(bytes);
  assert.equal(hf.tensorDataOffset, BigInt(f.dataOffset));
  // Alignment 48 is not a power of two.
  const bad = bytes.slice();
  const at = new TextEncoder().encode("general.alignment");
  let i = 0;
  while (!at.every((c, k) => bad[i + k] === c)) i++;
  new DataView(bad.buffer).setUint32(i + at.length + 4, 48, true);
  expectDecode(() => readGGUF(bad), "gguf/bad-alignment");
});

Deno.test("random corruption either parses or throws DecodeError, never anything else", () => {
  const base = writeGGUF(
    [
      ["general.architecture", meta.str("llama")],
      ["a.strs", meta.array(GGUFValueType.STRING, ["x", "yz"])],
      ["a.u32", meta.u32(3)],
    ],
    [{ name: "t", type: GGMLType.Q8_0, dims: [32], values: new Float32Array(32).fill(1) }],
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 6 }),
      fc.nat(base.length),
      (edits, cut) => {
        const b = base.slice(0, Math.max(cut, 4));
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        try {
          readGGUF(b);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `unexpected ${e}`);
        }
      },
    ),
    { numRuns: 3000 },
  );
});
