/**
 * @module A fixture model on disk and loaded in llama.cpp, a job on it, and the honest completion of
 * a job (what tests of fraud proofs, verdicts and the job client start from).
 */

import { makeFixture } from "../compute/fixture.ts";
import { type LlamaModel, loadModel } from "../compute/llama/llama.ts";
import { generate, type JobRecord } from "../compute/generate.ts";
import { modelIdFromBytes } from "../chain/model_id.ts";
import { fromHex } from "../chain/bytes.ts";
import { type Job, jobIdBytes } from "../chain/job.ts";
import { generateSecretKey, publicKeyOf } from "../chain/keys.ts";

/** A tiny f32 fixture model: its bytes, id, and llama.cpp handle. */
export interface FixtureModel {
  /** GGUF bytes. */
  gguf: Uint8Array;
  /** Model id (hex). */
  modelId: string;
  /** The model loaded in llama.cpp. */
  model: LlamaModel;
}

/** Writes the tiny f32 fixture of `seed` to a temp file and loads it. */
export async function fixtureModel(seed = 11n): Promise<FixtureModel> {
  const gguf = makeFixture({ size: "tiny", dtype: "f32", seed });
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.gguf`, gguf);
  return { gguf, modelId: modelIdFromBytes(gguf), model: await loadModel(`${dir}/m.gguf`) };
}

/** A job of a fresh client on the fixture: 24 tokens at temperature 0.75 from a three-token prompt. */
export function fixtureJob(modelId: string): Job {
  return {
    modelId: fromHex(modelId),
    promptTokens: [1, 72, 105],
    seed: 7n,
    maxTokens: 24,
    temperature: 0.75,
    topK: 0,
    topP: 1,
    timestamp: 1_800_000_000,
    expiryHeight: 100,
    clientKey: publicKeyOf(generateSecretKey()),
    contact: "",
  };
}

/** The honest completion of `job` (id `jobId`) by llama.cpp on one thread. */
export function honestOutput(
  f: FixtureModel,
  job: Pick<Job, "promptTokens" | "maxTokens" | "seed" | "temperature" | "topK" | "topP">,
  jobId: Uint8Array,
): Promise<JobRecord> {
  return generate(f.model, f.modelId, {
    promptTokens: job.promptTokens,
    maxTokens: job.maxTokens,
    sampling: {
      seed: job.seed,
      jobId,
      temperature: job.temperature,
      topK: job.topK,
      topP: job.topP,
    },
    threads: 1,
  });
}

/**
 * The default fixture model, a {@link fixtureJob} on it, its id and its honest completion (`record`):
 * where a test of fraud proofs and verdicts starts.
 */
export async function honestFixtureJob(): Promise<
  { fixture: FixtureModel; gguf: Uint8Array; job: Job; jobId: Uint8Array; record: JobRecord }
> {
  const fixture = await fixtureModel();
  const job = fixtureJob(fixture.modelId);
  const jobId = jobIdBytes(job);
  const record = await honestOutput(fixture, job, jobId);
  return { fixture, gguf: fixture.gguf, job, jobId, record };
}

/**
 * Writes the tiny f32 fixture of `seed` to `${dir}/m.gguf` and has llama.cpp (one thread) complete
 * the prompt 1, 40, 50 with `maxTokens` and `sampling` under an all-zero job id; frees the model.
 */
export async function fixtureRecord(
  dir: string,
  seed: bigint,
  maxTokens: number,
  sampling: { seed: bigint; temperature: number; topK: number; topP: number },
): Promise<{ modelPath: string; record: JobRecord }> {
  const gguf = makeFixture({ size: "tiny", dtype: "f32", seed });
  const modelPath = `${dir}/m.gguf`;
  await Deno.writeFile(modelPath, gguf);
  const model = await loadModel(modelPath);
  try {
    const record = await generate(model, modelIdFromBytes(gguf), {
      promptTokens: [1, 40, 50],
      maxTokens,
      threads: 1,
      sampling: { ...sampling, jobId: new Uint8Array(32) },
    });
    return { modelPath, record };
  } finally {
    await model.free();
  }
}
