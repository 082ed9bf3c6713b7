import assert from "node:assert/strict";
import { COIN } from "./params.ts";
import { concatBytes, toHex } from "./bytes.ts";
import { txid } from "./tx.ts";
import { mine, newKey, type TestKey } from "../tests/chain_helpers.ts";
import { decodeJob, encodeJob, jobIdBytes } from "./job.ts";
import {
  escrowOutput,
  fraudProofTx,
  heldPayout,
  type JobCoin,
  payTx,
  refundTx,
  releaseTx,
  singleInputSpend,
  stakeOutput,
} from "./job_tx.ts";
import { PATH_STAKE_FRAUD } from "./job_unlock.ts";
import {
  expectCode,
  fundedNode,
  keyHash,
  lockJobOutput,
  sampleJob,
  sent,
} from "../tests/job_spend_helpers.ts";

Deno.test("jobs encode canonically, and their id is SHA-256d of that encoding", () => {
  const client = newKey();
  const job = sampleJob(client, 100);
  const bytes = encodeJob(job);
  assert.deepEqual(decodeJob(bytes), job);
  assert.equal(toHex(jobIdBytes(job)).length, 64);
  assert.throws(() => decodeJob(concatBytes(bytes, new Uint8Array(1))), {
    code: "decode/trailing-bytes",
  });
  assert.throws(() => encodeJob({ ...job, temperature: 0.1 }), RangeError, "0.1 is not an f32");
  assert.throws(() => encodeJob({ ...job, promptTokens: [] }), RangeError);
});

Deno.test("escrow: refund only at expiry by the client; payment only past the dispute window of a stake for the job", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const W = node.params.jobs.disputeWindow;
    const height = node.tip().height;
    const job = sampleJob(client, height + 8);
    const jobId = jobIdBytes(job);
    const escrowOut = escrowOutput(jobId, keyHash(client), job.expiryHeight, 5n * COIN);
    const escrowTx = lockJobOutput(client, coins[0], escrowOut, jobId);
    await node.processTx(escrowTx.bytes);
    await mine(node, newKey(), 1);
    const escrow: JobCoin = { txid: escrowTx.id, vout: 0, ...escrowOut };
    assert.equal((await node.getJobCoins(toHex(jobId))).length, 1, "escrow indexed by job id");

    const refund = (key: TestKey) =>
      sent(refundTx(escrow, { payTo: client.script, fee: 10_000n }, jobId, key.secret));
    await expectCode(node.processTx(refund(client).bytes), "job/not-expired");

    // The compute node stakes for the job, committing to an output.
    const commitment = new Uint8Array(32).fill(7);
    const stakeOut = stakeOutput(jobId, keyHash(compute), keyHash(client), commitment, 2n * COIN);
    const stakeTx = lockJobOutput(compute, coins[2], stakeOut, jobId);
    await node.processTx(stakeTx.bytes);
    await mine(node, newKey(), 1);
    const stake: JobCoin = { txid: stakeTx.id, vout: 0, ...stakeOut };

    const pay = (key: TestKey, named = { txid: stake.txid, vout: 0 }) =>
      sent(payTx(escrow, named, heldPayout(stake, 10_000n), jobId, key.secret));
    await expectCode(node.processTx(pay(client).bytes), "job/dispute-window");
    await mine(node, newKey(), W - 1);
    await expectCode(node.processTx(pay(compute).bytes), "tx/wrong-key");
    await expectCode(
      node.processTx(pay(client, { txid: coins[1], vout: 0 }).bytes),
      "job/stake-mismatch",
    );
    const release = sent(
      releaseTx(stake, { payTo: compute.script, fee: 10_000n }, jobId, compute.secret),
    );
    await expectCode(node.processTx(release.bytes), "job/stake-locked");
    const payment = pay(client);
    await node.processTx(payment.bytes);
    await mine(node, newKey(), 1);
    assert.ok((await node.getTransaction(payment.id))?.blockHash, "payment mined after the window");
    await expectCode(node.processTx(refund(client).bytes), "tx/missing-inputs");

    await mine(node, newKey(), W);
    const thief = newKey();
    const stolen = sent(
      releaseTx(stake, { payTo: thief.script, fee: 10_000n }, jobId, thief.secret),
    );
    await expectCode(node.processTx(stolen.bytes), "tx/wrong-key");
    await node.processTx(release.bytes);
    await expectCode(
      node.processTx(
        sent(
          singleInputSpend(
            stake,
            { payTo: client.script, fee: COIN },
            jobId,
            () => new Uint8Array([PATH_STAKE_FRAUD, 0]),
          ),
        ).bytes,
      ),
      "mempool/conflict",
    );
  } finally {
    close();
  }
});

Deno.test("escrow refunds to the client at expiry when unpaid; a stake cannot be slashed without a proven fraud", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const job = sampleJob(client, node.tip().height + 3);
    const jobId = jobIdBytes(job);
    const escrowOut = escrowOutput(jobId, keyHash(client), job.expiryHeight, 5n * COIN);
    const e = lockJobOutput(client, coins[0], escrowOut, jobId).tx;
    const stakeOut = stakeOutput(
      jobId,
      keyHash(compute),
      keyHash(client),
      new Uint8Array(32),
      2n * COIN,
    );
    const s = lockJobOutput(compute, coins[2], stakeOut, jobId).tx;
    await node.processTx(sent(e).bytes);
    await node.processTx(sent(s).bytes);
    await mine(node, newKey(), 3);
    const escrow: JobCoin = { txid: txid(e), vout: 0, ...escrowOut };
    const refund = sent(
      refundTx(escrow, { payTo: client.script, fee: 10_000n }, jobId, client.secret),
    );
    await node.processTx(refund.bytes);
    const stake: JobCoin = { txid: txid(s), vout: 0, ...stakeOut };
    // Wrong job id on the spending transaction is refused.
    const wrongJob = sent(
      releaseTx(stake, { payTo: client.script, fee: COIN }, new Uint8Array(32), compute.secret),
    );
    await expectCode(node.processTx(wrongJob.bytes), "job/wrong-job-id");
    // A "fraud proof" on a node without a fraud checker is never accepted.
    const slash = sent(
      fraudProofTx(job, { outputTokens: [5], finishReason: "length" }, [0], stake, null, {
        payTo: client.script,
        fee: 10_000n,
      }),
    );
    await expectCode(node.processTx(slash.bytes), "job/fraud-not-proven");
  } finally {
    close();
  }
});
