/**
 * @module Deterministic random llama-architecture fixture models (no weights can be downloaded, so
 * the project makes its own). Same options => same bytes, on every platform: values come from
 * integer-only xoshiro128** streams keyed per tensor by
 * `SHA256("camelid/fixture" || seed u64 LE || tensor name)` and are scaled by exact f32 steps.
 *
 * Vocabulary (SentencePiece-style, `tokenizer.ggml.model = "llama"`, no space prefix):
 * 0 `<unk>`, 1 `<s>` (BOS), 2 `</s>` (EOS), 3..258 the byte tokens `<0x00>`..`<0xFF>`, 259 `▁`
 * (space), then synthetic normal tokens up to `vocab`. Text round-trips through it exactly.
 *
 * With `vocabulary` (`model fixture --vocab FILE.gguf`) the fixture takes a real vocabulary instead:
 * every `tokenizer.*` entry of that GGUF (tokens, merges, pre-tokenizer, special ids, chat template),
 * so tests and benches run on Llama 3's or Qwen's 128k-150k tokens.
 *
 * Channel 0 of the residual stream is a constant: every token embedding has 1.0 there and no layer
 * writes to it (attn_output and ffn_down have a zero row 0). The output row of EOS takes `eosBias`
 * in that channel, so `eosBias` raises the end token's logit by `eosBias * h0`, where h0 is the
 * final RMS-normed constant channel (about 1 / rms(residual)).
 */

import { sha256 } from "../chain/hash.ts";
import { ggufMetadata } from "../client/tokenizer/mod.ts";
import {
  GGMLType,
  type GGUFMetadata,
  type GGUFMetadataEntry,
  GGUFValueType,
} from "../verifier-wasm/gguf.ts";
import {
  meta,
  type TensorSpec,
  type WritableTensorType,
  writeGGUF,
} from "../verifier-wasm/gguf_writer.ts";
import { readModelHeader } from "./model_file.ts";

/** Fixture sizes. */
export type FixtureSize = "tiny" | "small";
/** Fixture storage types. */
export type FixtureDtype = "f32" | "f16" | "q8_0";

