/**
 * @module Raw Deno FFI declarations for libllama and libggml from `@node-llama-cpp/linux-x64@3.22.1`
 * (llama.cpp tag v0.5.0 as bundled by node-llama-cpp). Struct layouts are transcribed from that
 * release's `include/llama.h` and checked at load time against the library's own default params,
 * so a library with a different layout is refused instead of being called with garbage.
 */

import { CamelidError } from "../../chain/errors.ts";

/** Errors of the llama.cpp binding (library, model, context, decode, tokens). */
export class LlamaError extends CamelidError {}

/** The node-llama-cpp release whose binaries and header this binding matches. */
export const NODE_LLAMA_CPP_VERSION = "3.22.1";

/** Field types understood by the layout helper. */
export type FieldType = "pointer" | "usize" | "i32" | "u32" | "f32" | "bool";

const SIZES: Record<FieldType, number> = { pointer: 8, usize: 8, i32: 4, u32: 4, f32: 4, bool: 1 };

/** A C struct layout: field offsets by name, total size, and the Deno FFI struct type. */
export interface StructLayout {
  /** Byte offset of each field. */
  offsets: Record<string, number>;
  /** Field types by name. */
  types: Record<string, FieldType>;
  /** sizeof(struct) with trailing padding. */
  size: number;
  /** The struct type for Deno.dlopen. */
  ffi: Deno.NativeStructType;
}

/** Computes a System V x86-64 layout for `fields` (natural alignment). */
function layout(fields: [string, FieldType][]): StructLayout {
  const offsets: Record<string, number> = {};
  const types: Record<string, FieldType> = {};
  let off = 0;
  let maxAlign = 1;
  for (const [name, type] of fields) {
    const size = SIZES[type];
    off = Math.ceil(off / size) * size;
    offsets[name] = off;
    types[name] = type;
    off += size;
    maxAlign = Math.max(maxAlign, size);
  }
  return {
    offsets,
    types,
    size: Math.ceil(off / maxAlign) * maxAlign,
    ffi: { struct: fields.map(([, t]) => t) },
  };
}

/** `struct llama_model_params` (llama.h, v0.5.0). */
export const MODEL_PARAMS: StructLayout = layout([
  ["devices", "pointer"],
  ["tensor_buft_overrides", "pointer"],
  ["n_gpu_layers", "i32"],
  ["split_mode", "i32"],
  ["load_mode", "i32"],
  ["lazy_mode", "i32"],
  ["main_gpu", "i32"],
  ["tensor_split", "pointer"],
  ["progress_callback", "pointer"],
  ["progress_callback_user_data", "pointer"],
  ["kv_overrides", "pointer"],
  ["vocab_only", "bool"],
  ["check_tensors", "bool"],
  ["use_extra_bufts", "bool"],
  ["no_host", "bool"],
  ["no_alloc", "bool"],
  ["load_mtp", "bool"],
]);

/** `struct llama_context_params` (llama.h, v0.5.0). */
export const CONTEXT_PARAMS: StructLayout = layout([
  ["n_ctx", "u32"],
  ["n_batch", "u32"],
  ["n_ubatch", "u32"],
  ["n_seq_max", "u32"],
  ["n_rs_seq", "u32"],
  ["n_outputs_max", "u32"],
  ["n_outputs_max_per_seq", "u32"],
  ["n_threads", "i32"],
  ["n_threads_batch", "i32"],
  ["ctx_type", "i32"],
  ["rope_scaling_type", "i32"],
  ["pooling_type", "i32"],
  ["attention_type", "i32"],
  ["flash_attn_type", "i32"],
  ["rope_freq_base", "f32"],
  ["rope_freq_scale", "f32"],
  ["yarn_ext_factor", "f32"],
  ["yarn_attn_factor", "f32"],
  ["yarn_beta_fast", "f32"],
  ["yarn_beta_slow", "f32"],
  ["yarn_orig_ctx", "u32"],
  ["defrag_thold", "f32"],
  ["cb_eval", "pointer"],
  ["cb_eval_user_data", "pointer"],
  ["type_k", "i32"],
  ["type_v", "i32"],
  ["abort_callback", "pointer"],
  ["abort_callback_data", "pointer"],
  ["embeddings", "bool"],
  ["offload_kqv", "bool"],
  ["no_perf", "bool"],
  ["op_offload", "bool"],
  ["swa_full", "bool"],
  ["kv_unified", "bool"],
  ["samplers", "pointer"],
  ["n_samplers", "usize"],
  ["ctx_other", "pointer"],
]);

