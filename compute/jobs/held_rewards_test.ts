/**
 * @module Tests of the compute node's held rewards on a real dev node: a recorded payment shows as held
 * until its epoch's end, is claimed to the node's address at that height and then forgotten; one whose
 * escrow was spent otherwise (refunded) is dropped; an open user report holds the claim until the
 * node takes the unresolved bond after the report window.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { addressFromHash } from "../../chain/keys.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { coinbaseOf, mine, newKey, openDevNode } from "../../tests/chain_helpers.ts";
import { keyHash, lockJobOutput } from "../../tests/job_spend_helpers.ts";
import { stakedJob } from "../../tests/paid_job_helpers.ts";
import { newestClosedSprintAt } from "../../chain/report_rules.ts";
import { reportOutput } from "../../chain/report_tx.ts";
import { HeldRewards } from "./held_rewards.ts";
import { COIN } from "../../chain/params.ts";
import { heldPayout, payTx, refundTx } from "../../chain/job_tx.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";

/** A dev node with a client's, a compute node's and a miner's coins, and the compute node's book. */
async function heldBench() {
  const { node, close } = await openDevNode();
  const client = newKey();
  const compute = newKey();
  const miner = newKey();
  await mine(node, client, 2);
  await mine(node, compute, 2);
  await mine(node, miner, node.params.coinbaseMaturity);
  const rewardAddress = addressFromHash(keyHash(compute));
  const held = new HeldRewards({
    chain: node,
    secretKey: compute.secret,
    rewardAddress,
    fee: 20_000n,
  });
  return { node, close, client, compute, miner, rewardAddress, held };
}

Deno.test("held rewards: shown held until the epoch ends, then claimed to the node's address and forgotten", async () => {
  const { node, close, client, compute, miner, rewardAddress, held } = await heldBench();
  try {
    const j = await stakedJob(node, client, compute);
    await mine(node, miner, 1 + node.params.jobs.disputeWindow);
    const { txid: payment } = await j.pay();
    const value = 3n * COIN - 20_000n;
    await held.add({ jobId: toHex(j.jobId), payment, escrow: j.escrow, value });
    assert.deepEqual(held.status(), [
      { jobId: toHex(j.jobId), units: value.toString(), paidHeight: null, heldUntil: null },
    ]);
    await mine(node, miner, 1);
    const paidHeight = node.tip().height;
    const heldUntil = epochEnd(node.params.sprint, paidHeight);
    assert.ok(heldUntil > paidHeight + 1, "paid before the last block of its epoch");
    await held.onBlock();
    assert.deepEqual(held.status(), [
      { jobId: toHex(j.jobId), units: value.toString(), paidHeight, heldUntil },
    ]);
    assert.equal(node.mempool.entries().length, 0, "no claim before the epoch's end");

    await mine(node, miner, heldUntil - 1 - node.tip().height);
    await held.onBlock();
    const claim = node.mempool.entries();
    assert.equal(claim.length, 1, "the claim, at the end of the epoch");
    assert.equal(claim[0].tx.outputs[0].value, value - 20_000n);
    await mine(node, miner, 1);
    await held.onBlock();
    assert.deepEqual(held.status(), [], "claimed, then forgotten");
    const coins = await node.getAddressCoins(rewardAddress);
    assert.ok(coins.some((c) => c.txid === claim[0].txid));
  } finally {
    close();
  }
});

Deno.test("held rewards: a payment that can no longer be mined (its escrow refunded) is dropped", async () => {
  const { node, close, client, compute, miner, held } = await heldBench();
  try {
    const j = await stakedJob(node, client, compute);
    await mine(node, miner, 1);
    const jobId = toHex(j.jobId);
    // The payment was recorded but never reached the chain (the node stopped before sending it).
    const payment = txid(
      payTx(j.escrow, j.stake, heldPayout(j.stake, 20_000n), j.jobId, client.secret),
    );
    await held.add({ jobId, payment, escrow: j.escrow, value: j.escrow.value - 20_000n });
    await held.onBlock();
    assert.equal(held.status().length, 1, "kept while the escrow can still pay it");
    await mine(node, miner, j.job.expiryHeight - 1 - node.tip().height);
    const refund = refundTx(
      j.escrow,
      { payTo: client.script, fee: 20_000n },
      j.jobId,
      client.secret,
    );
    await node.processTx(encodeTransaction(refund));
    await mine(node, miner, 1);
    await held.onBlock();
    assert.deepEqual(held.status(), []);
  } finally {
    close();
  }
});

Deno.test("held rewards: an open user report holds the claim at the epoch's end; from the report window's end the node takes the bond, then claims", async () => {
  const { node, close, client, compute, miner, rewardAddress, held } = await heldBench();
  try {
    const [bondCoin] = await mine(node, client, 1);
    const j = await stakedJob(node, client, compute);
    await mine(
      node,
      miner,
      Math.max(1 + node.params.jobs.disputeWindow, node.params.coinbaseMaturity),
    );
    const { interval } = node.params.sprint;
    await mine(node, miner, (interval - ((node.tip().height + 1) % interval)) % interval);
    const { txid: payment } = await j.pay();
    const jobId = toHex(j.jobId);
    await held.add({ jobId, payment, escrow: j.escrow, value: 3n * COIN - 20_000n });
    await mine(node, miner, 1);
    const heldUntil = epochEnd(node.params.sprint, node.tip().height);
    assert.equal(heldUntil, node.tip().height + interval, "paid in the epoch's first block");
    const sprint = newestClosedSprintAt(node.tip().height + 1, node.params);
    const report = reportOutput(
      { held: { txid: payment, vout: 0 }, sprint },
      node.params.reportFee,
    );
    const bondTx = lockJobOutput(client, await coinbaseOf(node, bondCoin), report, j.jobId);
    await node.processTx(bondTx.bytes);
    const bond = bondTx.id;
    await mine(node, miner, heldUntil - node.tip().height);
    await held.onBlock();
    assert.equal(node.mempool.entries().length, 0, "no claim while the report is open");

    const expiresAt = heldUntil + node.params.reportWindow;
    await mine(node, miner, expiresAt - 2 - node.tip().height);
    await held.onBlock();
    assert.equal(node.mempool.entries().length, 0, "the bond is not the node's yet");
    await mine(node, miner, 1);
    await held.onBlock();
    const taken = node.mempool.entries();
    assert.equal(taken.length, 1, "the bond taken");
    assert.deepEqual(taken[0].tx.inputs.map((i) => toHex(i.prevout.txid)), [bond]);
    await mine(node, miner, 1);
    await held.onBlock();
    const claim = node.mempool.entries();
    assert.equal(claim.length, 1, "then the claim");
    assert.equal(toHex(claim[0].tx.inputs[0].prevout.txid), payment);
    await mine(node, miner, 1);
    await held.onBlock();
    assert.deepEqual(held.status(), []);
    const coins = (await node.getAddressCoins(rewardAddress)).map((c) => c.txid);
    assert.ok(coins.includes(taken[0].txid) && coins.includes(claim[0].txid));
  } finally {
    close();
  }
});
