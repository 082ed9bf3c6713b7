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
   * by default every core where the runtime allows it ({@link defaultKernelThreads}). Also
   * installs the kernel's noise block hasher in the sampler (noise_kernel.ts).
   */
  static async create(gguf: Uint8Array, options: WasmLlamaOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? defaultKernelThreads();
    await installKernelNoiseHasher(options);
    return new WasmBackend(await WasmLlama.load(gguf, { ...options, threads }));
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
