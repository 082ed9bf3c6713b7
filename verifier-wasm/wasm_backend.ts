/**
 * @module Adapts the WASM kernel (`kernel.ts`, WasmLlama) to the verifier's PrefillBackend
 * interface. Runtime-neutral: the kernel finds `kernel.wasm` beside its module (or takes bytes).
 */

import type { PrefillBackend } from "./backend.ts";
import { WasmLlama, type WasmLlamaOptions } from "./kernel.ts";
import { defaultKernelThreads } from "./kernel_threads.ts";
import { installKernelNoiseHasher } from "./noise_kernel.ts";

/** The WASM SIMD kernel as a prefill backend. */
export class WasmBackend implements PrefillBackend {
  /** Backend name. */
  readonly name = "wasm";
  /** Vocabulary size. */
  readonly vocabSize: number;
  #model: WasmLlama;

  private constructor(model: WasmLlama) {
    this.#model = model;
    this.vocabSize = model.vocabSize;
  }

  /**
   * Loads `gguf` into a fresh kernel instance; the prefill runs on `options.threads` threads,
   * by default every core where the runtime allows it ({@link defaultKernelThreads}) and the
   * default kernel is used (one thread when the threaded kernel cannot be loaded). Also installs
   * the kernel's noise block hasher in the sampler (noise_kernel.ts).
   */
  static async create(gguf: Uint8Array, options: WasmLlamaOptions = {}): Promise<WasmBackend> {
    await installKernelNoiseHasher(options);
    if (options.threads !== undefined) return new WasmBackend(await WasmLlama.load(gguf, options));
    // A caller-supplied kernel (bytes, module, URL) has no threaded twin: one thread then.
    const threads = options.wasm || options.wasmUrl ? 1 : defaultKernelThreads();
    try {
      return new WasmBackend(await WasmLlama.load(gguf, { ...options, threads }));
    } catch (e) {
      // Where kernel_mt.wasm or the worker module cannot be loaded (e.g. a bundle run by Deno),
      // the default falls back to one thread; an explicit thread count does not.
      if (threads === 1) throw e;
      return new WasmBackend(await WasmLlama.load(gguf, { ...options, threads: 1 }));
    }
  }

  /** One prefill over `tokens`; the logits after each index in `positions`. */
  logitsAt(tokens: readonly number[], positions: readonly number[]): Promise<Float32Array[]> {
    try {
      return Promise.resolve(this.#model.logitsAt(tokens, positions));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Frees the kernel instance. */
  dispose(): void {
    this.#model.free();
  }
}
