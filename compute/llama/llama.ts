/**
 * @module Typed wrapper over the llama.cpp FFI: models, contexts, tokenizer, batched decode with
 * logits at chosen positions, KV memory clear/trim. Decodes and model loads run as nonblocking FFI
 * calls (a native thread), so the event loop stays free; calls on one context are serialised and
 * every buffer handed to llama.cpp is kept referenced until the call completes.
 *
 * Before a model file reaches llama.cpp its header is validated with the strict GGUF reader, so bad
 * files (missing, not GGUF, truncated, unsupported architecture or tensor type) get a typed error
 * and never reach native code.
 */

import { getLogger } from "@logtape/logtape";
import { DecodeError } from "../../chain/errors.ts";
import { type GGUFDirectory, readGGUFDirectory } from "../../verifier-wasm/gguf.ts";
import {
  BATCH,
  CONTEXT_PARAMS,
  cString,
  LlamaError,
  type LlamaSymbols,
  MODEL_PARAMS,
  setField,
} from "./ffi.ts";
import { type LibraryOptions, type LlamaLibrary, loadLibrary, takeLlamaErrors } from "./library.ts";
import { readModelHeader } from "../model_file.ts";

export { LlamaError } from "./ffi.ts";

const log = getLogger(["camelid", "compute"]);

/** Architectures this binding accepts (the ones the fixtures and the verifier implement). */
export const SUPPORTED_ARCHITECTURES: readonly string[] = ["llama"];
/** ggml tensor types accepted in models (F32, F16, Q8_0). */
export const SUPPORTED_TENSOR_TYPES: readonly string[] = ["F32", "F16", "Q8_0"];

/**
 * Reads and validates the header of a GGUF model file: it must exist, parse strictly, use a
 * supported architecture and only F32/F16/Q8_0 tensors. Throws `NotFoundError`
 * (`model/not-found`), `ModelFileError` (`model/unreadable`), `DecodeError` (`gguf/...`) or
 * `LlamaError` (`llama/unsupported-*`).
 */
export async function inspectModelFile(path: string): Promise<GGUFDirectory> {
  let dir: GGUFDirectory;
  try {
    dir = await readModelHeader(path, readGGUFDirectory);
  } catch (e) {
    if (e instanceof DecodeError) {
      throw new DecodeError(e.code, `${path}: ${e.message}`, { cause: e });
    }
    throw e;
  }
  checkSupported(path, dir);
  return dir;
}

function checkSupported(path: string, dir: GGUFDirectory): void {
  const arch = dir.metadata.get("general.architecture")?.value;
  if (typeof arch !== "string") {
    throw new LlamaError("llama/unsupported-architecture", `${path} has no general.architecture`);
  }
  if (!SUPPORTED_ARCHITECTURES.includes(arch)) {
    throw new LlamaError(
      "llama/unsupported-architecture",
      `${path}: architecture ${JSON.stringify(arch)} is not supported ` +
        `(supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`,
    );
  }
  for (const t of dir.tensors) {
    if (!SUPPORTED_TENSOR_TYPES.includes(t.typeName)) {
      throw new LlamaError(
        "llama/unsupported-tensor-type",
        `${path}: tensor ${t.name} has type ${t.typeName} (supported: ` +
          `${SUPPORTED_TENSOR_TYPES.join(", ")})`,
      );
    }
  }
}

/** Options of {@link loadModel}. */
export interface ModelOptions extends LibraryOptions {
  /** Layers to offload to the GPU (only with `gpu`; default all). */
  gpuLayers?: number;
}

/** Flash attention mode. */
export type FlashAttention = "auto" | "on" | "off";

/** Options of {@link LlamaModel.createContext}. */
export interface ContextOptions {
  /** Context size in tokens (default 512, at most the model's trained context). */
  nCtx?: number;
  /** Logical batch size: most tokens per llama_decode (default 512). */
  nBatch?: number;
  /** Physical micro-batch size (default = nBatch). Fix it for reproducible results. */
  nUbatch?: number;
  /** Threads for single-token decode (required: set explicitly). */
  threads: number;
  /** Threads for batches (default = threads). */
  threadsBatch?: number;
  /** Flash attention (default "off": the same kernels on every backend). */
  flashAttention?: FlashAttention;
  /**
   * Threadpool polling level, 0 (workers sleep between graphs; default, robust on busy machines)
   * to 100 (workers spin; lowest latency on idle cores). Results do not depend on it.
   */
  poll?: number;
}

