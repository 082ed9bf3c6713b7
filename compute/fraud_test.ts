import assert from "node:assert/strict";
import { makeFixture } from "./fixture.ts";
import { loadModel } from "./llama/llama.ts";
import { generate } from "./generate.ts";
import { checkFraudClaim } from "./fraud.ts";
import { modelIdFromBytes } from "../chain/model_id.ts";
import { fromHex } from "../chain/bytes.ts";
import { type Job, jobIdBytes } from "../chain/job.ts";
import { generateSecretKey, publicKeyOf } from "../chain/keys.ts";
import { outputCommitment } from "../verifier-wasm/rastic.ts";
import type { FraudClaim } from "../chain/spend.ts";

Deno.test("fraud proofs hold only for committed outputs whose every named position provably fails", async () => {
  const gguf = makeFixture({ size: "tiny", dtype: "f32", seed: 11n });
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.gguf`, gguf);
  const model = await loadModel(`${dir}/m.gguf`);
  const job: Job = {
    modelId: fromHex(modelIdFromBytes(gguf)),
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
  const jobId = jobIdBytes(job);
  const record = await generate(model, modelIdFromBytes(gguf), {
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
  const claimOf = (tokens: number[], positions: number[], commitTo = tokens): FraudClaim => ({
    job,
    jobId,
    outputTokens: tokens,
    finishReason: record.finishReason,
    positions,
    commitment: outputCommitment(jobId, commitTo, record.finishReason),
  });
  const honest = record.outputTokens;
  assert.equal(
    await checkFraudClaim(claimOf(honest, [0, 5]), gguf),
    false,
    "honest output: no fraud",
  );
  const mid = Math.floor(honest.length / 2);
  const cheat = [...honest];
  cheat[mid] = honest[mid] === 100 ? 101 : 100;
  assert.equal(
    await checkFraudClaim(claimOf(cheat, [mid]), gguf),
    true,
    "a changed token is provable",
  );
  assert.equal(
    await checkFraudClaim(claimOf(cheat, [mid, 0]), gguf),
    false,
    "naming an honest position voids the proof",
  );
  assert.equal(
    await checkFraudClaim(claimOf(cheat, [mid], honest), gguf),
    false,
    "output must match the commitment",
  );
  const otherModel = makeFixture({ size: "tiny", dtype: "f32", seed: 12n });
  assert.equal(
    await checkFraudClaim(claimOf(cheat, [mid]), otherModel),
    false,
    "wrong model bytes: undecidable",
  );
});
