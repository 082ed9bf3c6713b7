/**
 * @module Tests of `GET /v1/reputation/:key` on real dev chains (Deno KV): paid jobs and a sprint
 * proof over several epochs, a real fraud proof (the fixture model's fraud checker), deletion after
 * the idle epochs, and a second node fed the same blocks deriving the same numbers.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { type Job, jobIdBytes } from "../../chain/job.ts";
import { fraudProofTx } from "../../chain/job_tx.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { ChainNode } from "../../chain/node.ts";
import { networkParams } from "../../chain/params.ts";
import type { FraudChecker } from "../../chain/spend.ts";
import { sprintNodeSeed } from "../../chain/sprint.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { checkFraudClaim } from "../../compute/fraud.ts";
import { proveSprint } from "../../compute/sprint_prover.ts";
import { reputationParamsFor } from "../../compute/weight/chain_reputation.ts";
import { SprintModel } from "../../verifier-wasm/sprint_model.ts";
import { sprintSeedAt } from "../../verifier-wasm/sprint_weights.ts";
import { mine, newKey, relayBlocks, type TestKey } from "../../tests/chain_helpers.ts";
import { fixtureJob, fixtureModel, honestOutput } from "../../tests/fixture_job.ts";
import { submitProof } from "../../tests/sprint_helpers.ts";
import { closeEpoch, stakedJob } from "../../tests/paid_job_helpers.ts";
import { createApp } from "../app.ts";

/** A dev chain on a fresh KV file, with `fraudChecker`. */
async function openChain(fraudChecker?: FraudChecker) {
  const dir = await Deno.makeTempDir({ prefix: "camelid-reputation-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const node = await ChainNode.open({ params: networkParams("dev"), kv, fraudChecker });
  const app = createApp({ chain: node });
  const get = async (key: string) => {
    const res = await app.request(`/v1/reputation/${key}`);
    return { status: res.status, body: await res.json() };
  };
  return {
    node,
    get,
    close: async () => {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("GET /v1/reputation/:key: a malformed key is a 400 JSON error; an unknown node is 0 and 1.0", async () => {
  const a = await openChain();
  try {
    for (
      const bad of ["xyz", "02" + "00".repeat(32), "04" + "11".repeat(32), "1BadAddressBadAddress"]
    ) {
      const r = await a.get(bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, "request/bad-key", bad);
    }
    const stranger = publicKeyOf(newKey().secret);
    for (const key of [toHex(stranger), addressFromPublicKey(stranger)]) {
      const r = await a.get(key);
      assert.equal(r.status, 200);
      assert.equal(r.body.address, addressFromPublicKey(stranger));
      assert.equal(r.body.known, false);
      assert.equal(r.body.reputation, 0);
      assert.equal(r.body.validationProbability, 1);
      assert.equal(r.body.lastFraud, null);
      assert.equal(r.body.epochsCounted, 0);
    }
  } finally {
    await a.close();
  }
});

Deno.test("reputation grows over epochs of paid jobs and sprint proofs, a fraud proof resets it, idle nodes are forgotten, and every node derives the same", async () => {
  const fixture = await fixtureModel();
  const checker: FraudChecker = (claim) => checkFraudClaim(claim, fixture.gguf);
  const a = await openChain(checker);
  const b = await openChain(checker);
  try {
    const { node } = a;
    const p = reputationParamsFor("dev");
    const interval = node.params.sprint.interval;
    const W = node.params.jobs.disputeWindow;
    const [client, x, y, z, miner] = [newKey(), newKey(), newKey(), newKey(), newKey()];
    const addr = (k: TestKey) => addressFromPublicKey(publicKeyOf(k.secret));
    /** Hands b the blocks it lacks; both answer alike for every key. */
    const assertSameOnB = async () => {
      const from = b.node.tip().height + 1;
      const hashes = Array.from(
        { length: node.tip().height - from + 1 },
        (_, i) => node.hashAtHeight(from + i)!,
      );
      await relayBlocks(node, b.node, hashes);
      assert.equal(b.node.tip().hash, node.tip().hash);
      for (const k of [x, y, z, client]) {
        assert.deepEqual((await b.get(addr(k))).body, (await a.get(addr(k))).body, addr(k));
      }
    };
    for (const k of [client, x, y, z]) await mine(node, k, 1);
    await mine(node, miner, interval - node.tip().height);

    // Epoch 1: z proves compute for sprint 1; x and y are each paid for a job.
    const model = await SprintModel.create(node.params.sprint, sprintSeedAt(node, 1));
    const zKey = publicKeyOf(z.secret);
    const nonces = (await proveSprint(model, sprintNodeSeed(zKey), { count: 200 })).nonces;
    model.free();
    assert.ok(nonces.length > 0);
    await submitProof(node, z, 1, nonces);
    /** Pays x and y for one job each, inside the current epoch. */
    const payBoth = async () => {
      const jobs = [await stakedJob(node, client, x)];
      await mine(node, miner, 1);
      jobs.push(await stakedJob(node, client, y));
      await mine(node, miner, W);
      for (const j of jobs) await j.pay();
      await mine(node, miner, 1);
    };
    await payBoth();
    assert.equal(Math.floor(node.tip().height / interval), 1);
    let r = await a.get(addr(x));
    assert.equal(r.body.reputation, 0, "epoch 1 is still open");
    assert.equal(r.body.jobs.currentEpoch, 1);
    assert.equal(r.body.jobVolume.currentEpoch, 2);
    await closeEpoch(node, miner, 1);

    r = await a.get(addr(x));
    assert.equal(r.status, 200);
    assert.equal(r.body.epochsCounted, 2);
    assert.equal(r.body.reputation, 1);
    assert.equal(r.body.known, true);
    assert.deepEqual(r.body.jobVolume, { lastEpoch: 2, currentEpoch: 0 });
    assert.equal(r.body.floor, 1 / 2, "floor = targetChecks / volume");
    assert.equal(r.body.validationProbability, 1 - (1 - 1 / 2) * 1 / p.maturityEpochs);
    assert.equal((await a.get(addr(y))).body.reputation, 1);
    assert.equal((await a.get(toHex(zKey))).body.reputation, 1, "a sprint proof is activity");

    // Epoch 2: x and y paid again; z idle.
    await payBoth();
    await closeEpoch(node, miner, 2);
    r = await a.get(addr(x));
    assert.equal(r.body.reputation, 2);
    assert.equal(r.body.validationProbability, 1 - (1 - 1 / 2) * 2 / p.maturityEpochs);
    assert.equal((await a.get(addr(z))).body.reputation, 1, "idle: kept, not grown");

    // Epoch 3: y commits to a false output and is slashed by a fraud proof; x and y also paid.
    const job: Job = {
      ...fixtureJob(fixture.modelId),
      expiryHeight: node.tip().height + 40,
      clientKey: publicKeyOf(client.secret),
    };
    const honest = await honestOutput(fixture, job, jobIdBytes(job));
    const mid = Math.floor(honest.outputTokens.length / 2);
    const cheat = [...honest.outputTokens];
    cheat[mid] = cheat[mid] === 100 ? 101 : 100;
    const falseOutput = { outputTokens: cheat, finishReason: honest.finishReason };
    const bad = await stakedJob(node, client, y, job, falseOutput);
    await mine(node, miner, 1);
    const proof = fraudProofTx(job, falseOutput, [mid], bad.stake, bad.escrow, {
      payTo: client.script,
      fee: 20_000n,
    });
    await node.processTx(encodeTransaction(proof));
    await mine(node, miner, 1);
    const fraudHeight = node.tip().height;
    r = await a.get(addr(y));
    assert.equal(r.body.reputation, 0, "reset at once");
    assert.equal(r.body.validationProbability, 1);
    assert.deepEqual(r.body.lastFraud, { height: fraudHeight, txid: txid(proof), epoch: 3 });
    await payBoth();
    assert.equal(Math.floor(node.tip().height / interval), 3);
    await closeEpoch(node, miner, 3);
    r = await a.get(addr(y));
    assert.equal(r.body.reputation, 0, "activity in the epoch of a fraud does not count");
    assert.equal(r.body.lastFraud.txid, txid(proof));
    assert.equal((await a.get(addr(x))).body.reputation, 3);

    // Epoch 4: only x is paid and reaches maturity: its probability is the floor.
    const last = await stakedJob(node, client, x);
    await mine(node, miner, W);
    await last.pay();
    await mine(node, miner, 1);
    await closeEpoch(node, miner, 4);
    r = await a.get(addr(x));
    assert.equal(r.body.reputation, p.maturityEpochs);
    assert.equal(r.body.validationProbability, r.body.floor);
    assert.equal((await a.get(addr(y))).body.reputation, 0, "y idle since its fraud epoch");

    await assertSameOnB();

    // z, last active in epoch 1, is forgotten once inactiveEpochs epochs have passed.
    await closeEpoch(node, miner, 1 + p.inactiveEpochs - 1);
    assert.equal((await a.get(addr(z))).body.known, true);
    await closeEpoch(node, miner, 1 + p.inactiveEpochs);
    r = await a.get(addr(z));
    assert.equal(r.body.known, false);
    assert.equal(r.body.reputation, 0);
    assert.equal(r.body.validationProbability, 1);

    // x, last active in epoch 4, is forgotten too; past countedEpochs only the latest are replayed.
    const counted = p.maturityEpochs + p.inactiveEpochs;
    await closeEpoch(node, miner, counted + 1);
    r = await a.get(addr(x));
    assert.equal(r.body.known, false);
    assert.equal(r.body.epoch.current, counted + 2);
    assert.equal(r.body.epochsCounted, counted);

    // A second node fed the same blocks derives the same numbers, from scratch.
    await assertSameOnB();
  } finally {
    await a.close();
    await b.close();
    await fixture.model.free();
  }
});