/** The threadpool functions a context needs. */
type Pools = Pick<LlamaLibrary, "newThreadpool" | "freeThreadpool">;

/** A serial queue: runs async jobs one after another. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => {});
    return next;
  }
}

/** Loads a GGUF model (validated first; see {@link inspectModelFile}). */
export async function loadModel(path: string, opts: ModelOptions = {}): Promise<LlamaModel> {
  const directory = await inspectModelFile(path);
  const lib = loadLibrary(opts);
  const params = new Uint8Array(lib.llama.llama_model_default_params() as Uint8Array);
  setField(MODEL_PARAMS, params, "n_gpu_layers", opts.gpu ? (opts.gpuLayers ?? -1) : 0);
  const pathC = cString(path);
  takeLlamaErrors();
  const ptr = await lib.llama.llama_model_load_from_file(pathC, params);
  if (!ptr) {
    const why = takeLlamaErrors().join("; ");
    throw new LlamaError(
      "llama/model-load-failed",
      `llama.cpp could not load ${path}` + (why ? `: ${why}` : ""),
    );
  }
  return new LlamaModel(lib.llama, ptr, path, directory, lib);
}

/** A loaded model: metadata, tokenizer, and a factory for contexts. */
export class LlamaModel {
  /** Vocabulary size. */
  readonly nVocab: number;
  /** Trained context length. */
  readonly nCtxTrain: number;
  /** Embedding width. */
  readonly nEmbd: number;
  /** Layer count. */
  readonly nLayer: number;
  /** Beginning-of-sequence token. */
  readonly bos: number;
  /** End-of-sequence token. */
  readonly eos: number;
  /** Whether tokenize adds BOS when `addSpecial`. */
  readonly addBos: boolean;
  private ptr: Deno.PointerObject | null;
  private readonly vocab: Deno.PointerObject;
  private readonly contexts = new Set<LlamaContext>();

  /** Use {@link loadModel}. */
  constructor(
    private readonly fns: LlamaSymbols,
    ptr: Deno.PointerObject,
    /** Path of the GGUF file. */
    readonly path: string,
    /** The validated GGUF header. */
    readonly directory: GGUFDirectory,
    private readonly pools: Pools = { newThreadpool: () => null, freeThreadpool: () => {} },
  ) {
    this.ptr = ptr;
    this.vocab = fns.llama_model_get_vocab(ptr)!;
    this.nVocab = fns.llama_vocab_n_tokens(this.vocab);
    this.nCtxTrain = fns.llama_model_n_ctx_train(ptr);
    this.nEmbd = fns.llama_model_n_embd(ptr);
    this.nLayer = fns.llama_model_n_layer(ptr);
    this.bos = fns.llama_vocab_bos(this.vocab);
    this.eos = fns.llama_vocab_eos(this.vocab);
    this.addBos = fns.llama_vocab_get_add_bos(this.vocab);
  }

  /** The native pointer; throws `LlamaError` (`llama/freed`) after {@link free}. */
  get pointer(): Deno.PointerObject {
    if (!this.ptr) throw new LlamaError("llama/freed", "model has been freed");
    return this.ptr;
  }

  /** Text to token ids (`addSpecial` adds BOS when the model asks for it). */
  tokenize(text: string, addSpecial = true, parseSpecial = false): number[] {
    this.pointer;
    const bytes = new TextEncoder().encode(text);
    let cap = bytes.length + 8;
    for (;;) {
      const out = new Int32Array(cap);
      const n = this.fns.llama_tokenize(
        this.vocab,
        bytes,
        bytes.length,
        new Uint8Array(out.buffer),
        cap,
        addSpecial,
        parseSpecial,
      );
      if (n >= 0) return Array.from(out.subarray(0, n));
      if (n === -2147483648) throw new LlamaError("llama/tokenize-failed", "tokenization overflow");
      cap = -n;
    }
  }

