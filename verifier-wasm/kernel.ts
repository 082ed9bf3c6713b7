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
import { GGMLType, type GGUFFile, type GGUFTensor, readGGUF, tensorToF32 } from "./gguf.ts";
import {
  instantiateKernel,
  kernelAlloc,
  type KernelExports,
  kernelModule,
  type KernelSource,
} from "./kernel_module.ts";

/** Raised for models the kernel cannot run (architecture, shapes, tensor types, metadata). */
export class KernelModelError extends CamelidError {}

/** Options of {@link WasmLlama.load}. */
export interface WasmLlamaOptions extends KernelSource {
  /** Mirror llama.cpp's activation conversions (default true; see the module doc). */
  mirrorLlamaCpp?: boolean;
}

/** Hyper-parameters the kernel runs with, as read from the GGUF metadata. */
export interface LlamaHParams {
  /** Vocabulary size (rows of token_embd). */
  nVocab: number;
  /** Embedding width. */
  nEmbd: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads. */
  nHead: number;
  /** Key/value heads. */
  nHeadKv: number;
  /** Per-head width. */
  headDim: number;
  /** Feed-forward width. */
  nFf: number;
  /** Rotated dims per head. */
  nRot: number;
  /** RMSNorm epsilon (f32). */
  rmsEps: number;
  /** RoPE frequency base (f32). */
  ropeFreqBase: number;
  /** RoPE linear frequency scale (1 / scaling factor). */
  ropeFreqScale: number;
}

const SUPPORTED = new Set<number>([GGMLType.F32, GGMLType.F16, GGMLType.Q8_0]);
const HEADER_WORDS = 18;
const LAYER_WORDS = 16;
const ERRORS: Record<number, string> = {
  [-1]: "kernel rejected the model descriptor",
  [-2]: "kernel memory exhausted",
  [-3]: "token id out of range",
  [-4]: "position out of range",
  [-5]: "empty token or position list",
};

function num(f: GGUFFile, key: string, dflt?: number): number {
  const e = f.metadata.get(key);
  if (e === undefined) {
    if (dflt !== undefined) return dflt;
    throw new KernelModelError("kernel/missing-key", `GGUF metadata lacks ${key}`);
  }
  const v = e.value;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new KernelModelError("kernel/bad-key", `GGUF metadata ${key} is not a finite number`);
  }
  return n;
}

function posInt(f: GGUFFile, key: string, dflt?: number): number {
  const n = num(f, key, dflt);
  if (!Number.isInteger(n) || n <= 0 || n > 1 << 24) {
    throw new KernelModelError("kernel/bad-key", `GGUF metadata ${key} = ${n} is out of range`);
  }
  return n;
}

/** Reads and checks the llama hyper-parameters of a parsed GGUF file. */
export function llamaHParams(f: GGUFFile): LlamaHParams {
  const arch = f.metadata.get("general.architecture")?.value;
  if (arch !== "llama") {
    throw new KernelModelError(
      "kernel/unsupported-architecture",
      `unsupported architecture ${JSON.stringify(arch)} (llama only)`,
    );
  }
  const nEmbd = posInt(f, "llama.embedding_length");
  const nLayer = posInt(f, "llama.block_count");
  const nHead = posInt(f, "llama.attention.head_count");
  const nHeadKv = posInt(f, "llama.attention.head_count_kv", nHead);
  const nFf = posInt(f, "llama.feed_forward_length");
  if (nHead % nHeadKv !== 0) {
    throw new KernelModelError(
      "kernel/bad-key",
      `head_count ${nHead} not a multiple of ${nHeadKv}`,
    );
  }
  const headDim = posInt(f, "llama.attention.key_length", Math.floor(nEmbd / nHead));
  const vDim = posInt(f, "llama.attention.value_length", headDim);
  if (vDim !== headDim) {
    throw new KernelModelError("kernel/unsupported", "key_length != value_length");
  }
  const nRot = posInt(f, "llama.rope.dimension_count", headDim);
  if (nRot % 2 !== 0 || nRot > headDim) {
    throw new KernelModelError(
      "kernel/bad-key",
      `rope dimension_count ${nRot} is not even <= ${headDim}`,
    );
  }
  const rmsEps = Math.fround(num(f, "llama.attention.layer_norm_rms_epsilon"));
  const ropeFreqBase = Math.fround(num(f, "llama.rope.freq_base", 10000));
  const scaling = f.metadata.get("llama.rope.scaling.type")?.value ?? "none";
  let factor = num(f, "llama.rope.scaling.factor", 0);
  if (scaling !== "none" && scaling !== "linear") {
    throw new KernelModelError(
      "kernel/unsupported",
      `rope scaling ${String(scaling)} (none, linear)`,
    );
  }
  if (scaling === "none") factor = 0;
  if (factor === 0) factor = num(f, "llama.rope.scale_linear", 0);
  const ropeFreqScale = factor > 0 ? Math.fround(1 / factor) : 1;
  if (f.tensorsByName.has("rope_freqs.weight")) {
    throw new KernelModelError("kernel/unsupported", "rope frequency factors are not supported");
  }
  const emb = f.tensorsByName.get("token_embd.weight");
  if (!emb || emb.dims.length !== 2 || emb.dims[0] !== nEmbd) {
    throw new KernelModelError(
      "kernel/bad-tensor",
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
    rmsEps,
    ropeFreqBase,
    ropeFreqScale,
  };
}

function tensor(f: GGUFFile, name: string, dims: number[]): GGUFTensor {
  const t = f.tensorsByName.get(name);
  if (!t) throw new KernelModelError("kernel/missing-tensor", `GGUF has no tensor ${name}`);
  const same = t.dims.length === dims.length && t.dims.every((d, i) => d === dims[i]);
  if (!same) {
    throw new KernelModelError(
      "kernel/bad-tensor",
      `${name} has dims [${t.dims}], want [${dims}]`,
    );
  }
  if (!SUPPORTED.has(t.type)) {
    throw new KernelModelError(
      "kernel/unsupported-tensor-type",
      `${name} has type ${t.typeName} (F32, F16 and Q8_0 only)`,
    );
  }
  if (t.type === GGMLType.Q8_0 && dims[0] % 32 !== 0) {
    throw new KernelModelError("kernel/bad-tensor", `${name}: Q8_0 rows must be whole blocks`);
  }
  return t;
}

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
   * Throws DecodeError for a malformed GGUF and KernelModelError for a model it cannot run.
   */
  static async load(ggufBytes: Uint8Array, opts: WasmLlamaOptions = {}): Promise<WasmLlama> {
    const f = readGGUF(ggufBytes);
    const hp = llamaHParams(f);
    const k = instantiateKernel(await kernelModule(opts));
    const { nEmbd: e, nFf: ff, nHead, nHeadKv, headDim: hd, nVocab } = hp;
    const place = (t: GGUFTensor): number => {
      const p = kernelAlloc(k, t.data.length);
      new Uint8Array(k.memory.buffer, p, t.data.length).set(t.data);
      return p;
    };
    const placeNorm = (name: string): number => {
      const v = tensorToF32(tensor(f, name, [e]));
      const p = kernelAlloc(k, v.length * 4);
      new Float32Array(k.memory.buffer, p, v.length).set(v);
      return p;
    };
    const words = new Uint32Array(HEADER_WORDS + LAYER_WORDS * hp.nLayer);
    const fbits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
    const emb = tensor(f, "token_embd.weight", [e, nVocab]);
    const out = f.tensorsByName.has("output.weight")
      ? tensor(f, "output.weight", [e, nVocab])
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
        const t = tensor(f, b + name, dims);
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
    this.#k = null;
  }
}
