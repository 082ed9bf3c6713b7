/**
 * @module The onnxruntime-web prefill backend: exports the GGUF model to ONNX (onnx_export.ts) and
 * runs it with the wasm execution provider (single-threaded, so it needs no worker or
 * SharedArrayBuffer), or WebGPU where a browser offers it and the caller asks for it.
 *
 * Works unchanged in Deno (npm:onnxruntime-web), in Node and in browsers from the bundled
 * `dist/verifier.mjs`. Outside a browser the bundle cannot locate ORT's `.wasm` next to itself, so
 * callers there pass `wasmBinary` (the bytes of `ort-wasm-simd-threaded.jsep.wasm`) or `wasmPaths`.
 */

import * as ort from "onnxruntime-web";
import type { PrefillBackend } from "./backend.ts";
import { exportOnnx, type LlamaHParams, ropeTables } from "./onnx_export.ts";

/** Options of {@link OnnxBackend.create}. */
export interface OnnxBackendOptions {
  /** Execution providers in order of preference; default `["wasm"]`. */
  executionProviders?: ("wasm" | "webgpu")[];
  /** ORT's wasm binary, for runtimes where the bundle cannot fetch it itself (Node). */
  wasmBinary?: Uint8Array;
  /** Where ORT finds its `.wasm`/`.mjs` files (a URL prefix, or per-file URLs). */
  wasmPaths?: string | { wasm?: string; mjs?: string };
}

function bigints(values: readonly number[]): BigInt64Array {
  return BigInt64Array.from(values, (v) => BigInt(v));
}

/** A llama model exported to ONNX and loaded into an onnxruntime-web session. */
export class OnnxBackend implements PrefillBackend {
  /** Backend name. */
  readonly name = "onnx";
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** The model's hyperparameters. */
  readonly hparams: LlamaHParams;
  #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, hparams: LlamaHParams) {
    this.#session = session;
    this.hparams = hparams;
    this.vocabSize = hparams.nVocab;
  }

  /** Exports `gguf` to ONNX and opens an inference session on it. */
  static async create(gguf: Uint8Array, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const { model, hparams } = exportOnnx(gguf);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    if (options.wasmBinary) ort.env.wasm.wasmBinary = options.wasmBinary;
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    ort.env.logLevel = "error";
    const session = await ort.InferenceSession.create(model, {
      executionProviders: options.executionProviders ?? ["wasm"],
      graphOptimizationLevel: "all",
    });
    return new OnnxBackend(session, hparams);
  }

  /** One prefill over `tokens`; the logits after each index in `positions`. */
  async logitsAt(
    tokens: readonly number[],
    positions: readonly number[],
  ): Promise<Float32Array[]> {
    const S = tokens.length;
    if (S === 0) throw new RangeError("prefill needs at least one token");
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) {
        throw new RangeError(`token id ${t} outside the vocabulary of ${this.vocabSize}`);
      }
    }
    for (const p of positions) {
      if (!Number.isInteger(p) || p < 0 || p >= S) {
        throw new RangeError(`logits position ${p} outside the sequence of ${S}`);
      }
    }
    if (positions.length === 0) return [];
    const pos = Array.from({ length: S }, (_, i) => i);
    const { cos, sin } = ropeTables(pos, this.hparams);
    const half = this.hparams.nRot / 2;
    const feeds = {
      tokens: new ort.Tensor("int64", bigints(tokens), [S]),
      positions: new ort.Tensor("int64", bigints(pos), [S]),
      rope_cos: new ort.Tensor("float32", cos, [S, half]),
      rope_sin: new ort.Tensor("float32", sin, [S, half]),
      rows: new ort.Tensor("int64", bigints(positions), [positions.length]),
    };
    const out = await this.#session.run(feeds);
    const logits = out.logits;
    try {
      const data = logits.data as Float32Array;
      const V = this.vocabSize;
      if (data.length !== positions.length * V) {
        throw new RangeError(
          `ORT returned ${data.length} logits, expected ${positions.length * V}`,
        );
      }
      return positions.map((_, i) => data.slice(i * V, (i + 1) * V));
    } finally {
      logits.dispose();
    }
  }

  /** Releases the inference session. */
  async dispose(): Promise<void> {
    await this.#session.release();
  }
}