  /** Throws `RangeError` unless every id is an integer in [0, nVocab). */
  checkTokens(tokens: readonly number[]): void {
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.nVocab) {
        throw new RangeError(`token id ${t} is out of range [0, ${this.nVocab})`);
      }
    }
  }

  /** The bytes of one token's text piece (special tokens rendered when `special`). */
  tokenPiece(token: number, special = false): Uint8Array {
    this.pointer;
    this.checkTokens([token]);
    let cap = 32;
    for (;;) {
      const buf = new Uint8Array(cap);
      const n = this.fns.llama_token_to_piece(this.vocab, token, buf, cap, 0, special);
      if (n >= 0) return buf.subarray(0, n);
      cap = -n;
    }
  }

  /** Token ids to text (invalid UTF-8 replaced by U+FFFD). */
  detokenize(tokens: readonly number[], removeSpecial = false, unparseSpecial = false): string {
    this.pointer;
    this.checkTokens(tokens);
    const ids = Int32Array.from(tokens);
    let cap = tokens.length * 8 + 16;
    for (;;) {
      const buf = new Uint8Array(cap);
      const n = this.fns.llama_detokenize(
        this.vocab,
        new Uint8Array(ids.buffer),
        ids.length,
        buf,
        cap,
        removeSpecial,
        unparseSpecial,
      );
      if (n >= 0) return new TextDecoder().decode(buf.subarray(0, n));
      cap = -n;
    }
  }

  /** Whether `token` ends generation (EOS, EOT, ...). */
  isEog(token: number): boolean {
    this.pointer;
    return this.fns.llama_vocab_is_eog(this.vocab, token);
  }

  /** Creates an inference context. Throws `LlamaError` (`llama/context-failed`) on failure. */
  createContext(opts: ContextOptions): LlamaContext {
    const model = this.pointer;
    const threads = opts.threads;
    const threadsBatch = opts.threadsBatch ?? threads;
    for (const [k, v] of [["threads", threads], ["threadsBatch", threadsBatch]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 512) {
        throw new RangeError(`${k} must be an integer in [1, 512]`);
      }
    }
    const nCtx = opts.nCtx ?? 512;
    if (!Number.isInteger(nCtx) || nCtx < 1 || nCtx > this.nCtxTrain) {
      throw new RangeError(
        `context size must be an integer in [1, ${this.nCtxTrain}], got ${nCtx}`,
      );
    }
    const nBatch = opts.nBatch ?? Math.min(512, nCtx);
    const nUbatch = opts.nUbatch ?? nBatch;
    if (!Number.isInteger(nBatch) || nBatch < 1 || !Number.isInteger(nUbatch) || nUbatch < 1) {
      throw new RangeError("batch sizes must be positive integers");
    }
    const fa = opts.flashAttention ?? "off";
    const params = new Uint8Array(this.fns.llama_context_default_params() as Uint8Array);
    setField(CONTEXT_PARAMS, params, "n_ctx", nCtx);
    setField(CONTEXT_PARAMS, params, "n_batch", nBatch);
    setField(CONTEXT_PARAMS, params, "n_ubatch", nUbatch);
    setField(CONTEXT_PARAMS, params, "n_seq_max", 1);
    setField(CONTEXT_PARAMS, params, "n_threads", threads);
    setField(CONTEXT_PARAMS, params, "n_threads_batch", threadsBatch);
    setField(CONTEXT_PARAMS, params, "flash_attn_type", fa === "auto" ? -1 : fa === "on" ? 1 : 0);
    setField(CONTEXT_PARAMS, params, "no_perf", true);
    takeLlamaErrors();
    const ctx = this.fns.llama_init_from_model(model, params);
    if (!ctx) {
      const why = takeLlamaErrors().join("; ");
      throw new LlamaError(
        "llama/context-failed",
        "llama.cpp could not create a context" + (why ? `: ${why}` : ""),
      );
    }
    const poll = opts.poll ?? 0;
    if (!Number.isInteger(poll) || poll < 0 || poll > 100) {
      this.fns.llama_free(ctx);
      throw new RangeError("poll must be an integer in [0, 100]");
    }
    const c = new LlamaContext(this.fns, this, ctx, this.pools, poll);
    c.setThreads(threads, threadsBatch);
    this.contexts.add(c);
    return c;
  }

  /** @internal */
  forget(c: LlamaContext): void {
    this.contexts.delete(c);
  }

  /** Frees the model and every context created from it (after their pending calls). */
  async free(): Promise<void> {
    if (!this.ptr) return;
    for (const c of [...this.contexts]) await c.free();
    this.fns.llama_model_free(this.ptr);
    this.ptr = null;
  }
}

