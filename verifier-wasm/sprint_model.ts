/**
 * @module The sprint's seeded transformer on the deterministic WASM kernel: every node derives the
 * same llama-architecture model (f32 weights from SHA-256 streams of the sprint seed, see
 * chain/sprint.ts) and runs it with plain f32 activations (`mirrorLlamaCpp: false`); the output
 * vector of a nonce is the logits row at the last input position. The model is written as a GGUF
 * file, so a prover can also hand it to another backend (llama.cpp) and be judged by the same rule.
 */

import { GGMLType } from "./gguf.ts";
import { meta, type TensorSpec, writeGGUF } from "./gguf_writer.ts";
import type { SprintParams } from "../chain/params.ts";
import {
  nonceStreamLength,
  sprintDistance,
  sprintInput,
  sprintModelKey,
  sprintNonceKey,
  sprintPermutation,
  sprintTarget,
  type SprintWords,
} from "../chain/sprint.ts";
import { createKernel, type KernelSource } from "./kernel_module.ts";
import { kernelNoiseBlockHasher } from "./noise_kernel.ts";
import { WasmLlama } from "./kernel.ts";

/** RMSNorm epsilon and RoPE base of the sprint model. */
const RMS_EPS = 1e-5;
const ROPE_BASE = 10000;

/** A {@link SprintWords} on a fresh kernel instance's SHA-256 noise blocks. */
export async function kernelSprintWords(src: KernelSource = {}): Promise<SprintWords> {
  const hash = kernelNoiseBlockHasher(await createKernel(src));
  return (key, count) => {
    const blocks = Math.ceil(count / 8);
    const out = new Uint32Array(blocks * 8);
    hash(key, 0, blocks, out);
    return out.subarray(0, count);
  };
}

/**
 * The sprint model of `sprintSeed` as GGUF bytes (f32 tensors, llama metadata, tokenizer "none":
 * llama.cpp loads it without a vocabulary and runs token ids directly).
 * Tensor values are uniform on [-s, s): value = ((word >>> 8) * 2^-23 - 1) * s over the words of
 * the tensor's stream, s = sqrt(3 / fan_in) (halved for the residual writers), norms 1.
 */
export function sprintModelGGUF(
  p: SprintParams,
  sprintSeed: Uint8Array,
  words: SprintWords,
): Uint8Array {
  const { vocab, embd, layers, heads, ff } = p.model;
  const tensors: TensorSpec[] = [];
  const uniform = (name: string, n: number, scale: number): Float32Array => {
    const w = words(sprintModelKey(sprintSeed, name), n);
    const s = Math.fround(scale);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ((w[i] >>> 8) * 2 ** -23 - 1) * s;
    return out;
  };
  const mat = (name: string, inDim: number, outDim: number, scale: number) =>
    tensors.push({
      name,
      type: GGMLType.F32,
      dims: [inDim, outDim],
      values: uniform(name, inDim * outDim, scale),
    });
  const ones = (name: string) =>
    tensors.push({
      name,
      type: GGMLType.F32,
      dims: [embd],
      values: new Float32Array(embd).fill(1),
    });
  const gain = (fanIn: number) => Math.sqrt(3 / fanIn);
  mat("token_embd.weight", embd, vocab, Math.sqrt(3));
  for (let l = 0; l < layers; l++) {
    const b = `blk.${l}.`;
    ones(b + "attn_norm.weight");
    mat(b + "attn_q.weight", embd, embd, gain(embd));
    mat(b + "attn_k.weight", embd, embd, gain(embd));
    mat(b + "attn_v.weight", embd, embd, gain(embd));
    mat(b + "attn_output.weight", embd, embd, gain(embd) * 0.5);
    ones(b + "ffn_norm.weight");
    mat(b + "ffn_gate.weight", embd, ff, gain(embd));
    mat(b + "ffn_up.weight", embd, ff, gain(embd));
    mat(b + "ffn_down.weight", ff, embd, gain(ff) * 0.5);
  }
  ones("output_norm.weight");
  mat("output.weight", embd, vocab, gain(embd));
  return writeGGUF([
    ["general.architecture", meta.str("llama")],
    ["general.name", meta.str("camelid-sprint")],
    ["general.file_type", meta.u32(0)],
    ["llama.context_length", meta.u32(p.model.seqLen)],
    ["llama.embedding_length", meta.u32(embd)],
    ["llama.block_count", meta.u32(layers)],
    ["llama.feed_forward_length", meta.u32(ff)],
    ["llama.attention.head_count", meta.u32(heads)],
    ["llama.attention.head_count_kv", meta.u32(heads)],
    ["llama.rope.dimension_count", meta.u32(embd / heads)],
    ["llama.rope.freq_base", meta.f32(ROPE_BASE)],
    ["llama.attention.layer_norm_rms_epsilon", meta.f32(RMS_EPS)],
    ["llama.vocab_size", meta.u32(vocab)],
    ["tokenizer.ggml.model", meta.str("none")],
  ], tensors);
}

