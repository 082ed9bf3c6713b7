import assert from "node:assert/strict";
import { ValidationError } from "./errors.ts";
import { COIN } from "./params.ts";
import { computeStakeScript, jobEscrowScript } from "./script.ts";
import { hash160 } from "./hash.ts";
import { publicKeyOf, signDigest } from "./keys.ts";
import { concatBytes, fromHex, toHex } from "./bytes.ts";
import { encodeTransaction, signatureHash, type Transaction, txid } from "./tx.ts";
import {
  coinbaseOf,
  mine,
  newKey,
  openDevNode,
  spend,
  type TestKey,
} from "../tests/chain_helpers.ts";
import type { ChainNode } from "./node.ts";
import { decodeJob, encodeJob, type Job, jobIdBytes } from "./job.ts";
import { ByteWriter } from "./bytes.ts";

const SUBSIDY = 50n * COIN;

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

function keyHash(k: TestKey): Uint8Array {
  return hash160(publicKeyOf(k.secret));
}

/** Spends one template output with an unlocking prefix built from a signature. */
function spendTemplate(
  prev: { txid: string; vout: number; value: bigint; script: Uint8Array },
  jobId: Uint8Array,
  outputs: { value: bigint; script: Uint8Array }[],
  unlock: (tx: Transaction) => Uint8Array,
): { bytes: Uint8Array; id: string } {
  const tx: Transaction = {
    version: 1,
    inputs: [{
      prevout: { txid: fromHex(prev.txid, 32), vout: prev.vout },
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    }],
    outputs: outputs.map((o) => ({ value: o.value, scriptPubKey: o.script })),
    lockTime: 0,
    jobId,
  };
  tx.inputs[0].scriptSig = unlock(tx);
  return { bytes: encodeTransaction(tx), id: txid(tx) };
}

function signed(
  path: number,
  key: TestKey,
  tx: Transaction,
  prev: { value: bigint; script: Uint8Array },
  extra: Uint8Array = new Uint8Array(0),
) {
  const sig = signDigest(
    signatureHash(tx, 0, { value: prev.value, scriptPubKey: prev.script }),
    key.secret,
  );
  return concatBytes(new Uint8Array([path]), sig, publicKeyOf(key.secret), extra);
}

async function fundedNode(): Promise<
  { node: ChainNode; close(): void; client: TestKey; compute: TestKey; coins: string[] }
> {
  const { node, close } = await openDevNode();
  const client = newKey();
  const compute = newKey();
  const hashes = await mine(node, client, 2);
  await mine(node, compute, 1);
  await mine(node, newKey(), node.params.coinbaseMaturity);
  const coins = [
    await coinbaseOf(node, hashes[0]),
    await coinbaseOf(node, hashes[1]),
    await coinbaseOf(
      node,
      await node.getHeaders([node.genesisHash()], 3).then(() => node.hashAtHeight(3)!),
    ),
  ];
  return { node, close, client, compute, coins };
}

/** Locks `value` of a 50-coin coinbase owned by `from` into a job output, change back, stamped with the job. */
function fundJobOutput(
  from: TestKey,
  coin: string,
  script: Uint8Array,
  value: bigint,
  jobId: Uint8Array,
) {
  const change = { value: SUBSIDY - value - 100_000n, script: from.script };
  return spend(from, [{ txid: coin, vout: 0, value: SUBSIDY }], [{ value, script }, change], jobId);
}

