/** @module The verifier's job record (verifier-wasm's `JobRecord`) of a job on chain and a revealed output. */

import { toHex } from "../chain/bytes.ts";
import type { Job } from "../chain/job.ts";
import type { JobRecord } from "../verifier-wasm/rastic.ts";

/** The job record (the verifier's input) of a job and a revealed output. */
export function jobRecordOf(
  job: Job,
  jobId: Uint8Array,
  outputTokens: number[],
  finishReason: "stop" | "length",
): JobRecord {
  return {
    modelId: toHex(job.modelId),
    promptTokens: job.promptTokens,
    outputTokens,
    finishReason,
    seed: job.seed.toString(),
    jobId: toHex(jobId),
    temperature: job.temperature,
    topK: job.topK,
    topP: job.topP,
    maxTokens: job.maxTokens,
  };
}
