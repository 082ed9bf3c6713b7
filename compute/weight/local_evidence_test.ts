/**
 * A validating node's own margin evidence (local_evidence.ts) on a real dev chain (Deno KV): the
 * executor is the node staked on the checked output, a job counts once, two exceeding positions
 * flag (p1/p0 = 82.5, bound ln 1000), and `GET /v1/reputation/:key` shows it apart as
 * `localEvidence`, the job client's line as FLAGGED.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { describeReputation } from "../../client/phases/reputation.ts";
import { createApp } from "../../relay/app.ts";
import { mine, newKey, openDevNode } from "../../tests/chain_helpers.ts";
import { stakedJob } from "../../tests/paid_job_helpers.ts";
import { evidenceRecorder, LocalEvidence, stakedExecutor } from "./local_evidence.ts";

Deno.test("local evidence: recorded against the staked executor once per job, flagged after two exceedances, served apart in /v1/reputation", async () => {
  const dev = await openDevNode();
  try {
    const { node } = dev;
    const client = newKey(), compute = newKey(), miner = newKey();
    await mine(node, client, 2);
    await mine(node, compute, 2);
    await mine(node, miner, node.params.coinbaseMaturity);
    const output = { outputTokens: [5, 6, 7], finishReason: "length" as const };
    const first = await stakedJob(node, client, compute, undefined, output);
    await mine(node, miner, 1);
    const second = await stakedJob(node, client, compute, undefined, output);
    await mine(node, miner, 1);
    const executor = addressFromPublicKey(publicKeyOf(compute.secret));
    const firstId = toHex(first.jobId);

    assert.equal(await stakedExecutor(node, firstId, output), executor);
    assert.equal(
      await stakedExecutor(node, firstId, { ...output, outputTokens: [5, 6, 8] }),
      null,
      "a stake commits to one output",
    );
    assert.equal(
      await stakedExecutor(node, "ab".repeat(32), output),
      null,
      "no stake, no executor",
    );

    const store = new LocalEvidence(node.store.kv);
    const record = evidenceRecorder(node, store);
    const epoch = Math.floor(node.tip().height / node.params.sprint.interval);
    const honest = await record(firstId, output, [-2, -0.5, 0]);
    assert.deepEqual(honest && { ...honest, llr: 0 }, {
      epoch,
      jobs: 1,
      positions: 3,
      exceeded: 0,
      llr: 0,
      flagged: false,
    });
    assert.ok(honest!.llr < 0);
    assert.equal(await record(firstId, output, [1, 1, 1]), null, "a job counts once");
    assert.equal(
      await record(toHex(second.jobId), { ...output, outputTokens: [1] }, [1]),
      null,
      "an output no stake commits to is not recorded",
    );
    const caught = await record(toHex(second.jobId), output, [0.5, 0.25, -1]);
    assert.equal(caught?.jobs, 2);
    assert.equal(caught?.exceeded, 2);
    assert.equal(caught?.flagged, true);

    const app = createApp({ chain: node });
    const get = async (key: string) => await (await app.request(`/v1/reputation/${key}`)).json();
    const shown = await get(executor);
    assert.equal(shown.localEvidence.flagged, true);
    assert.equal(
      shown.localEvidence.source,
      "this node's own checks as a verifier, not chain data",
    );
    assert.deepEqual(shown.localEvidence.test, store.test);
    assert.equal(shown.localEvidence.currentEpoch.jobs, 2);
    assert.equal(shown.localEvidence.currentEpoch.positions, 6);
    const stranger = await get(addressFromPublicKey(publicKeyOf(newKey().secret)));
    assert.equal(stranger.localEvidence.flagged, false);
    assert.equal(stranger.localEvidence.currentEpoch, null);

    assert.match(
      describeReputation({
        address: executor,
        known: true,
        reputation: 2,
        maturityEpochs: 4,
        validationProbability: 0.5,
        floor: 0.5,
        lastFraud: null,
        localEvidence: { flagged: true, jobs: 2 },
      }),
      /; FLAGGED by your node's margin evidence over 2 job\(s\) it checked \(not chain data\)$/,
    );
  } finally {
    dev.close();
    await Deno.remove(dev.dir, { recursive: true });
  }
});