const sampleJob = (client: TestKey, expiryHeight: number): Job => ({
  modelId: new Uint8Array(32).fill(9),
  promptTokens: [1, 2, 3],
  seed: 42n,
  maxTokens: 16,
  temperature: 0.5,
  topK: 40,
  topP: 0.875,
  timestamp: 1_800_000_000,
  expiryHeight,
  clientKey: publicKeyOf(client.secret),
  contact: "http://127.0.0.1:8787",
});

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
    const escrowScript = jobEscrowScript(jobId, keyHash(client), job.expiryHeight);
    const escrowTx = fundJobOutput(client, coins[0], escrowScript, 5n * COIN, jobId);
    await node.processTx(escrowTx.bytes);
    await mine(node, newKey(), 1);
    const escrow = { txid: escrowTx.id, vout: 0, value: 5n * COIN, script: escrowScript };
    assert.equal((await node.getJobCoins(toHex(jobId))).length, 1, "escrow indexed by job id");

    const refund = (key: TestKey) =>
      spendTemplate(
        escrow,
        jobId,
        [{ value: 5n * COIN - 10_000n, script: client.script }],
        (tx) => signed(0x02, key, tx, escrow),
      );
    await expectCode(node.processTx(refund(client).bytes), "job/not-expired");

    // The compute node stakes for the job, committing to an output.
    const commitment = new Uint8Array(32).fill(7);
    const stakeScript = computeStakeScript(jobId, keyHash(compute), keyHash(client), commitment);
    const stakeTx = fundJobOutput(compute, coins[2], stakeScript, 2n * COIN, jobId);
    await node.processTx(stakeTx.bytes);
    await mine(node, newKey(), 1);
    const stake = { txid: stakeTx.id, vout: 0, value: 2n * COIN, script: stakeScript };
    const stakeRef = new ByteWriter(36).bytes(fromHex(stake.txid)).u32(0).finish();

    const pay = (key: TestKey, ref = stakeRef) =>
      spendTemplate(
        escrow,
        jobId,
        [{ value: 5n * COIN - 10_000n, script: compute.script }],
        (tx) => signed(0x01, key, tx, escrow, ref),
      );
    await expectCode(node.processTx(pay(client).bytes), "job/dispute-window");
    await mine(node, newKey(), W - 1);
    await expectCode(node.processTx(pay(compute).bytes), "tx/wrong-key");
    const notAStake = new ByteWriter(36).bytes(fromHex(coins[1])).u32(0).finish();
    await expectCode(node.processTx(pay(client, notAStake).bytes), "job/stake-mismatch");
    const release = spendTemplate(stake, jobId, [{
      value: 2n * COIN - 10_000n,
      script: compute.script,
    }], (tx) => signed(0x01, compute, tx, stake));
    await expectCode(node.processTx(release.bytes), "job/stake-locked");
    const payment = pay(client);
    await node.processTx(payment.bytes);
    await mine(node, newKey(), 1);
    assert.ok((await node.getTransaction(payment.id))?.blockHash, "payment mined after the window");
    await expectCode(node.processTx(refund(client).bytes), "tx/missing-inputs");

    await mine(node, newKey(), W);
    const thief = newKey();
    const stolen = spendTemplate(stake, jobId, [{
      value: 2n * COIN - 10_000n,
      script: thief.script,
    }], (tx) => signed(0x01, thief, tx, stake));
    await expectCode(node.processTx(stolen.bytes), "tx/wrong-key");
    await node.processTx(release.bytes);
    await expectCode(
      node.processTx(
        spendTemplate(
          stake,
          jobId,
          [{ value: COIN, script: client.script }],
          () => new Uint8Array([0x02, 0]),
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
    const escrowScript = jobEscrowScript(jobId, keyHash(client), job.expiryHeight);
    const e = fundJobOutput(client, coins[0], escrowScript, 5n * COIN, jobId).tx;
    const stakeScript = computeStakeScript(
      jobId,
      keyHash(compute),
      keyHash(client),
      new Uint8Array(32),
    );
    const s = fundJobOutput(compute, coins[2], stakeScript, 2n * COIN, jobId).tx;
    await node.processTx(encodeTransaction(e));
    await node.processTx(encodeTransaction(s));
    await mine(node, newKey(), 3);
    const escrow = { txid: txid(e), vout: 0, value: 5n * COIN, script: escrowScript };
    const refund = spendTemplate(escrow, jobId, [{
      value: 5n * COIN - 10_000n,
      script: client.script,
    }], (tx) => signed(0x02, client, tx, escrow));
    await node.processTx(refund.bytes);
    // Wrong job id on the spending transaction is refused.
    const wrongJob = spendTemplate(
      { txid: txid(s), vout: 0, value: 2n * COIN, script: stakeScript },
      new Uint8Array(32),
      [{ value: COIN, script: client.script }],
      (tx) => signed(0x01, compute, tx, { value: 2n * COIN, script: stakeScript }),
    );
    await expectCode(node.processTx(wrongJob.bytes), "job/wrong-job-id");
    // A "fraud proof" on a node without a fraud checker is never accepted.
    const job2 = encodeJob(job);
    const proof = new ByteWriter(64).u8(0x02).varBytes(job2).varint(1).u32(5).u8(1).varint(1).u32(0)
      .finish();
    const slash = spendTemplate(
      { txid: txid(s), vout: 0, value: 2n * COIN, script: stakeScript },
      jobId,
      [{ value: 2n * COIN - 10_000n, script: client.script }],
      () => proof,
    );
    await expectCode(node.processTx(slash.bytes), "job/fraud-not-proven");
  } finally {
    close();
  }
});

