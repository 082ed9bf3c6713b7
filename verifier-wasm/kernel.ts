/**
 * @module WASM llama prefill: reads a GGUF llama model with `gguf.ts`, places its tensors in the
 * kernel's linear memory (kernel/src/llama.rs) and returns logits at requested positions of a
 * token sequence. Runs unchanged in Deno, Node and browsers.
 *
 * By default the kernel mirrors llama.cpp's CPU backend: activations are rounded to f16 before
 * f16 matmuls and quantized to q8_0 before q8_0 matmuls, and K, V, Q and the attention weights
 * are rounded to f16 as with llama.cpp's default f16 KV cache (non-flash attention path). Set
 * `mirrorLlamaCpp: false` for a plain f32-activation forward pass. See docs/protocol.md.
 */

import { CamelidError } from "../chain/errors.ts";
import { type GGUFTensor, readGGUF, tensorToF32 } from "./gguf.ts";
import { type LlamaHParams, llamaTensor, readLlamaHParams } from "./llama_hparams.ts";
import {
  createKernel,
  kernelAlloc,
  type KernelExports,
  type KernelSource,
} from "./kernel_module.ts";
import { instantiateKernelThreads } from "./kernel_threads.ts";

/** Options of {@link WasmLlama.load}. */
export interface WasmLlamaOptions extends KernelSource {
  /** Mirror llama.cpp's activation conversions (default true; see the module doc). */
  mirrorLlamaCpp?: boolean;
  /** Threads for the prefill (default 1; more runs kernel_mt.wasm, see kernel_threads.ts). */
  threads?: number;
}

const HEADER_WORDS = 18;
const LAYER_WORDS = 16;
const ERRORS: Record<number, string> = {
  [-1]: "kernel rejected the model descriptor",
  [-2]: "kernel memory exhausted",
  [-3]: "token id out of range",
  [-4]: "position out of range",
  [-5]: "empty token or position list",
};

/** A llama model loaded into one WASM kernel instance. */
export class WasmLlama {
  /** Hyper-parameters. */
  readonly hparams: LlamaHParams;
  #k: KernelExports | null;
  #desc: number;

  private constructor(k: KernelExports, hp: LlamaHParams, desc: number) {
    this.#k = k;
    this.hparams = hp;
    this.#desc = desc;
  }