/** Hyper-parameters of a fixture size. */
export interface FixtureShape {
  /** Transformer blocks. */
  layers: number;
  /** Embedding width. */
  embd: number;
  /** Feed-forward width. */
  ff: number;
  /** Attention heads. */
  heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`). */
  kvHeads: number;
  /** Trained context length written to the metadata. */
  context: number;
}

/** Shapes of the two fixture sizes. */
export const FIXTURE_SHAPES: Readonly<Record<FixtureSize, FixtureShape>> = {
  tiny: { layers: 2, embd: 64, ff: 192, heads: 4, kvHeads: 2, context: 1024 },
  small: { layers: 8, embd: 512, ff: 1408, heads: 8, kvHeads: 4, context: 2048 },
};

/** Token ids of the fixture vocabulary. */
export const FIXTURE_TOKENS = {
  unk: 0,
  bos: 1,
  eos: 2,
  firstByte: 3,
  space: 259,
  /** Size of the byte-level vocabulary. */
  byteVocab: 260,
} as const;

/** Options of {@link makeFixture}. */
export interface FixtureOptions {
  /** Model size. */
  size: FixtureSize;
  /** Storage type of the matrices (norm vectors stay F32). */
  dtype: FixtureDtype;
  /** Seed, 0 <= seed < 2^64. */
  seed: bigint;
  /** Vocabulary size, at least 260 (default 260: bytes plus specials). */
  vocab?: number;
  /**
   * A real vocabulary instead of the synthetic one: the metadata of a GGUF (a model or a
   * vocabulary-only file) whose `tokenizer.*` entries are copied; the vocabulary size follows it.
   */
  vocabulary?: GGUFMetadata;
  /** `tokenizer.chat_template` to write (replaces the vocabulary's). */
  chatTemplate?: string;
  /** Added weight of EOS on the constant channel (default 0). */
  eosBias?: number;
}

const RMS_EPS = 1e-5;
const ROPE_BASE = 10000;
const FILE_TYPE: Record<FixtureDtype, number> = { f32: 0, f16: 1, q8_0: 7 };
const TENSOR_TYPE: Record<FixtureDtype, WritableTensorType> = {
  f32: GGMLType.F32,
  f16: GGMLType.F16,
  q8_0: GGMLType.Q8_0,
};

/** xoshiro128** stream seeded from SHA-256 of the fixture seed and a tensor name. */
class Stream {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: bigint, name: string) {
    const name8 = new TextEncoder().encode(name);
    const tag = new TextEncoder().encode("camelid/fixture");
    const buf = new Uint8Array(tag.length + 8 + name8.length);
    buf.set(tag);
    new DataView(buf.buffer).setBigUint64(tag.length, seed, true);
    buf.set(name8, tag.length + 8);
    const h = new DataView(sha256(buf).buffer);
    this.s0 = h.getUint32(0, true);
    this.s1 = h.getUint32(4, true);
    this.s2 = h.getUint32(8, true);
    this.s3 = h.getUint32(12, true);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }
  /** Next u32. */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Fills `n` values uniform on [-scale, scale): value = f32(f32((u >> 8) * 2^-23 - 1) * scale),
 * u the next u32 (an exact dyadic step, so identical everywhere).
 */
function uniform(stream: Stream, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  const s = Math.fround(scale);
  for (let i = 0; i < n; i++) out[i] = ((stream.next() >>> 8) * 2 ** -23 - 1) * s;
  return out;
}

/** Token strings, types and scores of the fixture vocabulary of `vocab` entries. */
export function fixtureVocab(vocab: number): { tokens: string[]; types: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6);
  }
  tokens.push("\u2581");
  types.push(1);
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (let i = 0; tokens.length < vocab; i++) {
    // Synthetic normal tokens: "▁" + base-26 word of length >= 2 (all distinct).
    let n = i + 26 * 26 + 26;
    let w = "";
    while (n > 0) {
      w = letters[n % 26] + w;
      n = Math.floor(n / 26);
    }
    tokens.push("\u2581" + w);
    types.push(1);
  }
  return { tokens, types };
}

/** Builds the fixture model described by `opts` as GGUF bytes. */
export function makeFixture(opts: FixtureOptions): Uint8Array {
  const shape = FIXTURE_SHAPES[opts.size];
  if (!shape) throw new RangeError(`unknown fixture size ${String(opts.size)} (tiny or small)`);
  const ttype = TENSOR_TYPE[opts.dtype];
  if (ttype === undefined) {
    throw new RangeError(`unknown fixture dtype ${String(opts.dtype)} (f32, f16 or q8_0)`);
  }
  if (typeof opts.seed !== "bigint" || opts.seed < 0n || opts.seed >= 1n << 64n) {
    throw new RangeError("fixture seed must be a bigint in [0, 2^64)");
  }
  const tokenizer = opts.vocabulary
    ? realTokenizer(opts.vocabulary, opts.chatTemplate)
    : syntheticTokenizer(opts.vocab ?? FIXTURE_TOKENS.byteVocab, opts.chatTemplate);
  const { vocab, eos } = tokenizer;
  const eosBias = opts.eosBias ?? 0;
  if (!Number.isFinite(eosBias)) throw new RangeError("eos bias must be finite");
  const { layers, embd, ff, heads, kvHeads, context } = shape;
  const headDim = embd / heads;
  const kvDim = headDim * kvHeads;

  const tensors: TensorSpec[] = [];
  const mat = (name: string, inDim: number, outDim: number, scale: number, zeroRow0 = false) => {
    const values = uniform(new Stream(opts.seed, name), inDim * outDim, scale);
    if (zeroRow0) values.fill(0, 0, inDim);
    tensors.push({ name, type: ttype, dims: [inDim, outDim], values });
  };
  const ones = (name: string, n: number) =>
    tensors.push({ name, type: GGMLType.F32, dims: [n], values: new Float32Array(n).fill(1) });

  // Uniform on [-a, a) has std a / sqrt(3): a = sqrt(3 / fan_in) gives unit-gain layers.
  const gain = (fanIn: number) => Math.sqrt(3 / fanIn);
  const embdValues = uniform(new Stream(opts.seed, "token_embd.weight"), embd * vocab, 1.7);
  for (let t = 0; t < vocab; t++) embdValues[t * embd] = 1;
  tensors.push({ name: "token_embd.weight", type: ttype, dims: [embd, vocab], values: embdValues });
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`;
    ones(p + "attn_norm.weight", embd);
    mat(p + "attn_q.weight", embd, embd, gain(embd));
    mat(p + "attn_k.weight", embd, kvDim, gain(embd));
    mat(p + "attn_v.weight", embd, kvDim, gain(embd));
    mat(p + "attn_output.weight", embd, embd, gain(embd) * 0.5, true);
    ones(p + "ffn_norm.weight", embd);
    mat(p + "ffn_gate.weight", embd, ff, gain(embd));
    mat(p + "ffn_up.weight", embd, ff, gain(embd));
    mat(p + "ffn_down.weight", ff, embd, gain(ff) * 0.5, true);
  }
  ones("output_norm.weight", embd);
  const out = uniform(new Stream(opts.seed, "output.weight"), embd * vocab, 3 * gain(embd));
  for (let t = 0; t < vocab; t++) out[t * embd] = 0;
  if (eos >= 0) out[eos * embd] = eosBias;
  tensors.push({ name: "output.weight", type: ttype, dims: [embd, vocab], values: out });

  const metadata: [string, ReturnType<typeof meta.u32>][] = [
    ["general.architecture", meta.str("llama")],
    [
      "general.name",
      meta.str(`camelid-fixture-${opts.size}-${opts.dtype}-${opts.seed}${tokenizer.nameSuffix}`),
    ],
    ["general.file_type", meta.u32(FILE_TYPE[opts.dtype])],
    ["llama.context_length", meta.u32(context)],
    ["llama.embedding_length", meta.u32(embd)],
    ["llama.block_count", meta.u32(layers)],
    ["llama.feed_forward_length", meta.u32(ff)],
    ["llama.attention.head_count", meta.u32(heads)],
    ["llama.attention.head_count_kv", meta.u32(kvHeads)],
    ["llama.rope.dimension_count", meta.u32(headDim)],
    ["llama.rope.freq_base", meta.f32(ROPE_BASE)],
    ["llama.attention.layer_norm_rms_epsilon", meta.f32(RMS_EPS)],
    ["llama.vocab_size", meta.u32(vocab)],
    ...tokenizer.entries,
  ];
  return writeGGUF(metadata, tensors);
}

