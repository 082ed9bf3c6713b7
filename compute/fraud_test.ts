import assert from "node:assert/strict";
import { checkFraudClaim } from "./fraud.ts";
import { outputCommitment } from "../verifier-wasm/rastic.ts";
import type { FraudClaim } from "../chain/spend.ts";
import { makeFixture } from "./fixture.ts";
import { honestFixtureJob } from "../tests/fixture_job.ts";

Deno.test("fraud proofs hold only for committed outputs whose every named position provably fails", async () => {
  const { gguf, job, jobId, record } = await honestFixtureJob();
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
