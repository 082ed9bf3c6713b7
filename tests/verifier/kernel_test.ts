/**
 * @module Tests of the WASM llama prefill kernel (kernel.ts, kernel/src) on tiny fixture models:
 * against a plain f64 TypeScript forward pass (with and without llama.cpp's activation
 * conversions), invariance of logits to which positions are requested, the scalar math helpers,
 * and bad input.
 */

import assert from "node:assert/strict";
import { makeFixture } from "../../compute/fixture.ts";
import { prefillLogits } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { meta, writeGGUF } from "../../verifier-wasm/gguf_writer.ts";
import {
  f32ToF16,
  GGMLType,
  type GGUFFile,
  type GGUFMetadataEntry,
  readGGUF,
  tensorToF32,
} from "../../verifier-wasm/gguf.ts";
import { WasmLlama } from "../../verifier-wasm/kernel.ts";
import { exportOnnx } from "../../verifier-wasm/onnx_export.ts";
import { OnnxBackend } from "../../verifier-wasm/onnx_backend.ts";
import { readLlamaHParams, UnsupportedModelError } from "../../verifier-wasm/llama_hparams.ts";
import { instantiateKernel, kernelAlloc, kernelModule } from "../../verifier-wasm/kernel_module.ts";

type Dtype = "f32" | "f16" | "q8_0";
const fixtures = new Map<string, Uint8Array>();
function fixture(dtype: Dtype, seed = 1n): Uint8Array {
  const key = `${dtype}/${seed}`;
  if (!fixtures.has(key)) fixtures.set(key, makeFixture({ size: "tiny", dtype, seed }));
  return fixtures.get(key)!;
}

const f16round = (x: number) => {
  const h = f32ToF16(x);
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
};

/** llama.cpp x86 `quantize_row_q8_0` then dequantize: what a q8_0 matmul sees of `x`. */
function q8Round(x: number[]): number[] {
  const out = new Array<number>(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]));
    const d = f16round(Math.fround(amax / 127));
    const id = amax === 0 ? 0 : Math.fround(127 / amax);
    for (let i = b; i < b + 32; i++) {
      const v = Math.fround(x[i] * id);
      let q = Math.round(v);
      if (Math.abs(v % 1) === 0.5 && q % 2 !== 0) q -= 1; // half to even
      out[i] = q * d;
    }
  }
  return out;
}

/**
 * Straightforward f64 llama forward pass over the dequantized weights: logits at every
 * position. With `mirror`, activations are converted as llama.cpp's CPU backend does before
 * f16/q8_0 matmuls and K, V, Q and attention weights are rounded to f16.
 */
