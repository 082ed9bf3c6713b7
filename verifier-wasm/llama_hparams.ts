/**
 * @module The one reader of a llama-architecture model's hyper-parameters from GGUF metadata,
 * shared by every verifier backend (the WASM kernel, the ONNX export), so they accept the same
 * models: what llama.cpp generates with and the backends run (linear rope scaling, a head size
 * other than embedding / heads included), and nothing else. Every rejection is an
 * {@link UnsupportedModelError} whose `code` says what is wrong, the same for every backend; so is
 * every tensor check ({@link llamaTensor}).
 *
 * Reading follows llama.cpp (`llama_model::load_hparams` for LLM_ARCH_LLAMA): head_count_kv
 * defaults to head_count, key_length to embedding_length / head_count, value_length to key_length,
 * rope.dimension_count to the head size, rope.freq_base to 10000; the rope scale factor is
 * rope.scaling.factor when the scaling type is not "none", else the older rope.scale_linear, and
 * the frequency scale is its inverse (1 when there is none).
 */

import { CodedError } from "../chain/errors.ts";
import { GGMLType, type GGUFDirectory, type GGUFFile, type GGUFTensor } from "./gguf.ts";

/** What is wrong with a model a verifier backend cannot run (the `code` of the error). */
export type UnsupportedModelCode =
  | "model/unsupported-architecture"
  | "model/missing-key"
  | "model/bad-hparam"
  | "model/unsupported-rope"
  | "model/unsupported-head-size"
  | "model/missing-tensor"
  | "model/bad-tensor"
  | "model/unsupported-tensor-type"
  | "model/unknown-tensor";

/** Raised for a GGUF model that is well formed but not one a verifier backend can run. */
export class UnsupportedModelError extends CodedError<UnsupportedModelCode> {}

/** Hyper-parameters of a llama-architecture model, as read from GGUF metadata and shapes. */
export interface LlamaHParams {
  /** Vocabulary size (rows of token_embd). */
  nVocab: number;
  /** Embedding width. */
  nEmbd: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Query heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention when fewer than nHead). */
  nHeadKv: number;
  /** Per-head width (key and value). */
  headDim: number;
  /** Feed-forward width. */
  nFf: number;
  /** Rotated dimensions per head (even, at most headDim). */
  nRot: number;
  /** RMSNorm epsilon (f32). */
  rmsEps: number;
  /** Rotary frequency base (f32). */
  ropeFreqBase: number;
  /** Rotary linear frequency scale: 1 / scaling factor (f32), 1 without scaling. */
  ropeFreqScale: number;
  /** Training context length (0 when the metadata does not say). */
  nCtx: number;
  /** Whether the output head is the token embedding (no output.weight tensor). */
  tiedOutput: boolean;
}

/** The largest value accepted for a count or width (guards kernel descriptor arithmetic). */
export const MAX_HPARAM = 1 << 24;

/** ggml tensor types every verifier backend reads. */
export const VERIFIER_TENSOR_TYPES: ReadonlySet<number> = new Set<number>([
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.Q8_0,
]);

type Source = GGUFDirectory | GGUFFile;

function numberKey(f: Source, key: string, fallback?: number): number {
  const e = f.metadata.get(key);
  if (e === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UnsupportedModelError("model/missing-key", `GGUF metadata lacks ${key}`);
  }
  const v = e.value;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new UnsupportedModelError("model/bad-hparam", `GGUF metadata ${key} is not a number`);
  }
  return n;
}

function countKey(f: Source, key: string, fallback?: number): number {
  const n = numberKey(f, key, fallback);
  if (!Number.isInteger(n) || n <= 0 || n > MAX_HPARAM) {
    throw new UnsupportedModelError(
      "model/bad-hparam",
      `GGUF metadata ${key} = ${n} is out of range`,
    );
  }
  return n;
}

function ropeFreqScaleOf(f: Source): number {
  const scaling = f.metadata.get("llama.rope.scaling.type")?.value ?? "none";
  if (scaling !== "none" && scaling !== "linear") {
    throw new UnsupportedModelError(
      "model/unsupported-rope",
      `rope scaling ${String(scaling)} is unsupported (none, linear)`,
    );
  }
  let factor = scaling === "none" ? 0 : numberKey(f, "llama.rope.scaling.factor", 0);
  if (factor === 0) factor = numberKey(f, "llama.rope.scale_linear", 0);
  if (factor < 0) {
    throw new UnsupportedModelError("model/bad-hparam", `rope scale factor ${factor} is negative`);
  }
  return factor > 0 ? Math.fround(1 / factor) : 1;
}

