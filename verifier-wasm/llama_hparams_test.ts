import assert from "node:assert/strict";
import {
  type GGUFDirectory,
  type GGUFMetadataEntry,
  type GGUFTensorInfo,
  GGUFValueType,
} from "./gguf.ts";
import {
  type LlamaHParams,
  readLlamaHParams,
  type UnsupportedModelCode,
  UnsupportedModelError,
} from "./llama_hparams.ts";

/** Metadata of a small plain llama: 64 wide, 4 heads of 16, 2 kv heads, 300 tokens. */
const PLAIN: Record<string, string | number> = {
  "general.architecture": "llama",
  "llama.embedding_length": 64,
  "llama.block_count": 2,
  "llama.attention.head_count": 4,
  "llama.attention.head_count_kv": 2,
  "llama.feed_forward_length": 128,
  "llama.attention.layer_norm_rms_epsilon": 1e-5,
};

function entry(value: string | number): GGUFMetadataEntry {
  if (typeof value === "string") return { type: GGUFValueType.STRING, value };
  if (Number.isInteger(value)) return { type: GGUFValueType.UINT32, value };
  return { type: GGUFValueType.FLOAT32, value: Math.fround(value) };
}

function info(name: string, dims: number[]): GGUFTensorInfo {
  const elements = dims.reduce((a, b) => a * b, 1);
  return { name, type: 0, typeName: "F32", dims, elements, offset: 0, size: elements * 4 };
}

/** A GGUF directory with PLAIN's metadata changed by `changes` (undefined drops a key). */
function model(
  changes: Record<string, string | number | undefined> = {},
  tensors: GGUFTensorInfo[] = [info("token_embd.weight", [64, 300])],
): GGUFDirectory {
  const metadata = new Map<string, GGUFMetadataEntry>();
  for (const [k, v] of Object.entries({ ...PLAIN, ...changes })) {
    if (v !== undefined) metadata.set(k, entry(v));
  }
  return { version: 3, alignment: 32, dataOffset: 0, metadata, tensors };
}

function rejects(f: () => unknown, code: UnsupportedModelCode): void {
  assert.throws(f, (e) => e instanceof UnsupportedModelError && e.code === code);
}

Deno.test("a plain llama reads with llama.cpp's defaults", () => {
  const hp = readLlamaHParams(model());
  assert.deepEqual(
    hp,
    {
      nVocab: 300,
      nEmbd: 64,
      nLayer: 2,
      nHead: 4,
      nHeadKv: 2,
      headDim: 16,
      nFf: 128,
      nRot: 16,
      rmsEps: Math.fround(1e-5),
      ropeFreqBase: 10000,
      ropeFreqScale: 1,
      nCtx: 0,
      tiedOutput: true,
    } satisfies LlamaHParams,
  );
  const untied = model({}, [
    info("token_embd.weight", [64, 300]),
    info("output.weight", [64, 300]),
  ]);
  assert.equal(readLlamaHParams(untied).tiedOutput, false);
});

Deno.test("linear rope scaling reads as a frequency scale, from either key", () => {
  const byType = model({ "llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": 4 });
  const byOldKey = model({ "llama.rope.scale_linear": 4 });
  for (const m of [byType, byOldKey]) assert.equal(readLlamaHParams(m).ropeFreqScale, 0.25);
  // Scaling type "none" ignores rope.scaling.factor, as llama.cpp does.
  const none = model({ "llama.rope.scaling.type": "none", "llama.rope.scaling.factor": 4 });
  assert.equal(readLlamaHParams(none).ropeFreqScale, 1);
});

Deno.test("a head size other than width / heads is read from key_length", () => {
  const hp = readLlamaHParams(model({ "llama.attention.key_length": 32 }));
  assert.deepEqual([hp.headDim, hp.nRot], [32, 32]);
});

Deno.test("what no backend runs is refused by the reader with a code saying why", () => {
  const cases: [GGUFDirectory, UnsupportedModelCode][] = [
    [model({ "general.architecture": "gpt2" }), "model/unsupported-architecture"],
    [model({ "general.architecture": undefined }), "model/unsupported-architecture"],
    [model({ "llama.expert_count": 8 }), "model/unsupported-architecture"],
    [model({ "llama.block_count": undefined }), "model/missing-key"],
    [model({ "llama.attention.layer_norm_rms_epsilon": undefined }), "model/missing-key"],
    [model({ "llama.block_count": "two" }), "model/bad-hparam"],
    [model({ "llama.embedding_length": 0 }), "model/bad-hparam"],
    [model({ "llama.feed_forward_length": 1 << 25 }), "model/bad-hparam"],
    [model({ "llama.attention.head_count_kv": 3 }), "model/bad-hparam"],
    [model({ "llama.rope.scale_linear": -2 }), "model/bad-hparam"],
    [model({ "llama.attention.value_length": 8 }), "model/unsupported-head-size"],
    [model({ "llama.rope.scaling.type": "yarn" }), "model/unsupported-rope"],
    // Partial rotary dimensions: llama.cpp refuses them for llama ("invalid n_rot").
    [model({ "llama.rope.dimension_count": 8 }), "model/unsupported-rope"],
    [
      model({ "llama.attention.key_length": 32, "llama.rope.dimension_count": 16 }),
      "model/unsupported-rope",
    ],
    [
      model({}, [info("token_embd.weight", [64, 300]), info("rope_freqs.weight", [8])]),
      "model/unsupported-rope",
    ],
    [model({}, []), "model/bad-tensor"],
    [model({}, [info("token_embd.weight", [32, 300])]), "model/bad-tensor"],
  ];
  for (const [m, code] of cases) rejects(() => readLlamaHParams(m), code);
});