function refForward(gguf: Uint8Array, tokens: number[], mirror: boolean): Float64Array[] {
  const f = readGGUF(gguf);
  const hp = readLlamaHParams(f);
  const { nEmbd: e, nHead: nh, nHeadKv: nkv, headDim: hd, nFf: ff, nVocab } = hp;
  const W = (n: string) => ({
    v: tensorToF32(f.tensorsByName.get(n)!),
    t: f.tensorsByName.get(n)!.type,
  });
  const conv = (v: number[], t: number) =>
    !mirror || t === GGMLType.F32 ? v : t === GGMLType.F16 ? v.map(f16round) : q8Round(v);
  const r16 = (v: number[]) => (mirror ? v.map(f16round) : v);
  const mv = (m: { v: Float32Array; t: number }, v0: number[], nOut: number) => {
    const v = conv(v0, m.t);
    const n = v.length;
    const y = new Array<number>(nOut);
    for (let r = 0; r < nOut; r++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += m.v[r * n + i] * v[i];
      y[r] = s;
    }
    return y;
  };
  const norm = (v: number[], w: Float32Array) => {
    let s = 0;
    for (const a of v) s += a * a;
    const sc = 1 / Math.sqrt(s / v.length + hp.rmsEps);
    return v.map((a, i) => a * sc * w[i]);
  };
  const rope = (v: number[], heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hp.nRot; i += 2) {
        const th = pos * Math.pow(hp.ropeFreqBase, -i / hp.nRot);
        const [c, s] = [Math.cos(th), Math.sin(th)];
        const [a, b] = [v[h * hd + i], v[h * hd + i + 1]];
        v[h * hd + i] = a * c - b * s;
        v[h * hd + i + 1] = a * s + b * c;
      }
    }
    return v;
  };
  const emb = W("token_embd.weight");
  let x = tokens.map((t) => Array.from(emb.v.subarray(t * e, (t + 1) * e)));
  for (let l = 0; l < hp.nLayer; l++) {
    const p = `blk.${l}.`;
    const an = W(p + "attn_norm.weight").v;
    const xb = x.map((r) => norm(r, an));
    const q = xb.map((r, t) => r16(rope(mv(W(p + "attn_q.weight"), r, nh * hd), nh, t)));
    const k = xb.map((r, t) => r16(rope(mv(W(p + "attn_k.weight"), r, nkv * hd), nkv, t)));
    const v = xb.map((r) => r16(mv(W(p + "attn_v.weight"), r, nkv * hd)));
    const att = q.map((qr, t) => {
      const o = new Array<number>(nh * hd).fill(0);
      for (let h = 0; h < nh; h++) {
        const g = Math.floor(h / (nh / nkv));
        const sc: number[] = [];
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qr[h * hd + d] * k[j][g * hd + d];
          sc.push(s / Math.sqrt(hd));
        }
        const mx = Math.max(...sc);
        const ex = sc.map((s) => Math.exp(s - mx));
        const sum = ex.reduce((a, b) => a + b, 0);
        const pr = r16(ex.map((a) => a / sum));
        for (let j = 0; j <= t; j++) {
          for (let d = 0; d < hd; d++) o[h * hd + d] += pr[j] * v[j][g * hd + d];
        }
      }
      return o;
    });
    x = x.map((r, t) => {
      const o = mv(W(p + "attn_output.weight"), att[t], e);
      return r.map((a, i) => a + o[i]);
    });
    const fn = W(p + "ffn_norm.weight").v;
    x = x.map((r) => {
      const h = norm(r, fn);
      const g = mv(W(p + "ffn_gate.weight"), h, ff);
      const u = mv(W(p + "ffn_up.weight"), h, ff);
      const o = mv(
        W(p + "ffn_down.weight"),
        g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * u[i]),
        e,
      );
      return r.map((z, i) => z + o[i]);
    });
  }
  const on = W("output_norm.weight").v;
  const out = f.tensorsByName.has("output.weight") ? W("output.weight") : emb;
  return x.map((r) => Float64Array.from(mv(out, norm(r, on), nVocab)));
}

function argmax(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[m]) m = i;
  return m;
}

function compare(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
): { maxDiff: number; argmaxAgree: number } {
  let maxDiff = 0;
  let argmaxAgree = 0;
  a.forEach((row, i) => {
    for (let j = 0; j < row.length; j++) maxDiff = Math.max(maxDiff, Math.abs(row[j] - b[i][j]));
    if (argmax(row) === argmax(b[i])) argmaxAgree++;
  });
  return { maxDiff, argmaxAgree };
}

const PROMPT = [1, 72, 101, 108, 108, 111, 259, 119, 111, 114, 108, 100, 33, 2, 40, 41, 200, 17];
const ALL = PROMPT.map((_, i) => i);