/** The tokenizer part of a fixture: metadata entries, size, EOS id, and a name suffix. */
interface FixtureTokenizer {
  entries: [string, GGUFMetadataEntry][];
  vocab: number;
  eos: number;
  nameSuffix: string;
}

function syntheticTokenizer(vocab: number, chatTemplate?: string): FixtureTokenizer {
  if (!Number.isInteger(vocab) || vocab < FIXTURE_TOKENS.byteVocab || vocab > 1 << 18) {
    throw new RangeError(`fixture vocab must be an integer in [260, 262144], got ${vocab}`);
  }
  const { tokens, types } = fixtureVocab(vocab);
  const entries: [string, GGUFMetadataEntry][] = [
    ["tokenizer.ggml.model", meta.str("llama")],
    ["tokenizer.ggml.tokens", meta.array(GGUFValueType.STRING, tokens)],
    ["tokenizer.ggml.scores", meta.array(GGUFValueType.FLOAT32, tokens.map(() => 0))],
    ["tokenizer.ggml.token_type", meta.array(GGUFValueType.INT32, types)],
    ["tokenizer.ggml.bos_token_id", meta.u32(FIXTURE_TOKENS.bos)],
    ["tokenizer.ggml.eos_token_id", meta.u32(FIXTURE_TOKENS.eos)],
    ["tokenizer.ggml.unknown_token_id", meta.u32(FIXTURE_TOKENS.unk)],
    ["tokenizer.ggml.add_bos_token", meta.bool(true)],
    ["tokenizer.ggml.add_eos_token", meta.bool(false)],
    ["tokenizer.ggml.add_space_prefix", meta.bool(false)],
  ];
  if (chatTemplate !== undefined) entries.push(["tokenizer.chat_template", meta.str(chatTemplate)]);
  return { entries, vocab, eos: FIXTURE_TOKENS.eos, nameSuffix: "" };
}

/**
 * Copies every `tokenizer.*` entry of a real vocabulary. The source's `general.name` is appended to
 * the fixture's name, because llama.cpp keys some token attributes on it (Phi-3's stripping).
 */
function realTokenizer(source: GGUFMetadata, chatTemplate?: string): FixtureTokenizer {
  const tokens = source.get("tokenizer.ggml.tokens");
  if (!tokens || tokens.type !== GGUFValueType.ARRAY || !Array.isArray(tokens.value)) {
    throw new RangeError("the vocabulary has no tokenizer.ggml.tokens array");
  }
  const vocab = tokens.value.length;
  if (vocab < 1 || vocab > 1 << 18) {
    throw new RangeError(`fixture vocab must have 1 to 262144 tokens, got ${vocab}`);
  }
  const entries = [...source].filter(([k]) => k.startsWith("tokenizer."));
  if (chatTemplate !== undefined) {
    const at = entries.findIndex(([k]) => k === "tokenizer.chat_template");
    const entry: [string, GGUFMetadataEntry] = ["tokenizer.chat_template", meta.str(chatTemplate)];
    if (at >= 0) entries[at] = entry;
    else entries.push(entry);
  }
  const eosValue = source.get("tokenizer.ggml.eos_token_id")?.value;
  const eos = typeof eosValue === "number" && eosValue < vocab ? eosValue : -1;
  const name = source.get("general.name")?.value;
  return { entries, vocab, eos, nameSuffix: typeof name === "string" ? `-${name}` : "" };
}

/**
 * Reads the metadata of the GGUF at `path` (only as much of the file as its header needs), for
 * {@link FixtureOptions.vocabulary}. Throws `NotFoundError` (`model/not-found`), `ModelFileError`
 * (`model/unreadable`) or `DecodeError`.
 */
export function readVocabularyMetadata(path: string): Promise<GGUFMetadata> {
  return readModelHeader(path, ggufMetadata, 1 << 24);
}
