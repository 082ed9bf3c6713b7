/**
 * @module Test and calibration helper: generates a job record with any PrefillBackend and the
 * shared sampler (one full prefill per step; fine for tiny fixtures), so the WASM -> ONNX pair and
 * attack variants can be produced without llama.cpp. Same record shape as `generate --json`.
 */

import { toHex } from "../../chain/bytes.ts";
import type { PrefillBackend } from "../../verifier-wasm/backend.ts";
import type { JobRecord } from "../../verifier-wasm/rastic.ts";
import { sampleToken } from "../../verifier-wasm/sampler.ts";

/** Job parameters of {@link generateWith}. */
export interface GenParams {
  /** Model id recorded in the job. */
  modelId: string;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Seed. */
  seed: bigint;
  /** 32-byte job id. */
  jobId: Uint8Array;
  /** Temperature. */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off). */
  topP: number;
  /** Maximum output tokens. */
  maxTokens: number;
  /** End-of-generation token ids. */
  endTokens: ReadonlySet<number>;
}

/** Generates token by token with `backend` and the shared sampler. */
export async function generateWith(backend: PrefillBackend, p: GenParams): Promise<JobRecord> {
  const out: number[] = [];
  let finishReason: "stop" | "length" = "length";
  const params = {
    seed: p.seed,
    jobId: p.jobId,
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
  };
  while (out.length < p.maxTokens) {
    const seq = [...p.promptTokens, ...out];
    const [logits] = await backend.logitsAt(seq, [seq.length - 1]);
    const t = sampleToken(logits, params, out.length);
    out.push(t);
    if (p.endTokens.has(t)) {
      finishReason = "stop";
      break;
    }
  }
  return {
    modelId: p.modelId,
    promptTokens: p.promptTokens,
    outputTokens: out,
    finishReason,
    seed: p.seed.toString(),
    jobId: toHex(p.jobId),
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
    maxTokens: p.maxTokens,
  };
}