  /**
   * Loads a GGUF llama model (F32, F16 and Q8_0 tensors) into a fresh kernel instance.
   * Throws DecodeError for a malformed GGUF and UnsupportedModelError for a model it cannot run.
   */
  static async load(ggufBytes: Uint8Array, opts: WasmLlamaOptions = {}): Promise<WasmLlama> {
    const f = readGGUF(ggufBytes);
    const hp = readLlamaHParams(f);
    const k = (opts.threads ?? 1) > 1
      ? await instantiateKernelThreads(opts.threads!)
      : await createKernel(opts);
    const { nEmbd: e, nFf: ff, nHead, nHeadKv, headDim: hd, nVocab } = hp;
    const place = (t: GGUFTensor): number => {
      const p = kernelAlloc(k, t.data.length);
      new Uint8Array(k.memory.buffer, p, t.data.length).set(t.data);
      return p;
    };
    const placeNorm = (name: string): number => {
      const v = tensorToF32(llamaTensor(f, name, [e]));
      const p = kernelAlloc(k, v.length * 4);
      new Float32Array(k.memory.buffer, p, v.length).set(v);
      return p;
    };
    const words = new Uint32Array(HEADER_WORDS + LAYER_WORDS * hp.nLayer);
    const fbits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
    const emb = llamaTensor(f, "token_embd.weight", [e, nVocab]);
    const out = f.tensorsByName.has("output.weight")
      ? llamaTensor(f, "output.weight", [e, nVocab])
      : emb;
    const thetaScale = Math.fround(Math.pow(hp.ropeFreqBase, Math.fround(-2 / hp.nRot)));
    const mirror = opts.mirrorLlamaCpp ?? true;
    words.set([1, nVocab, e, hp.nLayer, nHead, nHeadKv, hd, ff, hp.nRot]);
    words[9] = fbits(hp.rmsEps);
    words[10] = fbits(thetaScale);
    words[11] = fbits(hp.ropeFreqScale);
    words[12] = mirror ? 3 : 0;
    const embPtr = place(emb);
    words.set([embPtr, emb.type, placeNorm("output_norm.weight")], 13);
    words.set([out === emb ? embPtr : place(out), out.type], 16);
    for (let l = 0; l < hp.nLayer; l++) {
      const b = `blk.${l}.`;
      const w = (name: string, dims: number[]) => {
        const t = llamaTensor(f, b + name, dims);
        return [place(t), t.type];
      };
      words.set([
        placeNorm(b + "attn_norm.weight"),
        ...w("attn_q.weight", [e, nHead * hd]),
        ...w("attn_k.weight", [e, nHeadKv * hd]),
        ...w("attn_v.weight", [e, nHeadKv * hd]),
        ...w("attn_output.weight", [nHead * hd, e]),
        placeNorm(b + "ffn_norm.weight"),
        ...w("ffn_gate.weight", [e, ff]),
        ...w("ffn_up.weight", [e, ff]),
        ...w("ffn_down.weight", [ff, e]),
      ], HEADER_WORDS + l * LAYER_WORDS);
    }
    const desc = kernelAlloc(k, words.byteLength);
    new Uint32Array(k.memory.buffer, desc, words.length).set(words);
    return new WasmLlama(k, hp, desc);
  }

  /** Vocabulary size: the length of each logits row. */
  get vocabSize(): number {
    return this.hparams.nVocab;
  }

  /**
   * Runs one prefill over `tokens` (at positions 0..n-1) and returns the logits (f32, one
   * array of vocabSize per entry) at each index of `positions`, in order. Logits at index i
   * score the token following tokens[i].
   */
  logitsAt(tokens: ArrayLike<number>, positions: ArrayLike<number>): Float32Array[] {
    const k = this.#k;
    if (!k) throw new CamelidError("kernel/freed", "WasmLlama used after free()");
    const n = tokens.length;
    if (n === 0) throw new RangeError("logitsAt needs at least one token");
    if (positions.length === 0) return [];
    for (let i = 0; i < n; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) {
        throw new RangeError(`token ${t} at index ${i} is not in [0, ${this.vocabSize})`);
      }
    }
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i];
      if (!Number.isInteger(p) || p < 0 || p >= n) {
        throw new RangeError(`position ${p} is not in [0, ${n})`);
      }
    }
    const v = this.vocabSize;
    const mark = k.kernel_mark();
    try {
      const tp = kernelAlloc(k, n * 4);
      new Uint32Array(k.memory.buffer, tp, n).set(Array.from(tokens));
      const rp = kernelAlloc(k, positions.length * 4);
      new Uint32Array(k.memory.buffer, rp, positions.length).set(Array.from(positions));
      const op = kernelAlloc(k, positions.length * v * 4);
      const rc = k.llama_prefill(this.#desc, tp, n, rp, positions.length, op);
      if (rc !== 0) {
        const msg = ERRORS[rc] ?? `kernel error ${rc}`;
        if (rc === -2) throw new RangeError(msg);
        throw new CamelidError("kernel/failed", msg);
      }
      const all = new Float32Array(k.memory.buffer, op, positions.length * v);
      const res: Float32Array[] = [];
      for (let i = 0; i < positions.length; i++) res.push(all.slice(i * v, (i + 1) * v));
      return res;
    } finally {
      k.kernel_reset(mark);
    }
  }

  /** Drops the kernel instance (its memory is released with it). Further calls throw. */
  free(): void {
    this.#k?.close?.();
    this.#k = null;
  }
}