/**
 * Reads and checks the llama hyper-parameters of a parsed GGUF file (or its directory). Throws
 * {@link UnsupportedModelError} for another architecture, mixture-of-experts, a missing or out of
 * range key, rope scaling other than linear, rope frequency factors, or a misshapen token_embd.
 */
export function readLlamaHParams(f: Source): LlamaHParams {
  const arch = f.metadata.get("general.architecture")?.value;
  if (arch !== "llama") {
    throw new UnsupportedModelError(
      "model/unsupported-architecture",
      `unsupported architecture ${JSON.stringify(arch)} (llama only)`,
    );
  }
  if (numberKey(f, "llama.expert_count", 0) > 0) {
    throw new UnsupportedModelError(
      "model/unsupported-architecture",
      "mixture-of-experts llama models are unsupported",
    );
  }
  const nEmbd = countKey(f, "llama.embedding_length");
  const nLayer = countKey(f, "llama.block_count");
  const nHead = countKey(f, "llama.attention.head_count");
  const nHeadKv = countKey(f, "llama.attention.head_count_kv", nHead);
  const nFf = countKey(f, "llama.feed_forward_length");
  if (nHead % nHeadKv !== 0) {
    throw new UnsupportedModelError(
      "model/bad-hparam",
      `head_count ${nHead} is not a multiple of head_count_kv ${nHeadKv}`,
    );
  }
  const headDim = countKey(f, "llama.attention.key_length", Math.floor(nEmbd / nHead));
  if (countKey(f, "llama.attention.value_length", headDim) !== headDim) {
    throw new UnsupportedModelError(
      "model/unsupported-head-size",
      "attention value_length differs from key_length",
    );
  }
  // llama.cpp refuses a llama model whose rotary dimensions are not the head size ("invalid
  // n_rot"), so no compute node can generate with one: every backend refuses it too.
  const nRot = countKey(f, "llama.rope.dimension_count", headDim);
  if (nRot !== headDim || nRot % 2 !== 0) {
    throw new UnsupportedModelError(
      "model/unsupported-rope",
      `rope dimension_count ${nRot} must be the head size ${headDim}, and even`,
    );
  }
  if (hasTensor(f, "rope_freqs.weight")) {
    throw new UnsupportedModelError(
      "model/unsupported-rope",
      "rope frequency factors (rope_freqs.weight) are unsupported",
    );
  }
  const emb = tensorInfo(f, "token_embd.weight");
  if (!emb || emb.dims.length !== 2 || emb.dims[0] !== nEmbd) {
    throw new UnsupportedModelError(
      "model/bad-tensor",
      "token_embd.weight must have dims [n_embd, n_vocab]",
    );
  }
  return {
    nVocab: emb.dims[1],
    nEmbd,
    nLayer,
    nHead,
    nHeadKv,
    headDim,
    nFf,
    nRot,
    rmsEps: Math.fround(numberKey(f, "llama.attention.layer_norm_rms_epsilon")),
    ropeFreqBase: Math.fround(numberKey(f, "llama.rope.freq_base", 10000)),
    ropeFreqScale: ropeFreqScaleOf(f),
    nCtx: numberKey(f, "llama.context_length", 0),
    tiedOutput: !hasTensor(f, "output.weight"),
  };
}

function tensorInfo(f: Source, name: string): { dims: number[] } | undefined {
  return "tensorsByName" in f ? f.tensorsByName.get(name) : f.tensors.find((t) => t.name === name);
}

function hasTensor(f: Source, name: string): boolean {
  return tensorInfo(f, name) !== undefined;
}

/**
 * The tensor `name` of a parsed file, checked to have exactly `dims` and a type every verifier
 * backend reads (F32, F16, Q8_0; the GGUF reader already holds Q8_0 rows to whole blocks).
 * Throws {@link UnsupportedModelError}: `model/missing-tensor`, `model/bad-tensor` or
 * `model/unsupported-tensor-type`.
 */
export function llamaTensor(f: GGUFFile, name: string, dims: readonly number[]): GGUFTensor {
  const t = f.tensorsByName.get(name);
  if (!t) throw new UnsupportedModelError("model/missing-tensor", `GGUF has no tensor ${name}`);
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new UnsupportedModelError(
      "model/bad-tensor",
      `${name} has dims [${t.dims}], want [${dims}]`,
    );
  }
  if (!VERIFIER_TENSOR_TYPES.has(t.type)) {
    throw new UnsupportedModelError(
      "model/unsupported-tensor-type",
      `${name} has type ${t.typeName} (F32, F16 and Q8_0 only)`,
    );
  }
  return t;
}