/** Which positions of a decoded batch should produce logits. */
export type LogitsSelection = "last" | "all" | "none" | readonly number[];

/** An inference context with its KV memory (one sequence). */
export class LlamaContext {
  /** Context size in tokens. */
  readonly nCtx: number;
  /** Logical batch size. */
  readonly nBatch: number;
  /** Physical micro-batch size. */
  readonly nUbatch: number;
  private ptr: Deno.PointerObject | null;
  private readonly queue = new SerialQueue();
  private nextPos = 0;
  private threadpools: Deno.PointerObject[] = [];

  /** Use {@link LlamaModel.createContext}. */
  constructor(
    private readonly fns: LlamaSymbols,
    /** The model this context runs. */
    readonly model: LlamaModel,
    ptr: Deno.PointerObject,
    private readonly pools: Pools,
    private readonly poll: number,
  ) {
    this.ptr = ptr;
    this.nCtx = fns.llama_n_ctx(ptr);
    this.nBatch = fns.llama_n_batch(ptr);
    this.nUbatch = fns.llama_n_ubatch(ptr);
  }

  /** The native pointer; throws `llama/freed` after {@link free}. */
  private get pointer(): Deno.PointerObject {
    if (!this.ptr) throw new LlamaError("llama/freed", "context has been freed");
    return this.ptr;
  }

  /** Number of tokens currently in the KV memory (the next position). */
  get position(): number {
    return this.nextPos;
  }

  /**
   * Sets decode / batch thread counts, with persistent threadpools of that size (call it only
   * while no decode is pending).
   */
  setThreads(threads: number, threadsBatch = threads): void {
    const ctx = this.pointer;
    for (const [k, v] of [["threads", threads], ["threadsBatch", threadsBatch]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 512) {
        throw new RangeError(`${k} must be an integer in [1, 512]`);
      }
    }
    this.releasePools();
    const tp = this.pools.newThreadpool(threads, this.poll);
    if (tp) {
      const tpBatch = threadsBatch === threads
        ? tp
        : this.pools.newThreadpool(threadsBatch, this.poll) ?? tp;
      this.threadpools = tpBatch === tp ? [tp] : [tp, tpBatch];
      this.fns.llama_attach_threadpool(ctx, tp, tpBatch);
    }
    this.fns.llama_set_n_threads(ctx, threads, threadsBatch);
  }

  /** Detaches and frees this context's threadpools. */
  private releasePools(): void {
    if (this.ptr && this.threadpools.length) this.fns.llama_detach_threadpool(this.ptr);
    for (const p of this.threadpools) this.pools.freeThreadpool(p);
    this.threadpools = [];
  }

  /** Current [threads, threadsBatch]. */
  threads(): [number, number] {
    const p = this.pointer;
    return [this.fns.llama_n_threads(p), this.fns.llama_n_threads_batch(p)];
  }

  /**
   * Appends `tokens` at the current position and returns logits rows (copies, nVocab floats
   * each) for the selected batch indices, in ascending index order. Batches larger than nBatch are
   * split. Throws `RangeError` on bad token ids or when the context would overflow, and
   * `LlamaError` (`llama/decode-failed`) when llama.cpp fails (the memory is then trimmed back).
   */
  decode(tokens: readonly number[], logits: LogitsSelection = "last"): Promise<Float32Array[]> {
    return this.queue.run(() => this.decodeNow(tokens, logits));
  }

