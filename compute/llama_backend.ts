/**
 * @module llama.cpp over Deno FFI as a verifier `PrefillBackend` (`prefillLogits`: one prefill,
 * logits at chosen rows). It lives on the compute side: the verifier never imports it, and main.ts
 * hands {@link openLlamaBackend} to the `verify` command as the factory of its llama backend.
 */

import type { PrefillBackend } from "../verifier-wasm/backend.ts";
import type { BackendFactory } from "../verifier-wasm/cli.ts";
import { prefillLogits } from "./generate.ts";
import { type LlamaModel, loadModel } from "./llama/llama.ts";

/** Options of {@link LlamaBackend.create}. */
export interface LlamaBackendOptions {
  /** CPU threads for the prefill (default 1). */
  threads?: number;
}

/** A GGUF model loaded into llama.cpp, used as a prefill backend. */
export class LlamaBackend implements PrefillBackend {
  /** Backend name. */
  readonly name = "llama";
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** The loaded llama.cpp model. */
  readonly model: LlamaModel;
  #threads: number;

  private constructor(model: LlamaModel, threads: number) {
    this.model = model;
    this.vocabSize = model.nVocab;
    this.#threads = threads;
  }

  /** Loads the GGUF file at `path` into llama.cpp (CPU). */
  static async create(path: string, options: LlamaBackendOptions = {}): Promise<LlamaBackend> {
    return new LlamaBackend(await loadModel(path), options.threads ?? 1);
  }

  /** Wraps an already loaded model (the caller keeps ownership; dispose does not free it). */
  static wrap(model: LlamaModel, threads = 1): PrefillBackend {
    const b = new LlamaBackend(model, threads);
    return { name: b.name, vocabSize: b.vocabSize, logitsAt: (t, p) => b.logitsAt(t, p) };
  }

  /** One prefill over `tokens`; the logits after each index in `positions`. */
  logitsAt(tokens: readonly number[], positions: readonly number[]): Promise<Float32Array[]> {
    return prefillLogits(this.model, tokens, positions, { threads: this.#threads });
  }

  /** Frees the model. */
  async dispose(): Promise<void> {
    await this.model.free();
  }
}

/** The `verify` command's llama backend: the model file loaded into llama.cpp on the CPU. */
export const openLlamaBackend: BackendFactory = (path, options) =>
  LlamaBackend.create(path, { threads: options.threads });
