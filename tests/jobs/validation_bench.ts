/**
 * @module The services of the end-to-end validation tests (tests/jobs/validator_votes_test.ts,
 * tests/jobs/validator_distribution_test.ts) on a phase bench's one node, as a node would run
 * them: a verifier validating with one key and a job worker executing for another, on the fixture
 * model, both shown in `/v1/status`; and the real client's job on that model.
 */

import { COIN } from "../../chain/params.ts";
import { submitJob, type SubmitResult } from "../../client/job_client.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { nodeValidatorDuty } from "../../compute/jobs/validator_duty.ts";
import { VerifierService } from "../../compute/jobs/verifier_service.ts";
import { JobWorker } from "../../compute/jobs/worker.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { ModelStore } from "../../compute/model_store.ts";
import type { TestKey } from "../chain_helpers.ts";
import { type PhaseBench, phaseBench, TERMS } from "./phase_helpers.ts";
import { fixtureModel } from "../fixture_job.ts";

/**
 * Starts on `b`'s node a verifier service validating with `validator`'s key and a job worker
 * executing for `executor`'s key (stake 1 coin, any reward), both serving `modelFile`; returns the
 * worker.
 */
export async function serveValidationAndJobs(
  b: PhaseBench,
  modelFile: string,
  validator: TestKey,
  executor: TestKey,
): Promise<JobWorker> {
  const models = await ModelStore.open({ files: [modelFile] });
  new VerifierService({
    network: b.node.network,
    models,
    minIntervalMs: 0,
    validator: nodeValidatorDuty(b.api, validator.secret),
  });
  const address = addressFromPublicKey(publicKeyOf(validator.secret));
  b.node.addStatus("verifier", () => ({ models: models.ids(), validator: address }));
  const worker = new JobWorker({
    chain: b.node.chain,
    network: b.node.network,
    models,
    loadModel: (p) => loadModel(p),
    secretKey: executor.secret,
    stake: COIN,
    minReward: 0n,
  });
  await worker.start();
  b.node.addStatus("compute", () => worker.status());
  return worker;
}

/**
 * The bench's client runs a job of 12 tokens on model `modelId` through the real client (fee 20,000
 * units a transaction), checked by neighbours when `outsource` is given.
 */
export function submitBenchJob(
  b: PhaseBench,
  modelId: string,
  outsource?: object,
): Promise<SubmitResult> {
  return submitJob({
    ...TERMS,
    modelId,
    maxTokens: 12,
    node: b.api,
    secretKey: b.client.secret,
    fee: 20_000n,
    ...(outsource ? { outsource } : {}),
  });
}

/**
 * Where the end-to-end validation tests start: the fixture model, written to a file in a fresh
 * temporary directory (removed by the caller), and a phase bench.
 */
export async function fixtureFileBench() {
  const fixture = await fixtureModel();
  const dir = await Deno.makeTempDir();
  const modelFile = `${dir}/m.gguf`;
  await Deno.writeFile(modelFile, fixture.gguf);
  return { fixture, dir, modelFile, b: await phaseBench() };
}