/** A job with a confirmed escrow and a confirmed stake, ready for claims. */
async function stakedJob(
  node: ChainNode,
  client: TestKey,
  compute: TestKey,
  coins: string[],
  output: { tokens: number[]; finish: "stop" | "length" } | null = null,
) {
  const job = sampleJob(client, node.tip().height + 40);
  const jobId = jobIdBytes(job);
  const { outputCommitment } = await import("./commitment.ts");
  const escrowScript = jobEscrowScript(jobId, keyHash(client), job.expiryHeight);
  const stakeScript = computeStakeScript(
    jobId,
    keyHash(compute),
    keyHash(client),
    output ? outputCommitment(jobId, output.tokens, output.finish) : new Uint8Array(32).fill(3),
  );
  const e = fundJobOutput(client, coins[0], escrowScript, 5n * COIN, jobId).tx;
  const s = fundJobOutput(compute, coins[2], stakeScript, 2n * COIN, jobId).tx;
  await node.processTx(encodeTransaction(e));
  await node.processTx(encodeTransaction(s));
  await mine(node, newKey(), 1);
  const notice = async (
    template: 0x04 | 0x05,
    from: TestKey,
    coin: string,
    vout: number,
    value: bigint,
    ciphertext: Uint8Array = new Uint8Array([1, 2, 3]),
  ) => {
    const { stakeNoticeScript } = await import("./script.ts");
    const { buildSpend } = await import("./wallet.ts");
    return buildSpend({
      utxos: [{ txid: coin, vout, value, scriptPubKey: from.script }],
      secretKey: from.secret,
      outputs: [{
        value: 0n,
        scriptPubKey: stakeNoticeScript(template, fromHex(txid(s)), 0, ciphertext),
      }],
      fee: 50_000n,
      jobId,
    }).bytes;
  };
  return {
    jobId,
    escrow: { txid: txid(e), vout: 0, value: 5n * COIN, script: escrowScript },
    stake: { txid: txid(s), vout: 0, value: 2n * COIN, script: stakeScript },
    clientChange: { txid: txid(e), vout: 1, value: SUBSIDY - 5n * COIN - 100_000n },
    nodeChange: { txid: txid(s), vout: 1, value: SUBSIDY - 2n * COIN - 100_000n },
    notice,
  };
}

Deno.test("non-delivery: an unanswered claim blocks payment and release, then slashes the stake to the client", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const W = node.params.jobs.disputeWindow;
    const j = await stakedJob(node, client, compute, coins);
    const forged = await j.notice(0x04, compute, j.nodeChange.txid, 1, j.nodeChange.value);
    await expectCode(node.processTx(forged), "job/notice-not-authorised");
    await node.processTx(
      await j.notice(0x04, client, j.clientChange.txid, 1, j.clientChange.value),
    );
    await mine(node, newKey(), 1);
    const slash = spendTemplate(j.stake, j.jobId, [{
      value: 2n * COIN - 10_000n,
      script: client.script,
    }], () => new Uint8Array([0x03]));
    await expectCode(node.processTx(slash.bytes), "job/claim-window");
    await mine(node, newKey(), W);
    const stakeRef = new ByteWriter(36).bytes(fromHex(j.stake.txid)).u32(0).finish();
    const pay = spendTemplate(j.escrow, j.jobId, [{
      value: 5n * COIN - 10_000n,
      script: compute.script,
    }], (tx) => signed(0x01, client, tx, j.escrow, stakeRef));
    await expectCode(node.processTx(pay.bytes), "job/claim-pending");
    const thief = newKey();
    const wrongPayee = spendTemplate(j.stake, j.jobId, [{
      value: 2n * COIN - 10_000n,
      script: thief.script,
    }], () => new Uint8Array([0x03]));
    await expectCode(node.processTx(wrongPayee.bytes), "job/slash-not-to-client");
    await mine(node, newKey(), W);
    const release = spendTemplate(j.stake, j.jobId, [{
      value: 2n * COIN - 10_000n,
      script: compute.script,
    }], (tx) => signed(0x01, compute, tx, j.stake));
    await expectCode(node.processTx(release.bytes), "job/claim-pending");
    await node.processTx(slash.bytes);
    await mine(node, newKey(), 1);
    assert.ok((await node.getTransaction(slash.id))?.blockHash, "the slash is mined");
    await expectCode(node.processTx(pay.bytes), "job/stake-missing");
  } finally {
    close();
  }
});

