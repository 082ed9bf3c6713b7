/**
 * @module The onnxruntime-web prefill backend: exports the GGUF model to ONNX (onnx_export.ts) and
 * runs it with the wasm execution provider (single-threaded, so it needs no worker or
 * SharedArrayBuffer), or WebGPU where a browser offers it and the caller asks for it.
 *
 * Works unchanged in Deno (npm:onnxruntime-web), in Node and in browsers from the bundled
 * `dist/verifier.mjs` (which has ORT's `.wasm` copied beside it: browsers fetch it from there, and
 * in Node this module reads it from disk). Callers may pass `wasmBinary` or `wasmPaths` instead.
 */

import * as ortWasm from "onnxruntime-web/wasm";
import type { PrefillBackend } from "./backend.ts";
import type { LlamaHParams } from "./llama_hparams.ts";
import { exportOnnx, ropeTables } from "./onnx_export.ts";

/** Options of {@link OnnxBackend.create}. */
export interface OnnxBackendOptions {
  /** Execution providers in order of preference; default `["wasm"]`. */
  executionProviders?: ("wasm" | "webgpu")[];
  /** ORT's wasm binary, for runtimes where the bundle cannot fetch it itself (Node). */
  wasmBinary?: Uint8Array;
  /** Where ORT finds its `.wasm`/`.mjs` files (a URL prefix, or per-file URLs). */
  wasmPaths?: string | { wasm?: string; mjs?: string };
}

/** ORT's wasm binary for the single-threaded, WebGPU-capable build `onnxruntime-web` bundles. */
export const ORT_WASM_FILE = "ort-wasm-simd-threaded.wasm";
/** ORT's wasm binary for the WebGPU-capable build, loaded only when WebGPU is requested. */
export const ORT_WEBGPU_WASM_FILE = "ort-wasm-simd-threaded.jsep.wasm";

type Ort = typeof ortWasm;

/**
 * In Node (not Deno), running from the bundle: ORT's `.wasm` copied beside the bundle, read from
 * disk, since the bundled ORT cannot load it by itself there. Undefined elsewhere.
 */
async function nodeWasmBinary(file: string): Promise<Uint8Array | undefined> {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  if (g.Deno !== undefined || !g.process?.versions?.node) return undefined;
  const url = new URL(`./${file}`, import.meta.url);
  if (url.protocol !== "file:") return undefined;
  // A computed specifier keeps browser bundlers from resolving node:fs.
  const spec = "node:fs/promises";
  const fs = await import(spec) as { readFile(u: URL): Promise<Uint8Array> };
  return new Uint8Array(await fs.readFile(url));
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
  #session: ortWasm.InferenceSession;
  #ort: Ort;

  private constructor(ort: Ort, session: ortWasm.InferenceSession, hparams: LlamaHParams) {
    this.#ort = ort;
    this.#session = session;
    this.hparams = hparams;
    this.vocabSize = hparams.nVocab;
  }

  /** Exports `gguf` to ONNX and opens an inference session on it. */
  static async create(gguf: Uint8Array, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const { model, hparams } = exportOnnx(gguf);
    const providers = options.executionProviders ?? ["wasm"];
    // The WebGPU build (JSEP) is large and slow to compile, so it is loaded only on request.
    const ort: Ort = providers.includes("webgpu")
      ? await import("onnxruntime-web/webgpu")
      : ortWasm;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    if (options.wasmBinary) ort.env.wasm.wasmBinary = options.wasmBinary;
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    if (!options.wasmBinary && !options.wasmPaths && !ort.env.wasm.wasmBinary) {
      const bin = await nodeWasmBinary(
        providers.includes("webgpu") ? ORT_WEBGPU_WASM_FILE : ORT_WASM_FILE,
      );
      if (bin) ort.env.wasm.wasmBinary = bin;
    }
    ort.env.logLevel = "error";
    const session = await ort.InferenceSession.create(model, {
      executionProviders: providers,
      graphOptimizationLevel: "all",
    });
    return new OnnxBackend(ort, session, hparams);
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
    const ort = this.#ort;
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