for (const dtype of ["f32", "f16", "q8_0"] as const) {
  Deno.test(`${dtype} fixture: plain f32 kernel logits match an f64 TypeScript forward pass`, async () => {
    const g = fixture(dtype);
    const m = await WasmLlama.load(g, { mirrorLlamaCpp: false });
    const got = m.logitsAt(PROMPT, ALL);
    const { maxDiff, argmaxAgree } = compare(got, refForward(g, PROMPT, false));
    assert.ok(maxDiff < 1e-4, `max abs diff ${maxDiff}`);
    assert.equal(argmaxAgree, PROMPT.length);
  });

  Deno.test(`${dtype} fixture: llama.cpp-mirroring kernel matches the mirrored TypeScript pass`, async () => {
    const g = fixture(dtype);
    const m = await WasmLlama.load(g);
    const got = m.logitsAt(PROMPT, ALL);
    const mirrored = compare(got, refForward(g, PROMPT, true));
    const plain = compare(got, refForward(g, PROMPT, false));
    // f32 (kernel) and f64 (reference) values on either side of an f16 or q8_0 rounding boundary
    // round apart by one step, so the two mirrored passes agree closely, not bit for bit.
    assert.ok(mirrored.maxDiff < 1e-2, `max abs diff ${mirrored.maxDiff}`);
    assert.equal(mirrored.argmaxAgree, PROMPT.length);
    // The mirrored pass is closer to the kernel than the plain one is.
    assert.ok(mirrored.maxDiff < plain.maxDiff, `${mirrored.maxDiff} vs ${plain.maxDiff}`);
  });
}

/** Per-position max abs diff of two logits sets. */
function perPosition(a: ArrayLike<number>[], b: ArrayLike<number>[]): number[] {
  return a.map((row, i) => {
    let m = 0;
    for (let j = 0; j < row.length; j++) m = Math.max(m, Math.abs(row[j] - b[i][j]));
    return m;
  });
}

const median = (v: number[]) => v.slice().sort((x, y) => x - y)[Math.floor(v.length / 2)];

/** llama.cpp's logits (CPU, 1 thread, flash attention off) at every index of `tokens`. */
async function llamaCppLogits(gguf: Uint8Array, tokens: number[]): Promise<Float32Array[]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/m.gguf`, gguf);
    const model = await loadModel(`${dir}/m.gguf`);
    try {
      return await prefillLogits(model, tokens, tokens.map((_, i) => i), { threads: 1 });
    } finally {
      await model.free();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LONG_PROMPT = Array.from({ length: 32 }, (_, i) => (i * 37 + 5) % 260);

for (const dtype of ["f32", "f16", "q8_0"] as const) {
  Deno.test(`${dtype} fixture: WASM logits match llama.cpp's (1 thread, no flash attention)`, async () => {
    const g = fixture(dtype, 5n);
    const tokens = LONG_PROMPT;
    const all = tokens.map((_, i) => i);
    const ref = await llamaCppLogits(g, tokens);
    const mirrored = perPosition((await WasmLlama.load(g)).logitsAt(tokens, all), ref);
    const wasm = (await WasmLlama.load(g)).logitsAt(tokens, all);
    const plain = perPosition(
      (await WasmLlama.load(g, { mirrorLlamaCpp: false })).logitsAt(tokens, all),
      ref,
    );
    const maxDiff = Math.max(...mirrored);
    const agree = wasm.filter((row, i) => argmax(row) === argmax(ref[i])).length;
    console.log(
      `${dtype}: max abs diff ${maxDiff.toExponential(2)}, median ${
        median(mirrored).toExponential(2)
      } (plain f32 activations: ${median(plain).toExponential(2)}), argmax ${agree}/32`,
    );
    // llama.cpp's own arithmetic, step by step: most positions agree to float noise; a value
    // that lands on the other side of an f16 / q8_0 rounding boundary moves a few positions.
    assert.ok(median(mirrored) < 1e-4, `median ${median(mirrored)}`);
    assert.ok(maxDiff < 0.15, `max abs diff ${maxDiff}`);
    if (dtype !== "f32") assert.ok(median(plain) > 10 * median(mirrored));
    // Same top token, except within the measured noise of a tie.
    wasm.forEach((row, i) => {
      assert.ok(ref[i][argmax(ref[i])] - ref[i][argmax(row)] <= 2 * maxDiff, `position ${i}`);
    });
  });
}