  /** Runs one decode (called through the queue). */
  private async decodeNow(
    tokens: readonly number[],
    selection: LogitsSelection,
  ): Promise<Float32Array[]> {
    const ctx = this.pointer;
    const n = tokens.length;
    if (n === 0) throw new RangeError("decode needs at least one token");
    this.model.checkTokens(tokens);
    if (this.nextPos + n > this.nCtx) {
      throw new RangeError(
        `${this.nextPos + n} tokens do not fit the context of ${this.nCtx} tokens`,
      );
    }
    const want = new Uint8Array(n);
    if (selection === "last") want[n - 1] = 1;
    else if (selection === "all") want.fill(1);
    else if (selection !== "none") {
      for (const i of selection) {
        if (!Number.isInteger(i) || i < 0 || i >= n) {
          throw new RangeError(`logits index ${i} is outside the batch [0, ${n})`);
        }
        want[i] = 1;
      }
    }
    const nVocab = this.model.nVocab;
    const out: Float32Array[] = [];
    takeLlamaErrors();
    const start = this.nextPos;
    const seqId = new Int32Array([0]);
    for (let off = 0; off < n; off += this.nBatch) {
      const m = Math.min(this.nBatch, n - off);
      const tok = Int32Array.from(tokens.slice(off, off + m));
      const pos = Int32Array.from({ length: m }, (_, i) => start + off + i);
      const nSeq = new Int32Array(m).fill(1);
      const seqPtrs = new BigUint64Array(m).fill(
        BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(seqId))),
      );
      const flags = Int8Array.from(want.subarray(off, off + m));
      const batch = new Uint8Array(BATCH.size);
      const ptrOf = (a: ArrayBufferView) =>
        Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));
      setField(BATCH, batch, "n_tokens", m);
      setField(BATCH, batch, "token", ptrOf(tok));
      setField(BATCH, batch, "embd", 0);
      setField(BATCH, batch, "pos", ptrOf(pos));
      setField(BATCH, batch, "n_seq_id", ptrOf(nSeq));
      setField(BATCH, batch, "seq_id", ptrOf(seqPtrs));
      setField(BATCH, batch, "logits", ptrOf(flags));
      // `keep` holds every buffer the native call reads until it has finished.
      const keep = [tok, pos, nSeq, seqPtrs, flags, seqId, batch];
      const rc = await this.fns.llama_decode(ctx, batch);
      keep.length = 0;
      if (rc !== 0) {
        this.trimNow(start);
        const why = takeLlamaErrors().join("; ");
        throw new LlamaError(
          "llama/decode-failed",
          `llama_decode returned ${rc}` + (rc === 1 ? " (no KV slot: context full)" : "") +
            (why ? `: ${why}` : ""),
        );
      }
      this.nextPos = start + off + m;
      let row = 0;
      for (let i = 0; i < m; i++) {
        if (!flags[i]) continue;
        const p = this.fns.llama_get_logits_ith(ctx, i);
        if (!p) throw new LlamaError("llama/decode-failed", `no logits for batch index ${off + i}`);
        out.push(new Float32Array(Deno.UnsafePointerView.getArrayBuffer(p, nVocab * 4).slice(0)));
        row++;
      }
    }
    log.debug("decoded {n} tokens from {start}", { n, start });
    return out;
  }

  /** Removes positions >= pos from the KV memory now. */
  private trimNow(pos: number): void {
    const mem = this.fns.llama_get_memory(this.pointer);
    if (!this.fns.llama_memory_seq_rm(mem, 0, pos, -1)) {
      this.fns.llama_memory_clear(mem, true);
      this.nextPos = 0;
      return;
    }
    this.nextPos = pos;
  }

  /** Drops every token from `pos` on from the KV memory (waits for pending decodes). */
  trim(pos: number): Promise<void> {
    return this.queue.run(() => {
      if (!Number.isInteger(pos) || pos < 0 || pos > this.nextPos) {
        return Promise.reject(new RangeError(`trim position ${pos} outside [0, ${this.nextPos}]`));
      }
      this.trimNow(pos);
      return Promise.resolve();
    });
  }

  /** Empties the KV memory (waits for pending decodes). */
  clear(): Promise<void> {
    return this.queue.run(() => {
      this.fns.llama_memory_clear(this.fns.llama_get_memory(this.pointer), true);
      this.nextPos = 0;
      return Promise.resolve();
    });
  }

  /** Frees the context after pending calls; later calls throw `llama/freed`. */
  free(): Promise<void> {
    return this.queue.run(() => {
      if (this.ptr) {
        this.fns.llama_detach_threadpool(this.ptr);
        this.fns.llama_free(this.ptr);
        this.ptr = null;
        for (const p of this.threadpools) this.pools.freeThreadpool(p);
        this.threadpools = [];
        this.model.forget(this);
      }
      return Promise.resolve();
    });
  }
}
