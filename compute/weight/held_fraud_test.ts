/**
 * @module A held reward forfeited by a fraud proof is proven fraud in the chain-derived reputation
 * (docs/protocol.md, "Held rewards"), on a real dev chain with the fixture model's fraud checker.
 */

import assert from "node:assert/strict";
import { type Job, jobIdBytes } from "../../chain/job.ts";
import { fraudProofTx } from "../../chain/job_tx.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { ChainNode } from "../../chain/node.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { checkFraudClaim } from "../fraud.ts";
import { createApp } from "../../relay/app.ts";
import { mine, newKey } from "../../tests/chain_helpers.ts";
import { fixtureJob, fixtureModel, honestOutput } from "../../tests/fixture_job.ts";
import { closeEpoch, stakedJob } from "../../tests/paid_job_helpers.ts";

Deno.test("a held reward forfeited by a fraud proof alone (the stake untouched) resets the node's reputation", async () => {
  const fixture = await fixtureModel();
  const dir = await Deno.makeTempDir({ prefix: "camelid-held-fraud-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const node = await ChainNode.open({
    params: networkParams("dev"),
    kv,
    fraudChecker: (claim) => checkFraudClaim(claim, fixture.gguf),
  });
  try {
    const app = createApp({ chain: node });
    const client = newKey();
    const y = newKey();
    const miner = newKey();
    const reputation = async () =>
      await (await app.request(`/v1/reputation/${addressFromPublicKey(publicKeyOf(y.secret))}`))
        .json();
    await mine(node, client, 3);
    await mine(node, y, 3);
    await mine(node, miner, node.params.coinbaseMaturity);
    const W = node.params.jobs.disputeWindow;
    const I = node.params.sprint.interval;

    // An epoch of honest paid work: reputation 1.
    const honestJob = await stakedJob(node, client, y);
    await mine(node, miner, 1 + W);
    await honestJob.pay();
    await mine(node, miner, 1);
    await closeEpoch(node, miner, Math.floor(node.tip().height / I));
    assert.equal((await reputation()).reputation, 1);

    // y commits to a false output and is paid in the first block of an epoch; the client proves the
    // fraud against the held reward alone, leaving the stake as it is.
    const job: Job = {
      ...fixtureJob(fixture.modelId),
      expiryHeight: node.tip().height + 60,
      clientKey: publicKeyOf(client.secret),
    };
    const honest = await honestOutput(fixture, job, jobIdBytes(job));
    const last = honest.outputTokens.length - 1;
    const cheat = [...honest.outputTokens];
    cheat[last] = cheat[last] === 100 ? 101 : 100;
    const falseOutput = { outputTokens: cheat, finishReason: honest.finishReason };
    const bad = await stakedJob(node, client, y, job, falseOutput);
    await mine(node, miner, 1 + W);
    await mine(node, miner, (I - ((node.tip().height + 1) % I)) % I);
    const { txid: payment } = await bad.pay();
    await mine(node, miner, 1);
    const held = { txid: payment, vout: 0, value: bad.escrow.value - 20_000n, held: true };
    const proof = fraudProofTx(job, falseOutput, [last], null, held, {
      payTo: client.script,
      fee: 20_000n,
    });
    await node.processTx(encodeTransaction(proof));
    await mine(node, miner, 1);
    const r = await reputation();
    assert.equal(r.reputation, 0, "reset at once");
    assert.equal(r.lastFraud.txid, txid(proof));
    assert.ok((await node.store.getCoins([bad.stake]))[0], "the stake is untouched");
    assert.equal(bad.escrow.value, 3n * COIN);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