/**
 * The f32 fixture (seed 5) with metadata `changes`, and, for a head size other than width / heads,
 * attention weights of the new shapes (small deterministic values).
 */
function llamaVariant(changes: Record<string, GGUFMetadataEntry>, headDim?: number): Uint8Array {
  const f = readGGUF(fixture("f32", 5n));
  const hp = readLlamaHParams(f);
  const d = headDim ?? hp.headDim;
  const shapes: Record<string, number[]> = {
    attn_q: [hp.nEmbd, hp.nHead * d],
    attn_k: [hp.nEmbd, hp.nHeadKv * d],
    attn_v: [hp.nEmbd, hp.nHeadKv * d],
    attn_output: [hp.nHead * d, hp.nEmbd],
  };
  const tensors = f.tensors.map((t) => {
    const dims = shapes[t.name.split(".")[2]] ?? t.dims;
    const same = dims.every((n, i) => n === t.dims[i]);
    const n = dims[0] * (dims[1] ?? 1);
    const values = same
      ? tensorToF32(t)
      : Float32Array.from({ length: n }, (_, i) => 0.15 * Math.sin(i * 0.731 + t.name.length));
    return { name: t.name, type: GGMLType.F32, dims, values };
  });
  const metadata = new Map(f.metadata);
  for (const [k, v] of Object.entries(changes)) metadata.set(k, v);
  return writeGGUF(metadata, tensors);
}

const VARIANTS: [string, Uint8Array][] = [
  [
    "linear rope scaling (factor 4)",
    llamaVariant({
      "llama.rope.scaling.type": meta.str("linear"),
      "llama.rope.scaling.factor": meta.f32(4),
    }),
  ],
  [
    "head size 32 with 4 heads on a width of 64",
    llamaVariant({
      "llama.attention.key_length": meta.u32(32),
      "llama.attention.value_length": meta.u32(32),
      "llama.rope.dimension_count": meta.u32(32),
    }, 32),
  ],
];

for (const [name, variant] of VARIANTS) {
  Deno.test(`${name}: WASM and ONNX logits match llama.cpp's`, async () => {
    const all = LONG_PROMPT.map((_, i) => i);
    const ref = await llamaCppLogits(variant, LONG_PROMPT);
    const wasm = perPosition((await WasmLlama.load(variant)).logitsAt(LONG_PROMPT, all), ref);
    const onnxBackend = await OnnxBackend.create(variant);
    let onnx: number[];
    try {
      onnx = perPosition(await onnxBackend.logitsAt(LONG_PROMPT, all), ref);
    } finally {
      await onnxBackend.dispose();
    }
    // The variant changes the logits: the plain fixture's are far from llama.cpp's here.
    const plain = (await WasmLlama.load(fixture("f32", 5n))).logitsAt(LONG_PROMPT, all);
    const gap = Math.max(...perPosition(plain, ref));
    console.log(
      `${name}: WASM max ${Math.max(...wasm).toExponential(2)}, ONNX max ${
        Math.max(...onnx).toExponential(2)
      }, plain model ${gap.toExponential(2)}`,
    );
    assert.ok(median(wasm) < 1e-4 && Math.max(...wasm) < 0.15, `WASM ${Math.max(...wasm)}`);
    // Below the calibrated f32 llama->onnx epsilon (0.015, docs/verification.md).
    assert.ok(Math.max(...onnx) < 1e-2, `ONNX ${Math.max(...onnx)}`);
    assert.ok(gap > 100 * Math.max(...wasm, ...onnx), `plain model ${gap}`);
  });
}

Deno.test("partial rotary dimensions are refused by every backend, as llama.cpp refuses them", async () => {
  const partial = llamaVariant({ "llama.rope.dimension_count": meta.u32(8) });
  const unsupportedRope = (e: unknown) =>
    e instanceof UnsupportedModelError && e.code === "model/unsupported-rope";
  await assert.rejects(WasmLlama.load(partial), unsupportedRope);
  assert.throws(() => exportOnnx(partial), unsupportedRope);
  await assert.rejects(llamaCppLogits(partial, [1]), /invalid n_rot/);
});

