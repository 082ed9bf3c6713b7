import assert from "node:assert/strict";
import { makeFixture } from "../../compute/fixture.ts";
import { DecodeError } from "../../chain/errors.ts";
import { type GGUFFile, readGGUF, tensorToF32 } from "../../verifier-wasm/gguf.ts";
import { exportOnnx, ropeTables } from "../../verifier-wasm/onnx_export.ts";
import { readLlamaHParams, UnsupportedModelError } from "../../verifier-wasm/llama_hparams.ts";
import { OnnxBackend } from "../../verifier-wasm/onnx_backend.ts";

/** A plain f64 llama forward pass straight from the GGUF tensors: the test's independent oracle. */
function referenceLogits(file: GGUFFile, tokens: number[], rows: number[]): Float64Array[] {
  const hp = readLlamaHParams(file);
  const { nEmbd: E, nHead: H, nHeadKv: HKV, headDim: D, nFf: FF, nVocab: V } = hp;
  const w = (n: string) => tensorToF32(file.tensorsByName.get(n)!);
  const matvec = (m: Float32Array, x: Float64Array, rowsN: number, cols: number) => {
    const y = new Float64Array(rowsN);
    for (let r = 0; r < rowsN; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += m[r * cols + c] * x[c];
      y[r] = s;
    }
    return y;
  };
  const norm = (x: Float64Array, g: Float32Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const inv = 1 / Math.sqrt(ss / x.length + hp.rmsEps);
    return x.map((v, i) => v * inv * g[i]);
  };
  const rope = (v: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < D / 2; i++) {
        const th = pos * Math.pow(hp.ropeFreqBase, (-2 * i) / D);
        const a = v[h * D + 2 * i], b = v[h * D + 2 * i + 1];
        v[h * D + 2 * i] = a * Math.cos(th) - b * Math.sin(th);
        v[h * D + 2 * i + 1] = a * Math.sin(th) + b * Math.cos(th);
      }
    }
  };
  const emb = w("token_embd.weight");
  let xs = tokens.map((t) => Float64Array.from(emb.subarray(t * E, (t + 1) * E)));
  for (let l = 0; l < hp.nLayer; l++) {
    const p = `blk.${l}.`;
    const hs = xs.map((x) => norm(x, w(p + "attn_norm.weight")));
    const qs = hs.map((h, s) => {
      const q = matvec(w(p + "attn_q.weight"), h, H * D, E);
      rope(q, H, s);
      return q;
    });
    const ks = hs.map((h, s) => {
      const k = matvec(w(p + "attn_k.weight"), h, HKV * D, E);
      rope(k, HKV, s);
      return k;
    });
    const vs = hs.map((h) => matvec(w(p + "attn_v.weight"), h, HKV * D, E));
    xs = xs.map((x, s) => {
      const att = new Float64Array(H * D);
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / (H / HKV));
        const sc = Array.from({ length: s + 1 }, (_, j) => {
          let d = 0;
          for (let i = 0; i < D; i++) d += qs[s][h * D + i] * ks[j][kv * D + i];
          return d / Math.sqrt(D);
        });
        const m = Math.max(...sc);
        const e = sc.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= s; j++) {
          for (let i = 0; i < D; i++) att[h * D + i] += (e[j] / z) * vs[j][kv * D + i];
        }
      }
      const o = matvec(w(p + "attn_output.weight"), att, E, H * D);
      const x1 = x.map((v, i) => v + o[i]);
      const f = norm(x1, w(p + "ffn_norm.weight"));
      const g = matvec(w(p + "ffn_gate.weight"), f, FF, E);
      const u = matvec(w(p + "ffn_up.weight"), f, FF, E);
      const a = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
      const d = matvec(w(p + "ffn_down.weight"), a, E, FF);
      return x1.map((v, i) => v + d[i]);
    });
  }
  const out = w(hp.tiedOutput ? "token_embd.weight" : "output.weight");
  return rows.map((r) => matvec(out, norm(xs[r], w("output_norm.weight")), V, E));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const dtype of ["f32", "f16", "q8_0"] as const) {
  Deno.test(`ONNX export of a ${dtype} fixture matches an f64 reference forward pass`, async () => {
    const gguf = makeFixture({ size: "tiny", dtype, seed: 7n });
    const file = readGGUF(gguf);
    const backend = await OnnxBackend.create(gguf);
    try {
      const tokens = [1, 40, 300 % backend.vocabSize, 7, 99, 120, 33, 2, 250, 64, 5, 17];
      const rows = [0, 4, 11];
      const got = await backend.logitsAt(tokens, rows);
      const want = referenceLogits(file, tokens, rows);
      assert.equal(got.length, 3);
      for (let i = 0; i < rows.length; i++) {
        assert.equal(got[i].length, backend.vocabSize);
        const d = maxAbsDiff(got[i], want[i]);
        assert.ok(d < 2e-3, `row ${rows[i]}: max |onnx - reference| = ${d}`);
      }
    } finally {
      await backend.dispose();
    }
  });
}

Deno.test("ONNX prefill is causal: later tokens do not change earlier logits", async () => {
  const backend = await OnnxBackend.create(makeFixture({ size: "tiny", dtype: "f32", seed: 3n }));
  try {
    const tokens = [1, 10, 20, 30, 40, 50, 60];
    const [full] = await backend.logitsAt(tokens, [3]);
    const [prefix] = await backend.logitsAt(tokens.slice(0, 4), [3]);
    assert.ok(maxAbsDiff(full, prefix) < 1e-5);
    const [changed] = await backend.logitsAt([1, 10, 20, 31, 40], [3]);
    assert.ok(maxAbsDiff(full, changed) > 1e-3, "the token itself must matter");
  } finally {
    await backend.dispose();
  }
});

Deno.test("ONNX backend rejects token ids and positions out of range", async () => {
  const backend = await OnnxBackend.create(makeFixture({ size: "tiny", dtype: "f32", seed: 3n }));
  try {
    await assert.rejects(backend.logitsAt([1, backend.vocabSize], [0]), RangeError);
    await assert.rejects(backend.logitsAt([1, 2], [2]), RangeError);
    await assert.rejects(backend.logitsAt([], []), RangeError);
  } finally {
    await backend.dispose();
  }
});

Deno.test("ONNX export rejects non-GGUF bytes and non-llama models with typed errors", () => {
  assert.throws(() => exportOnnx(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), DecodeError);
  const file = readGGUF(makeFixture({ size: "tiny", dtype: "f32", seed: 1n }));
  const entry = file.metadata.get("general.architecture")!;
  file.metadata.set("general.architecture", { ...entry, value: "gpt2" });
  assert.throws(
    () => exportOnnx(file),
    (e) => e instanceof UnsupportedModelError && /gpt2/.test(e.message),
  );
});

Deno.test("rope tables follow ggml's f32 steps", () => {
  const { cos, sin } = ropeTables([0, 5], { nRot: 4, ropeFreqBase: 10000 });
  assert.deepEqual(Array.from(cos.slice(0, 2)), [1, 1]);
  assert.deepEqual(Array.from(sin.slice(0, 2)), [0, 0]);
  const scale = Math.fround(Math.pow(10000, Math.fround(-2 / 4)));
  assert.equal(cos[2], Math.fround(Math.cos(5)));
  assert.equal(sin[3], Math.fround(Math.sin(Math.fround(5 * scale))));
});
