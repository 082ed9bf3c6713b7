/**
 * @module Deterministic generation with llama.cpp logits and the shared sampler
 * (`verifier-wasm/sampler.ts`), producing the job record the verifier reads, plus
 * {@link prefillLogits}: logits at chosen positions from ONE prefill (RASTiC's check pass).
 *
 * Reproducibility settings (same tokens on every run and thread count on one machine):
 * - one sequence, flash attention off, F16 KV cache (llama.cpp's default);
 * - the prompt is decoded in batches of {@link GENERATION_BATCH} tokens (n_batch = n_ubatch fixed),
 *   then every output token alone; ggml's CPU kernels split work across threads by output rows,
 *   so each value is accumulated in the same order whatever the thread count;
 * - F32, F16 and Q8_0 weights all behave this way on the CPU backend. llama.cpp does not promise
 *   bitwise equality across CPU kinds (the CPU variant library ggml picks), GPU backends, other
 *   micro-batch sizes, or between one-token decode and batched prefill: those differ by float
 *   rounding only, which RASTiC's calibrated epsilon covers.
 */

import { getLogger } from "@logtape/logtape";
import { toHex } from "../chain/bytes.ts";
import {
  sampleToken,
  type SamplingParams,
  validateSamplingParams,
} from "../verifier-wasm/sampler.ts";
import { type LlamaContext, LlamaError, type LlamaModel } from "./llama/llama.ts";

const log = getLogger(["camelid", "compute"]);

/** Prompt batch and micro-batch size used for generation and prefill (fixed for determinism). */
export const GENERATION_BATCH = 512;

/** Why generation stopped. */
export type FinishReason = "stop" | "length";

/** Timings of one generation, milliseconds and tokens per second. */
export interface GenerationTimings {
  /** Prompt prefill time. */
  prefillMs: number;
  /** Time in single-token decodes. */
  decodeMs: number;
  /** Time in the sampler. */
  sampleMs: number;
  /** Whole call. */
  totalMs: number;
  /** Prompt tokens per second of prefill. */
  prefillTokensPerSecond: number;
  /** Output tokens per second (decode + sampling). */
  tokensPerSecond: number;
}

/** The job record of a generation (seed as decimal string, jobId as hex). */
export interface JobRecord {
  /** Model id (Merkle root hex) of the GGUF file. */
  modelId: string;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Output token ids; with finish "stop" the last one is the end token. */
  outputTokens: number[];
  /** "stop": an end token was sampled; "length": maxTokens reached. */
  finishReason: FinishReason;
  /** Seed, decimal. */
  seed: string;
  /** Job id, 64 hex chars. */
  jobId: string;
  /** Sampling temperature. */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off). */
  topP: number;
  /** Maximum output tokens. */
  maxTokens: number;
  /** Measured timings. */
  timings: GenerationTimings;
}