/** `struct llama_batch` (llama.h, v0.5.0). */
export const BATCH: StructLayout = layout([
  ["n_tokens", "i32"],
  ["token", "pointer"],
  ["embd", "pointer"],
  ["pos", "pointer"],
  ["n_seq_id", "pointer"],
  ["seq_id", "pointer"],
  ["logits", "pointer"],
]);

/** `struct ggml_threadpool_params` (ggml.h): cpumask[512] bools, then these fields. */
export const THREADPOOL_PARAMS = {
  size: 528,
  offsets: { n_threads: 512, prio: 516, poll: 520, strict_cpu: 524, paused: 525 },
} as const;

/** Reads field `name` of a struct held in `bytes`. */
export function getField(l: StructLayout, bytes: Uint8Array, name: string): number | boolean {
  const off = l.offsets[name];
  if (off === undefined) throw new TypeError(`no field ${name}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (l.types[name]) {
    case "i32":
      return dv.getInt32(off, true);
    case "u32":
      return dv.getUint32(off, true);
    case "f32":
      return dv.getFloat32(off, true);
    case "bool":
      return dv.getUint8(off) !== 0;
    default:
      return Number(dv.getBigUint64(off, true));
  }
}

/** Writes field `name` of a struct held in `bytes`. */
export function setField(
  l: StructLayout,
  bytes: Uint8Array,
  name: string,
  value: number | boolean,
): void {
  const off = l.offsets[name];
  if (off === undefined) throw new TypeError(`no field ${name}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (l.types[name]) {
    case "i32":
      return dv.setInt32(off, Number(value), true);
    case "u32":
      return dv.setUint32(off, Number(value), true);
    case "f32":
      return dv.setFloat32(off, Number(value), true);
    case "bool":
      return dv.setUint8(off, value ? 1 : 0);
    default:
      return dv.setBigUint64(off, BigInt(Number(value)), true);
  }
}

/** Expected defaults of v0.5.0 (src/llama-model.cpp, src/llama-context.cpp). */
const MODEL_DEFAULTS: Record<string, number | boolean> = {
  devices: 0,
  tensor_buft_overrides: 0,
  n_gpu_layers: -1,
  split_mode: 1,
  load_mode: -1,
  lazy_mode: 1,
  main_gpu: 0,
  tensor_split: 0,
  progress_callback: 0,
  kv_overrides: 0,
  vocab_only: false,
  check_tensors: false,
  use_extra_bufts: true,
  no_host: false,
  no_alloc: false,
  load_mtp: false,
};
const CONTEXT_DEFAULTS: Record<string, number | boolean> = {
  n_ctx: 512,
  n_batch: 2048,
  n_ubatch: 512,
  n_seq_max: 1,
  n_rs_seq: 0,
  n_outputs_max: 0,
  n_outputs_max_per_seq: 1,
  n_threads: 4,
  n_threads_batch: 4,
  ctx_type: 0,
  rope_scaling_type: -1,
  pooling_type: -1,
  attention_type: -1,
  flash_attn_type: -1,
  rope_freq_base: 0,
  rope_freq_scale: 0,
  yarn_ext_factor: -1,
  yarn_attn_factor: -1,
  yarn_beta_fast: -1,
  yarn_beta_slow: -1,
  yarn_orig_ctx: 0,
  defrag_thold: -1,
  cb_eval: 0,
  type_k: 1,
  type_v: 1,
  abort_callback: 0,
  embeddings: false,
  offload_kqv: true,
  no_perf: true,
  op_offload: true,
  swa_full: true,
  kv_unified: false,
  samplers: 0,
  n_samplers: 0,
  ctx_other: 0,
};

/**
 * Checks a default-params struct returned by the library against the transcribed layout: size and
 * every known default value. Throws `LlamaError` (`llama/layout-mismatch`) naming the fields.
 */
export function checkDefaults(
  what: string,
  l: StructLayout,
  bytes: Uint8Array,
  expected: Record<string, number | boolean>,
): void {
  if (bytes.length !== l.size) {
    throw new LlamaError(
      "llama/layout-mismatch",
      `${what}: library struct is ${bytes.length} bytes, binding expects ${l.size}`,
    );
  }
  const bad = Object.entries(expected)
    .filter(([k, v]) => getField(l, bytes, k) !== v)
    .map(([k, v]) => `${k}=${getField(l, bytes, k)} (expected ${v})`);
  if (bad.length) {
    throw new LlamaError(
      "llama/layout-mismatch",
      `${what} defaults do not match llama.h of node-llama-cpp ${NODE_LLAMA_CPP_VERSION}: ` +
        bad.join(", "),
    );
  }
}

/** Checks both params structs; see {@link checkDefaults}. */
export function checkLayouts(symbols: LlamaSymbols): void {
  checkDefaults(
    "llama_model_params",
    MODEL_PARAMS,
    new Uint8Array(symbols.llama_model_default_params() as Uint8Array),
    MODEL_DEFAULTS,
  );
  checkDefaults(
    "llama_context_params",
    CONTEXT_PARAMS,
    new Uint8Array(symbols.llama_context_default_params() as Uint8Array),
    CONTEXT_DEFAULTS,
  );
}

/** libllama symbols used by the binding. */
export const LLAMA_SYMBOLS = {
  llama_backend_init: { parameters: [], result: "void" },
  llama_log_set: { parameters: ["function", "pointer"], result: "void" },
  llama_model_default_params: { parameters: [], result: MODEL_PARAMS.ffi },
  llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS.ffi },
  llama_model_load_from_file: {
    parameters: ["buffer", MODEL_PARAMS.ffi],
    result: "pointer",
    nonblocking: true,
  },
  llama_model_free: { parameters: ["pointer"], result: "void" },
  llama_init_from_model: { parameters: ["pointer", CONTEXT_PARAMS.ffi], result: "pointer" },
  llama_free: { parameters: ["pointer"], result: "void" },
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
  llama_model_n_ctx_train: { parameters: ["pointer"], result: "i32" },
  llama_model_n_embd: { parameters: ["pointer"], result: "i32" },
  llama_model_n_layer: { parameters: ["pointer"], result: "i32" },
  llama_vocab_n_tokens: { parameters: ["pointer"], result: "i32" },
  llama_vocab_bos: { parameters: ["pointer"], result: "i32" },
  llama_vocab_eos: { parameters: ["pointer"], result: "i32" },
  llama_vocab_is_eog: { parameters: ["pointer", "i32"], result: "bool" },
  llama_vocab_get_add_bos: { parameters: ["pointer"], result: "bool" },
  llama_tokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  llama_token_to_piece: {
    parameters: ["pointer", "i32", "buffer", "i32", "i32", "bool"],
    result: "i32",
  },
  llama_detokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  llama_n_ctx: { parameters: ["pointer"], result: "u32" },
  llama_n_batch: { parameters: ["pointer"], result: "u32" },
  llama_n_ubatch: { parameters: ["pointer"], result: "u32" },
  llama_set_n_threads: { parameters: ["pointer", "i32", "i32"], result: "void" },
  llama_n_threads: { parameters: ["pointer"], result: "i32" },
  llama_n_threads_batch: { parameters: ["pointer"], result: "i32" },
  llama_get_memory: { parameters: ["pointer"], result: "pointer" },
  llama_memory_clear: { parameters: ["pointer", "bool"], result: "void" },
  llama_memory_seq_rm: { parameters: ["pointer", "i32", "i32", "i32"], result: "bool" },
  llama_memory_seq_pos_max: { parameters: ["pointer", "i32"], result: "i32" },
  llama_decode: { parameters: ["pointer", BATCH.ffi], result: "i32", nonblocking: true },
  llama_get_logits_ith: { parameters: ["pointer", "i32"], result: "pointer" },
  llama_supports_gpu_offload: { parameters: [], result: "bool" },
  llama_attach_threadpool: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  llama_detach_threadpool: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libggml symbols used by the binding. */
export const GGML_SYMBOLS = {
  ggml_backend_load_all_from_path: { parameters: ["buffer"], result: "void" },
  ggml_backend_dev_count: { parameters: [], result: "usize" },
  ggml_backend_reg_by_name: { parameters: ["buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libggml-base symbols used by the binding. */
export const GGML_BASE_SYMBOLS = {
  ggml_backend_reg_get_proc_address: { parameters: ["pointer", "buffer"], result: "pointer" },
  ggml_threadpool_params_init: { parameters: ["buffer", "i32"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Signature of the CPU backend's `ggml_threadpool_new`. */
export const THREADPOOL_NEW = { parameters: ["buffer"], result: "pointer" } as const;
/** Signature of the CPU backend's `ggml_threadpool_free`. */
export const THREADPOOL_FREE = { parameters: ["pointer"], result: "void" } as const;

/** The bound libllama symbols. */
export type LlamaSymbols = Deno.DynamicLibrary<typeof LLAMA_SYMBOLS>["symbols"];
/** The bound libggml symbols. */
export type GgmlSymbols = Deno.DynamicLibrary<typeof GGML_SYMBOLS>["symbols"];
/** The bound libggml-base symbols. */
export type GgmlBaseSymbols = Deno.DynamicLibrary<typeof GGML_BASE_SYMBOLS>["symbols"];

/** NUL-terminated UTF-8 bytes of `s`. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}