/** Options of {@link SprintModel.create}. */
export interface SprintModelOptions extends KernelSource {
  /** Threads of the forward pass (default 1; validators use 1). */
  threads?: number;
}

/** One sprint's model and target, loaded on the WASM kernel. */
export class SprintModel {
  /** The network's sprint parameters. */
  readonly params: SprintParams;
  /** The sprint seed (32 bytes). */
  readonly sprintSeed: Uint8Array;
  /** The target vector (centered, unit length). */
  readonly target: Float64Array;
  /** The SHA-256 word streams (on this model's own kernel instance). */
  readonly words: SprintWords;
  #llama: WasmLlama;
  #last: number[];

  private constructor(
    p: SprintParams,
    seed: Uint8Array,
    llama: WasmLlama,
    words: SprintWords,
  ) {
    this.params = p;
    this.sprintSeed = seed;
    this.#llama = llama;
    this.words = words;
    this.target = sprintTarget(p, seed, words);
    this.#last = [p.model.seqLen - 1];
  }

  /** Derives the sprint model of `sprintSeed` and loads it into a kernel instance. */
  static async create(
    p: SprintParams,
    sprintSeed: Uint8Array,
    opts: SprintModelOptions = {},
  ): Promise<SprintModel> {
    if (sprintSeed.length !== 32) throw new RangeError("sprint seed must be 32 bytes");
    const words = await kernelSprintWords(opts);
    const gguf = sprintModelGGUF(p, sprintSeed, words);
    const llama = await WasmLlama.load(gguf, { ...opts, mirrorLlamaCpp: false });
    return new SprintModel(p, Uint8Array.from(sprintSeed), llama, words);
  }

  /** A nonce's input sequence and coordinate permutation (any backend runs the tokens). */
  nonceInput(nodeSeed: Uint8Array, nonce: number): { tokens: Uint32Array; perm: Uint32Array } {
    const words = this.words(
      sprintNonceKey(this.sprintSeed, nodeSeed, nonce),
      nonceStreamLength(this.params),
    );
    return { tokens: sprintInput(this.params, words), perm: sprintPermutation(this.params, words) };
  }

  /** The output vector of a nonce: the logits at the last position of its input sequence. */
  output(nodeSeed: Uint8Array, nonce: number): { output: Float32Array; perm: Uint32Array } {
    const { tokens, perm } = this.nonceInput(nodeSeed, nonce);
    const [output] = this.#llama.logitsAt(tokens, this.#last);
    return { output, perm };
  }

  /** Distance of a nonce of the node with `nodeSeed` to the target. */
  distance(nodeSeed: Uint8Array, nonce: number): number {
    const { output, perm } = this.output(nodeSeed, nonce);
    return sprintDistance(output, perm, this.target);
  }

  /** Releases the kernel instance. */
  free(): void {
    this.#llama.free();
  }
}