/** A generation request. */
export interface GenerateRequest {
  /** Prompt token ids (at least one). */
  promptTokens: readonly number[];
  /** Maximum output tokens (>= 1). */
  maxTokens: number;
  /** Sampling parameters (seed, jobId, temperature, topK, topP). */
  sampling: SamplingParams;
  /** CPU threads (default: 4, at most the machine's). */
  threads?: number;
  /** Called after each output token with its text bytes. */
  onToken?: (token: number, piece: Uint8Array) => void;
  /** Stops generation between tokens (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Default thread count: min(4, available cores). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

function contextSize(model: LlamaModel, needed: number): number {
  const padded = Math.ceil(needed / 256) * 256;
  return Math.min(model.nCtxTrain, Math.max(padded, 256));
}

function checkPrompt(model: LlamaModel, tokens: readonly number[], extra: number): void {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new RangeError("the prompt needs at least one token");
  }
  model.checkTokens(tokens);
  if (tokens.length + extra > model.nCtxTrain) {
    throw new LlamaError(
      "generate/prompt-too-long",
      `prompt of ${tokens.length} tokens` + (extra ? ` plus ${extra} output tokens` : "") +
        ` exceeds the model's context of ${model.nCtxTrain} tokens`,
    );
  }
}

/**
 * Generates up to `maxTokens` tokens after the prompt. Output position i (0-based) is sampled
 * from the logits after prompt + outputs[0..i) with `sampleToken(logits, sampling, i)`; an
 * end-of-generation token ends with finish "stop" (and is included), else "length".
 */
export async function generate(
  model: LlamaModel,
  modelId: string,
  req: GenerateRequest,
): Promise<JobRecord> {
  validateSamplingParams(req.sampling);
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) {
    throw new RangeError("maxTokens must be an integer >= 1");
  }
  checkPrompt(model, req.promptTokens, req.maxTokens);
  const threads = req.threads ?? defaultThreads();
  req.signal?.throwIfAborted();
  const t0 = performance.now();
  const ctx = model.createContext({
    nCtx: contextSize(model, req.promptTokens.length + req.maxTokens),
    nBatch: GENERATION_BATCH,
    nUbatch: GENERATION_BATCH,
    threads,
    flashAttention: "off",
  });
  const out: number[] = [];
  let finishReason: FinishReason = "length";
  let prefillMs = 0, decodeMs = 0, sampleMs = 0;
  try {
    let logits = (await ctx.decode(req.promptTokens, "last"))[0];
    prefillMs = performance.now() - t0;
    for (let i = 0; i < req.maxTokens; i++) {
      req.signal?.throwIfAborted();
      const ts = performance.now();
      const token = sampleToken(logits, req.sampling, i);
      sampleMs += performance.now() - ts;
      out.push(token);
      req.onToken?.(token, model.tokenPiece(token));
      if (model.isEog(token)) {
        finishReason = "stop";
        break;
      }
      if (i + 1 === req.maxTokens) break;
      const td = performance.now();
      logits = (await ctx.decode([token], "last"))[0];
      decodeMs += performance.now() - td;
    }
  } finally {
    await ctx.free();
  }
  const totalMs = performance.now() - t0;
  log.debug("generated {n} tokens ({reason})", { n: out.length, reason: finishReason });
  return {
    modelId,
    promptTokens: [...req.promptTokens],
    outputTokens: out,
    finishReason,
    seed: req.sampling.seed.toString(),
    jobId: toHex(req.sampling.jobId),
    temperature: req.sampling.temperature,
    topK: req.sampling.topK,
    topP: req.sampling.topP,
    maxTokens: req.maxTokens,
    timings: {
      prefillMs,
      decodeMs,
      sampleMs,
      totalMs,
      prefillTokensPerSecond: req.promptTokens.length / (prefillMs / 1000),
      tokensPerSecond: out.length / ((decodeMs + sampleMs) / 1000 || Infinity),
    },
  };
}

/** Options of {@link prefillLogits}. */
export interface PrefillOptions {
  /** CPU threads (default {@link defaultThreads}). */
  threads?: number;
}

/**
 * Logits at chosen positions from ONE prefill over `tokens` (e.g. prompt + output). Row k is the
 * model's output after reading tokens[0..positions[k]] inclusive, i.e. the logits that predict
 * tokens[positions[k] + 1]. For output position p of a job with a prompt of n tokens, use
 * position n - 1 + p. Rows come back in the order of `positions`.
 */
export async function prefillLogits(
  model: LlamaModel,
  tokens: readonly number[],
  positions: readonly number[],
  opts: PrefillOptions = {},
): Promise<Float32Array[]> {
  checkPrompt(model, tokens, 0);
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= tokens.length) {
      throw new RangeError(`position ${p} is outside the tokens [0, ${tokens.length})`);
    }
  }
  if (positions.length === 0) return [];
  const last = Math.max(...positions);
  const wanted = [...new Set(positions)].sort((a, b) => a - b);
  const ctx: LlamaContext = model.createContext({
    nCtx: contextSize(model, last + 1),
    nBatch: GENERATION_BATCH,
    nUbatch: GENERATION_BATCH,
    threads: opts.threads ?? defaultThreads(),
    flashAttention: "off",
  });
  try {
    const rows = await ctx.decode(tokens.slice(0, last + 1), wanted);
    const byPos = new Map(wanted.map((p, i) => [p, rows[i]]));
    return positions.map((p) => byPos.get(p)!);
  } finally {
    await ctx.free();
  }
}