Deno.test("logits at a position do not depend on which other positions are requested", async () => {
  for (const dtype of ["f32", "q8_0"] as const) {
    const m = await WasmLlama.load(fixture(dtype));
    const all = m.logitsAt(PROMPT, ALL);
    const some = m.logitsAt(PROMPT, [13, 2, 2, 17, 0]);
    assert.deepEqual(some, [all[13], all[2], all[2], all[17], all[0]]);
    // A prefix sees only its own tokens (causal): same logits as the full sequence there.
    const prefix = m.logitsAt(PROMPT.slice(0, 7), [6, 5]);
    assert.deepEqual(prefix, [all[6], all[5]]);
    // Longer than one 32-token tile, odd length: the same rows either way.
    const long = Array.from({ length: 71 }, (_, i) => (i * 53 + 7) % m.vocabSize);
    const full = m.logitsAt(long, long.map((_, i) => i));
    assert.deepEqual(m.logitsAt(long, [70, 33, 31, 0]), [full[70], full[33], full[31], full[0]]);
    assert.deepEqual(m.logitsAt(long.slice(0, 40), [39]), [full[39]]);
    assert.equal(all[0].length, m.vocabSize);
  }
});

Deno.test("different models and different tokens give different logits", async () => {
  const a = await WasmLlama.load(fixture("f16", 1n));
  const b = await WasmLlama.load(fixture("f16", 2n));
  const la = a.logitsAt(PROMPT, [10])[0];
  assert.notDeepEqual(la, b.logitsAt(PROMPT, [10])[0]);
  const swapped = PROMPT.slice();
  swapped[3] = 99;
  assert.notDeepEqual(la, a.logitsAt(swapped, [10])[0]);
});

function rewrite(
  f: GGUFFile,
  drop: string,
  change?: (name: string) => number | undefined,
): Uint8Array {
  const tensors = f.tensors.filter((t) => t.name !== drop).map((t) => ({
    name: t.name,
    type: (change?.(t.name) ?? t.type) as 0 | 1 | 8,
    dims: t.dims,
    values: tensorToF32(t),
  }));
  return writeGGUF([...f.metadata.entries()], tensors);
}

Deno.test("a model without output.weight uses the token embeddings as output head", async () => {
  const f = readGGUF(fixture("f32"));
  const tied = rewrite(f, "output.weight");
  const m = await WasmLlama.load(tied, { mirrorLlamaCpp: false });
  const got = m.logitsAt(PROMPT, [4, 9]);
  const ref = refForward(tied, PROMPT, false);
  assert.ok(compare(got, [ref[4], ref[9]]).maxDiff < 1e-4);
});

Deno.test("mixed tensor types in one model run (q8_0 layers, f16 head)", async () => {
  const f = readGGUF(fixture("f32"));
  const mixed = rewrite(
    f,
    "",
    (
      n,
    ) => (n === "output.weight" ? 1 : n.startsWith("blk.") && !n.includes("norm") ? 8 : undefined),
  );
  const m = await WasmLlama.load(mixed);
  const got = m.logitsAt(PROMPT, ALL);
  const ref = refForward(mixed, PROMPT, true);
  const { maxDiff } = compare(got, ref);
  const plain = compare(got, refForward(mixed, PROMPT, false));
  assert.ok(maxDiff < 0.1 && maxDiff < plain.maxDiff, `max abs diff ${maxDiff} (${plain.maxDiff})`);
  // The kernel's top token is the reference's, or within the measured noise of it.
  got.forEach((row, i) => assert.ok(ref[i][argmax(ref[i])] - ref[i][argmax(row)] <= 2 * maxDiff));
});

