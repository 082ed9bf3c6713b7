import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { CamelidError, DecodeError, NotFoundError } from "../../chain/errors.ts";
import { FIXTURE_TOKENS, makeFixture } from "../fixture.ts";
import { writeGGUF } from "../../verifier-wasm/gguf_writer.ts";
import { GGMLType, readGGUF, tensorToF32 } from "../../verifier-wasm/gguf.ts";
import { fixtureFile, tempFile } from "../../tests/compute/fixtures.ts";
import { checkDefaults, CONTEXT_PARAMS, MODEL_PARAMS } from "./ffi.ts";
import { inspectModelFile, LlamaError, loadModel } from "./llama.ts";
import { loadLibrary, resolveLibraryDir } from "./library.ts";

const TINY = { size: "tiny", dtype: "f32", seed: 21n } as const;

function expectCode(e: unknown, cls: typeof CamelidError, code: string): true {
  assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
  assert.equal((e as CamelidError).code, code, (e as Error).message);
  return true;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

Deno.test("loads a fixture and reports its shape and special tokens", async () => {
  const model = await loadModel(fixtureFile(TINY));
  try {
    assert.equal(model.nVocab, 260);
    assert.equal(model.nEmbd, 64);
    assert.equal(model.nLayer, 2);
    assert.equal(model.nCtxTrain, 1024);
    assert.equal(model.bos, FIXTURE_TOKENS.bos);
    assert.equal(model.eos, FIXTURE_TOKENS.eos);
    assert.ok(model.isEog(FIXTURE_TOKENS.eos));
    assert.ok(!model.isEog(FIXTURE_TOKENS.space));
  } finally {
    await model.free();
  }
  assert.throws(() => model.tokenize("x"), (e) => expectCode(e, LlamaError, "llama/freed"));
});

Deno.test("tokenizer round-trips text through the byte-level vocabulary", async () => {
  const model = await loadModel(fixtureFile(TINY));
  try {
    for (const text of ["hello world", "  two  spaces ", "é ü 日本語 🦙", "a\nb\tc", ""]) {
      const tokens = model.tokenize(text, false);
      assert.equal(model.detokenize(tokens), text, JSON.stringify(text));
    }
    const withBos = model.tokenize("hi", true);
    assert.deepEqual(withBos, [FIXTURE_TOKENS.bos, 3 + 0x68, 3 + 0x69]);
    assert.equal(model.detokenize(withBos, true), "hi");
    assert.deepEqual(model.tokenize("a b", false), [3 + 0x61, FIXTURE_TOKENS.space, 3 + 0x62]);
    assert.deepEqual(model.tokenPiece(3 + 0x41), new TextEncoder().encode("A"));
    assert.throws(() => model.detokenize([260]), RangeError);
    assert.throws(() => model.tokenPiece(-1), RangeError);
  } finally {
    await model.free();
  }
  const big = await loadModel(fixtureFile({ ...TINY, vocab: 32000 }));
  try {
    assert.equal(big.nVocab, 32000);
    const text = "aab ab zz qqq the end";
    const tokens = big.tokenize(text, false);
    assert.equal(big.detokenize(tokens), text);
    // Synthetic tokens are "▁" + a word: they render as a space and lowercase letters.
    assert.match(big.detokenize([FIXTURE_TOKENS.byteVocab, 31999]), /^ [a-z]+ [a-z]+$/);
  } finally {
    await big.free();
  }
});

Deno.test("one prefill with all logits matches step-by-step decoding; trim and clear", async () => {
  for (const dtype of ["f32", "f16", "q8_0"] as const) {
    const model = await loadModel(fixtureFile({ ...TINY, dtype }));
    try {
      const ctx = model.createContext({ nCtx: 256, threads: 1 });
      const tokens = model.tokenize("the quick brown fox jumps", true);
      // Batched and one-token kernels round differently (f16/q8_0 activations): bounded, not 0.
      const tolerance = dtype === "f32" ? 1e-3 : 1e-2;
      const all = await ctx.decode(tokens, "all");
      assert.equal(all.length, tokens.length);
      assert.equal(all[0].length, 260);
      assert.equal(ctx.position, tokens.length);
      await ctx.clear();
      assert.equal(ctx.position, 0);
      for (let i = 0; i < tokens.length; i++) {
        const [row] = await ctx.decode([tokens[i]], "last");
        assert.ok(maxAbsDiff(row, all[i]) < tolerance, `${dtype} position ${i}`);
      }
      // Chosen positions only, in ascending order.
      await ctx.clear();
      const some = await ctx.decode(tokens, [4, 1]);
      assert.deepEqual(some.map((r) => r[0]), [all[1][0], all[4][0]]);
      // Trim back to 3 tokens and re-decode: same logits as the first time.
      await ctx.trim(3);
      assert.equal(ctx.position, 3);
      const again = await ctx.decode(tokens.slice(3), "all");
      assert.ok(maxAbsDiff(again[0], all[3]) < 1e-5);
      await ctx.free();
    } finally {
      await model.free();
    }
  }
});

Deno.test("decode runs off the event loop: timers fire while it is pending", async () => {
  const model = await loadModel(fixtureFile(TINY));
  try {
    const ctx = model.createContext({ nCtx: 1024, threads: 1 });
    const tokens = Array.from({ length: 1000 }, (_, i) => 3 + (i % 256));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const pending = ctx.decode(tokens, "last");
    await pending;
    clearInterval(timer);
    assert.ok(ticks > 0, "no timer ran during the decode");
  } finally {
    await model.free();
  }
});

Deno.test("bad inputs give typed errors and leave the process healthy", async () => {
  await assert.rejects(
    loadModel("/nonexistent/model.gguf"),
    (e) => expectCode(e, NotFoundError, "model/not-found"),
  );
  await assert.rejects(
    loadModel(tempFile("text.gguf", new TextEncoder().encode("definitely not a model"))),
    (e) => expectCode(e, DecodeError, "gguf/bad-magic"),
  );
  const good = makeFixture(TINY);
  await assert.rejects(
    loadModel(tempFile("cut.gguf", good.subarray(0, good.length - 5000))),
    (e) => expectCode(e, DecodeError, "gguf/truncated"),
  );
  await assert.rejects(
    loadModel(tempFile("header-cut.gguf", good.subarray(0, 3000))),
    (e) => expectCode(e, DecodeError, "gguf/truncated"),
  );
  const otherArch = replaceAscii(good, '"llama"', "llama", "gpt99");
  await assert.rejects(
    loadModel(tempFile("arch.gguf", otherArch)),
    (e) => expectCode(e, LlamaError, "llama/unsupported-architecture"),
  );
  // BF16 has F16's size, so the file stays well formed but uses an unsupported tensor type.
  const f16 = makeFixture({ ...TINY, dtype: "f16" });
  await assert.rejects(
    loadModel(tempFile("bf16.gguf", setTensorType(f16, "blk.0.attn_q.weight", 2, 30))),
    (e) => expectCode(e, LlamaError, "llama/unsupported-tensor-type"),
  );
  // Well-formed GGUF that llama.cpp refuses (a tensor is missing): its reason is in the error.
  const parsed = readGGUF(good);
  const missing = writeGGUF(
    [...parsed.metadata],
    parsed.tensors
      .filter((t) => t.name !== "blk.1.ffn_up.weight")
      .map((t) => ({ name: t.name, type: GGMLType.F32, dims: t.dims, values: tensorToF32(t) })),
  );
  await assert.rejects(
    loadModel(tempFile("missing-tensor.gguf", missing)),
    (e) =>
      expectCode(e, LlamaError, "llama/model-load-failed") &&
      /blk\.1\.ffn_up\.weight' not found/.test(String(e)),
  );
  const model = await loadModel(fixtureFile(TINY));
  try {
    const ctx = model.createContext({ nCtx: 256, threads: 1 });
    await assert.rejects(ctx.decode([5, 260]), RangeError);
    await assert.rejects(ctx.decode([-1]), RangeError);
    await assert.rejects(ctx.decode([]), RangeError);
    await assert.rejects(ctx.decode(new Array(300).fill(5)), /do not fit the context/);
    assert.equal(ctx.position, 0);
    assert.equal((await ctx.decode([1, 5]))[0].length, 260);
    assert.throws(() => model.createContext({ nCtx: 4096, threads: 1 }), RangeError);
    assert.throws(() => model.createContext({ nCtx: 64, threads: 0 }), RangeError);
  } finally {
    await model.free();
  }
});

Deno.test("library lookup errors name the problem", () => {
  assert.throws(
    () => loadLibrary({ libDir: "/nonexistent/llama-libs" }),
    (e) => expectCode(e, LlamaError, "llama/library-not-found"),
  );
  const empty = Deno.makeTempDirSync();
  try {
    assert.throws(
      () => loadLibrary({ libDir: empty }),
      (e) => expectCode(e, LlamaError, "llama/library-not-found") && /libggml/.test(String(e)),
    );
  } finally {
    Deno.removeSync(empty);
  }
  let gpuDir: string | null = null;
  try {
    gpuDir = resolveLibraryDir({ gpu: true });
  } catch (e) {
    expectCode(e, LlamaError, "llama/gpu-unavailable");
    assert.match(String(e), /linux-x64-cuda/);
  }
  if (gpuDir) assert.match(gpuDir, /linux-x64-cuda/);
});

Deno.test("layout check refuses structs whose size or defaults differ", () => {
  const lib = loadLibrary();
  const mp = new Uint8Array(lib.llama.llama_model_default_params() as Uint8Array);
  assert.equal(mp.length, MODEL_PARAMS.size);
  assert.equal(MODEL_PARAMS.size, 80);
  assert.equal(CONTEXT_PARAMS.size, 160);
  assert.throws(
    () => checkDefaults("x", MODEL_PARAMS, mp.subarray(0, 72), {}),
    (e) => expectCode(e, LlamaError, "llama/layout-mismatch"),
  );
  assert.throws(
    () => checkDefaults("x", MODEL_PARAMS, mp, { n_gpu_layers: 0 }),
    (e) => expectCode(e, LlamaError, "llama/layout-mismatch"),
  );
});

Deno.test("inspectModelFile reads only the header of a large model", async () => {
  const dir = await inspectModelFile(fixtureFile({ size: "tiny", dtype: "q8_0", seed: 1n }));
  assert.equal(dir.tensors.length, 21);
});

Deno.test("llama.cpp's log goes to logtape under camelid.llama, at debug level", async () => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { capture: (r: LogRecord) => records.push(r) },
    loggers: [
      { category: ["camelid", "llama"], lowestLevel: "debug", sinks: ["capture"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["capture"] },
    ],
  });
  try {
    const model = await loadModel(fixtureFile(TINY));
    await model.free();
  } finally {
    await reset();
  }
  const loader = records.filter((r) =>
    String(r.properties.msg ?? "").includes("llama_model_loader")
  );
  assert.ok(loader.length > 0, "no llama.cpp log line was routed");
  assert.ok(loader.every((r) => r.level === "debug"));
});

/** Replaces the GGUF string value `from` (same length as `to`) found after `key`-like text. */
function replaceAscii(bytes: Uint8Array, _what: string, from: string, to: string): Uint8Array {
  assert.equal(from.length, to.length);
  const out = bytes.slice();
  const needle = new TextEncoder().encode("general.architecture");
  const at = indexOf(out, needle);
  const v = at + needle.length + 4 + 8; // type u32, string length u64
  assert.equal(new TextDecoder().decode(out.subarray(v, v + from.length)), from);
  out.set(new TextEncoder().encode(to), v);
  return out;
}

/** Sets the ggml type of tensor `name` (with `nDims` dims) from `from` to `to`. */
function setTensorType(
  bytes: Uint8Array,
  name: string,
  nDims: number,
  to: number,
): Uint8Array {
  const out = bytes.slice();
  const needle = new TextEncoder().encode(name);
  const at = indexOf(out, needle);
  const typePos = at + needle.length + 4 + nDims * 8;
  const dv = new DataView(out.buffer);
  assert.equal(dv.getUint32(typePos, true), 1);
  dv.setUint32(typePos, to, true);
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i <= hay.length - needle.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  throw new Error("needle not found");
}