Deno.test("non-delivery: the node's answer on chain clears the claim, so payment and release go through", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const W = node.params.jobs.disputeWindow;
    const j = await stakedJob(node, client, compute, coins);
    await node.processTx(
      await j.notice(0x04, client, j.clientChange.txid, 1, j.clientChange.value),
    );
    await mine(node, newKey(), 1);
    const forgedAnswer = await j.notice(0x05, client, coins[1], 0, SUBSIDY);
    await expectCode(node.processTx(forgedAnswer), "job/notice-not-authorised");
    await node.processTx(await j.notice(0x05, compute, j.nodeChange.txid, 1, j.nodeChange.value));
    await mine(node, newKey(), W + 1);
    const slash = spendTemplate(j.stake, j.jobId, [{
      value: 2n * COIN - 10_000n,
      script: client.script,
    }], () => new Uint8Array([0x03]));
    await expectCode(node.processTx(slash.bytes), "job/no-claim");
    const stakeRef = new ByteWriter(36).bytes(fromHex(j.stake.txid)).u32(0).finish();
    const pay = spendTemplate(j.escrow, j.jobId, [{
      value: 5n * COIN - 10_000n,
      script: compute.script,
    }], (tx) => signed(0x01, client, tx, j.escrow, stakeRef));
    await node.processTx(pay.bytes);
    await mine(node, newKey(), W);
    const release = spendTemplate(j.stake, j.jobId, [{
      value: 2n * COIN - 10_000n,
      script: compute.script,
    }], (tx) => signed(0x01, compute, tx, j.stake));
    await node.processTx(release.bytes);
  } finally {
    close();
  }
});

Deno.test("a bad answer is slashable with a DLEQ proof of the shared key; a good one is not", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const { encrypt } = await import("eciesjs");
    const { proveSharedPoint } = await import("./dleq.ts");
    const committed = { tokens: [5, 6, 7], finish: "length" as const };
    const j = await stakedJob(node, client, compute, coins, committed);
    await node.processTx(
      await j.notice(0x04, client, j.clientChange.txid, 1, j.clientChange.value),
    );
    await mine(node, newKey(), 1);
    const clientKey = publicKeyOf(client.secret);
    const lie = encrypt(
      toHex(clientKey),
      new TextEncoder().encode('{"outputTokens":[9,9,9],"finishReason":"length"}'),
    );
    const answerBytes = await j.notice(
      0x05,
      compute,
      j.nodeChange.txid,
      1,
      j.nodeChange.value,
      lie,
    );
    const answer = await node.processTx(answerBytes);
    await mine(node, newKey(), 1);
    const slashWith = (shared: Uint8Array, proof: Uint8Array, answerTxid = answer.txid) =>
      spendTemplate(
        j.stake,
        j.jobId,
        [{ value: 2n * COIN - 10_000n, script: client.script }],
        () =>
          concatBytes(
            new Uint8Array([0x04]),
            fromHex(answerTxid),
            new Uint8Array(4),
            clientKey,
            shared,
            proof,
          ),
      );
    const good = proveSharedPoint(client.secret, lie.subarray(0, 65));
    const forged = proveSharedPoint(newKey().secret, lie.subarray(0, 65));
    await expectCode(
      node.processTx(slashWith(forged.shared, good.proof).bytes),
      "job/answer-not-bad",
    );
    await node.processTx(slashWith(good.shared, good.proof).bytes);
    await mine(node, newKey(), 1);

    // A truthful answer cannot be slashed, whatever the client proves.
    const k = await fundedNode();
    try {
      const j2 = await stakedJob(k.node, k.client, k.compute, k.coins, committed);
      await k.node.processTx(
        await j2.notice(0x04, k.client, j2.clientChange.txid, 1, j2.clientChange.value),
      );
      await mine(k.node, newKey(), 1);
      const key2 = publicKeyOf(k.client.secret);
      const truth = encrypt(
        toHex(key2),
        new TextEncoder().encode('{"outputTokens":[5,6,7],"finishReason":"length"}'),
      );
      const a2 = await k.node.processTx(
        await j2.notice(0x05, k.compute, j2.nodeChange.txid, 1, j2.nodeChange.value, truth),
      );
      await mine(k.node, newKey(), 1);
      const p2 = proveSharedPoint(k.client.secret, truth.subarray(0, 65));
      const attempt = spendTemplate(
        j2.stake,
        j2.jobId,
        [{ value: 2n * COIN - 10_000n, script: k.client.script }],
        () =>
          concatBytes(
            new Uint8Array([0x04]),
            fromHex(a2.txid),
            new Uint8Array(4),
            key2,
            p2.shared,
            p2.proof,
          ),
      );
      await expectCode(k.node.processTx(attempt.bytes), "job/answer-not-bad");
    } finally {
      k.close();
    }
  } finally {
    close();
  }
});