Deno.test("bad tokens, positions and models give typed errors", async () => {
  const m = await WasmLlama.load(fixture("f32"));
  assert.throws(() => m.logitsAt([1, m.vocabSize], [0]), RangeError);
  assert.throws(() => m.logitsAt([1, -1], [0]), RangeError);
  assert.throws(() => m.logitsAt([1, 2.5], [0]), RangeError);
  assert.throws(() => m.logitsAt([1, 2], [2]), RangeError);
  assert.throws(() => m.logitsAt([], [0]), RangeError);
  assert.deepEqual(m.logitsAt([1, 2], []), []);
  m.free();
  assert.throws(() => m.logitsAt([1], [0]), { code: "kernel/freed" });

  const f = readGGUF(fixture("f32"));
  const noArch = writeGGUF(
    [...f.metadata.entries()].map(([k, v]) =>
      k === "general.architecture" ? [k, { ...v, value: "gpt2" }] : [k, v]
    ),
    [],
  );
  await assert.rejects(WasmLlama.load(noArch), UnsupportedModelError);
  await assert.rejects(WasmLlama.load(rewrite(f, "blk.1.ffn_up.weight")), {
    name: "UnsupportedModelError",
    code: "model/missing-tensor",
  });
  await assert.rejects(WasmLlama.load(new Uint8Array(100)), { name: "DecodeError" });

  // The same file with one tensor's type field rewritten to Q4_0 (its data still fits).
  const q4 = fixture("q8_0").slice();
  const name = new TextEncoder().encode("blk.0.attn_q.weight");
  const at = q4.findIndex((_, i) => name.every((b, j) => q4[i + j] === b));
  const dv = new DataView(q4.buffer);
  const typeAt = at + name.length + 4 + 8 * dv.getUint32(at + name.length, true);
  assert.equal(dv.getUint32(typeAt, true), GGMLType.Q8_0);
  dv.setUint32(typeAt, 2, true);
  await assert.rejects(WasmLlama.load(q4), {
    name: "UnsupportedModelError",
    code: "model/unsupported-tensor-type",
  });
});

Deno.test("kernel expf, sinf, cosf are within one f32 ulp of f64 math", async () => {
  const k = instantiateKernel(await kernelModule());
  const ulp = (x: number) => {
    const a = Math.abs(Math.fround(x));
    const f = new Float32Array([a]);
    const u = new Uint32Array(f.buffer);
    u[0] += 1;
    return Math.max(f[0] - a, 2 ** -149);
  };
  let exact = 0;
  let n = 0;
  for (let i = 0; i < 4000; i++) {
    const x = Math.fround(-100 + i * 0.047);
    const want = Math.fround(Math.exp(x));
    const got = k.kernel_expf(x);
    assert.ok(Math.abs(got - want) <= ulp(want), `expf(${x}) = ${got}, want ${want}`);
    for (const [fn, ref] of [[k.kernel_sinf, Math.sin], [k.kernel_cosf, Math.cos]] as const) {
      const y = Math.fround(i * 0.37 - 700);
      const w = Math.fround(ref(y));
      const gv = fn(y);
      assert.ok(Math.abs(gv - w) <= ulp(w), `${ref.name}(${y}) = ${gv}, want ${w}`);
      n++;
      if (gv === w) exact++;
    }
  }
  assert.ok(exact / n > 0.99, `correctly rounded ${exact}/${n}`);
  assert.equal(k.kernel_expf(200), Infinity);
  assert.equal(k.kernel_expf(-200), 0);
});

Deno.test("kernel f16 conversion rounds to nearest even like gguf.ts", async () => {
  const k = instantiateKernel(await kernelModule());
  const vals = [
    0,
    -0,
    1,
    -1,
    65504,
    65519.99,
    65520,
    1e-8,
    5.96e-8,
    2.98e-8,
    2.9802322387695312e-8,
    6.1e-5,
    6.097555160522461e-5,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    Infinity,
    -Infinity,
    3.14159,
  ];
  for (let i = 0; i < 2000; i++) vals.push(Math.fround(Math.sin(i) * 10 ** ((i % 13) - 8)));
  for (const v of vals) assert.equal(k.kernel_f32_to_f16(v), f32ToF16(v), `f16(${v})`);
  for (let h = 0; h < 0x10000; h += 7) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff)) continue; // NaN payloads
    assert.equal(k.kernel_f16_to_f32(h), f16round(k.kernel_f16_to_f32(h)));
    assert.equal(k.kernel_f32_to_f16(k.kernel_f16_to_f32(h)), h);
  }
});

/** Stored bytes of `w` as ggml type `type`, and the values they hold. */
function storeWeights(w: Float32Array, type: number): [Uint8Array, Float32Array] {
  if (type === GGMLType.F32) return [new Uint8Array(w.buffer.slice(0)), w];
  if (type === GGMLType.F16) {
    const h = Uint16Array.from(w, (v) => f32ToF16(v));
    return [new Uint8Array(h.buffer), Float32Array.from(w, f16round)];
  }
  const bytes = new Uint8Array((w.length / 32) * 34);
  const vals = new Float32Array(w.length);
  for (let b = 0; b < w.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(w[b * 32 + i]));
    const d = Math.fround(amax / 127);
    const dh = f32ToF16(d);
    bytes[b * 34] = dh & 0xff;
    bytes[b * 34 + 1] = dh >> 8;
    for (let i = 0; i < 32; i++) {
      const q = d === 0 ? 0 : Math.round(w[b * 32 + i] / d);
      bytes[b * 34 + 2 + i] = q & 0xff;
      vals[b * 32 + i] = Math.fround(f16round(d) * q);
    }
  }
  return [bytes, vals];
}

Deno.test("kernel matmul handles row tails and every token-tile remainder", async () => {
  const k = instantiateKernel(await kernelModule());
  const cases: [number, number, number, number][] = [
    [7, 3, 1, GGMLType.F32],
    [13, 5, 6, GGMLType.F32],
    [64, 9, 37, GGMLType.F32],
    [13, 5, 6, GGMLType.F16],
    [64, 9, 70, GGMLType.F16],
    [32, 1, 3, GGMLType.Q8_0],
    [96, 7, 70, GGMLType.Q8_0],
  ];
  for (const [nIn, nOut, t, type] of cases) {
    const w0 = Float32Array.from({ length: nIn * nOut }, (_, i) => Math.sin(i * 1.3));
    const [stored, w] = storeWeights(w0, type);
    const x = Float32Array.from({ length: nIn * t }, (_, i) => Math.cos(i * 0.7));
    const mark = k.kernel_mark();
    const wp = kernelAlloc(k, stored.byteLength);
    const xp = kernelAlloc(k, x.byteLength);
    const yp = kernelAlloc(k, nOut * t * 4);
    new Uint8Array(k.memory.buffer, wp, stored.length).set(stored);
    new Float32Array(k.memory.buffer, xp, x.length).set(x);
    for (const mirror of [0, 1]) {
      assert.equal(k.kernel_matmul(wp, type, xp, t, nIn, nOut, yp, mirror), 0);
      const y = new Float32Array(k.memory.buffer, yp, nOut * t).slice();
      for (let i = 0; i < t; i++) {
        let xi = Array.from(x.subarray(i * nIn, (i + 1) * nIn));
        if (mirror && type === GGMLType.F16) xi = xi.map(f16round);
        if (mirror && type === GGMLType.Q8_0) xi = q8Round(xi);
        for (let r = 0; r < nOut; r++) {
          let s = 0;
          for (let j = 0; j < nIn; j++) s += w[r * nIn + j] * xi[j];
          const at = `type ${type} mirror ${mirror} y[${i}][${r}] = ${y[i * nOut + r]}, want ${s}`;
          assert.ok(Math.abs(y[i * nOut + r] - s) < 1e-4, at);
        }
      }
    }
    assert.equal(k.kernel_matmul(wp, 2, xp, t, nIn, nOut, yp, 0), -1, "Q4_0 unsupported");
    k.kernel_reset(mark);
  }
});
