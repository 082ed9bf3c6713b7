/**
 * @module Tests of a validator's node keeping the distributions that pay it
 * (distribution_keeper.ts), on a real dev chain with real sprint weights, a real fixture job paid
 * with a validation pool and the client's real DISTRIBUTE: kept while the payment is unknown (and
 * after a restart on the same KV), submitted once the payment is in the mempool, dropped once
 * mined; one that does not pay the node, is not signed by its sender or is malformed is not kept;
 * one whose pool's epoch ended is dropped unsubmitted; the per-sender bound holds and distributions
 * whose payment never comes are dropped.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { distributeTx, type JobCoin, payWithPoolTx, poolCoin } from "../../chain/job_tx.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { validationPoolScript } from "../../chain/script.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { type DistributionMessage, MAX_DISTRIBUTION_BYTES } from "../../client/job_messages.ts";
import { chainWeightsOracle } from "../../verifier-wasm/weights_oracle.ts";
import { coinbaseOf, mine, newKey, type TestKey } from "../../tests/chain_helpers.ts";
import { keyHash, sent } from "../../tests/job_spend_helpers.ts";
import {
  heldBench,
  PAY_FEE,
  proveWeights,
  signedRecord,
  type StakedFixtureJob,
  stakedFixtureJob,
} from "../../tests/held_job_helpers.ts";
import { DISTRIBUTION, DistributionKeeper, MAX_KEPT_PER_SENDER } from "./distribution_keeper.ts";

/** The fee of every distribution here (within 1..10 units a byte of its size). */
const DIST_FEE = 2_000n;

Deno.test("distribution keeper: kept while the payment is unknown and across a restart, submitted once it is known, dropped once mined; not kept when it does not pay the node, is not its sender's or is malformed; dropped unsubmitted once the pool's epoch ended; bounded per sender; dropped when the payment never comes", async () => {
  const b = await heldBench(chainWeightsOracle);
  try {
    const { node, client, compute } = b;
    const miner = newKey();
    const clientCoins = [b.coins.client];
    const computeCoins = [b.coins.compute];
    for (const h of await mine(node, client, 1)) clientCoins.push(await coinbaseOf(node, h));
    for (const h of await mine(node, compute, 1)) computeCoins.push(await coinbaseOf(node, h));
    await mine(node, miner, node.params.coinbaseMaturity);
    const jobs: StakedFixtureJob[] = [];
    for (const i of [0, 1]) {
      jobs.push(
        await stakedFixtureJob(b, false, { client: clientCoins[i], compute: computeCoins[i] }),
      );
    }
    const [A, B] = jobs;
    // Both validators hold half the weight: each is due for every job.
    const [validator, other] = [newKey(), newKey()];
    const sprint = await proveWeights(node, miner, [[validator, 1600], [other, 1600]]);
    await mine(node, miner, node.params.sprint.window); // the sprint's window closed: in force

    const clientKey = publicKeyOf(client.secret);
    /** The client's payment of `job` with a pool (not sent), and its pool. */
    const pay = (job: StakedFixtureJob) => {
      const tx = payWithPoolTx(job.escrow, job.stake, PAY_FEE, job.jobId, client.secret);
      const payment = sent(tx);
      return { ...payment, pool: poolCoin(payment.id, tx.outputs)! };
    };
    /** The client's distribution of `pool` of `job` to `keys`, as a message. */
    const distribution = (
      job: StakedFixtureJob,
      pool: JobCoin,
      keys: TestKey[],
      signer = client,
    ) => {
      const tx = distributeTx({
        pool,
        records: keys.map((k) => signedRecord(k, job, sprint)),
        secretKey: signer.secret,
        fee: DIST_FEE,
      });
      const m: DistributionMessage = {
        t: "distribution",
        jobId: toHex(job.jobId),
        tx: toHex(encodeTransaction(tx)),
      };
      return { m, id: txid(tx) };
    };
    const kept = async (keeper: DistributionKeeper) => {
      await keeper.onBlock();
      return keeper.kept;
    };

    const payA = pay(A);
    const distA = distribution(A, payA.pool, [validator]);
    const keeper = new DistributionKeeper({ chain: node, secretKey: validator.secret });
    assert.equal(await keeper.receive(clientKey, distA.m), null);
    assert.equal(keeper.kept, 1);
    assert.equal(await keeper.receive(clientKey, distA.m), null, "the same again: one kept");
    assert.equal(keeper.kept, 1);
    assert.equal(await node.getTransaction(distA.id), null, "the payment unknown: not submitted");

    // Not kept: paying another key only, signed by another key than its sender's, not a
    // transaction, or named for another job.
    assert.equal(
      await keeper.receive(clientKey, distribution(A, payA.pool, [other]).m),
      "distribution/not-paying",
    );
    assert.equal(
      await keeper.receive(publicKeyOf(newKey().secret), distA.m),
      "distribution/not-sender",
    );
    // A stranger signing a distribution of the pool: its rewards name the pool's client, not it.
    const stranger = newKey();
    const strangerKey = publicKeyOf(stranger.secret);
    assert.equal(
      await keeper.receive(strangerKey, distribution(A, payA.pool, [validator], stranger).m),
      "distribution/not-sender",
    );
    // One naming itself the client of that outpoint's pool is kept (the payment is unknown yet),
    // apart from the client's.
    const forgedPool = {
      ...payA.pool,
      scriptPubKey: validationPoolScript(
        A.jobId,
        keyHash(compute),
        keyHash(stranger),
        A.commitment,
      ),
    };
    assert.equal(
      await keeper.receive(strangerKey, distribution(A, forgedPool, [validator], stranger).m),
      null,
    );
    assert.equal(keeper.kept, 2);
    assert.equal(
      await keeper.receive(clientKey, { ...distA.m, tx: "00" }),
      "distribution/malformed",
    );
    assert.equal(
      await keeper.receive(clientKey, { ...distA.m, jobId: toHex(B.jobId) }),
      "distribution/malformed",
    );
    // Eight validators: the largest distribution fits a message.
    const eight = distribution(A, payA.pool, Array.from({ length: 8 }, () => newKey()));
    assert.ok(eight.m.tx.length / 2 <= MAX_DISTRIBUTION_BYTES, `${eight.m.tx.length / 2} bytes`);

    // A restart: a keeper on the same KV keeps them.
    const restarted = new DistributionKeeper({ chain: node, secretKey: validator.secret });
    assert.equal(await kept(restarted), 2);

    // The payment comes: the client's distribution is submitted, the stranger's (not the pool's
    // client) dropped; mined, the client's is dropped too.
    await node.processTx(payA.bytes);
    assert.equal(await kept(restarted), 1);
    const pending = await node.getTransaction(distA.id);
    assert.ok(pending && pending.height === null, "submitted to the mempool");
    await mine(node, miner, 1);
    assert.equal((await node.getTransaction(distA.id))?.height, node.tip().height, "mined");
    assert.equal(await kept(restarted), 0, "dropped once mined");
    const left = await Array.fromAsync(node.store.kv.list({ prefix: [DISTRIBUTION] }));
    assert.deepEqual(left, []);

    // B's payment is mined; its distribution comes only once the pool's epoch ended: dropped
    // without being submitted.
    const payB = pay(B);
    const distB = distribution(B, payB.pool, [validator]);
    await node.processTx(payB.bytes);
    await mine(node, miner, 1);
    const until = epochEnd(node.params.sprint, node.tip().height);
    await mine(node, miner, until - 1 - node.tip().height);
    assert.equal(await restarted.receive(clientKey, distB.m), null);
    assert.equal(restarted.kept, 0, "the pool's epoch ended");
    assert.equal(await node.getTransaction(distB.id), null, "not submitted");

    // At most MAX_KEPT_PER_SENDER from one sender (pools nobody paid yet).
    const spammer = newKey();
    for (let i = 0; i <= MAX_KEPT_PER_SENDER; i++) {
      const pool = {
        txid: toHex(crypto.getRandomValues(new Uint8Array(32))),
        vout: 1,
        value: payA.pool.value,
        scriptPubKey: validationPoolScript(
          A.jobId,
          keyHash(compute),
          keyHash(spammer),
          A.commitment,
        ),
      };
      const why = await restarted.receive(
        publicKeyOf(spammer.secret),
        distribution(A, pool, [validator], spammer).m,
      );
      assert.equal(why, i < MAX_KEPT_PER_SENDER ? null : "distribution/full");
    }
    assert.equal(restarted.kept, MAX_KEPT_PER_SENDER);
    const unpaid = { ...payA.pool, txid: toHex(crypto.getRandomValues(new Uint8Array(32))) };
    assert.equal(
      await restarted.receive(clientKey, distribution(A, unpaid, [validator]).m),
      null,
      "another sender is still taken",
    );
    assert.equal(restarted.kept, MAX_KEPT_PER_SENDER + 1);
    // Their payments never come: dropped after a dispute window and an escrow's default expiry.
    const { disputeWindow, defaultExpiry } = node.params.jobs;
    await mine(node, miner, disputeWindow + defaultExpiry - 1);
    assert.equal(await kept(restarted), MAX_KEPT_PER_SENDER + 1);
    await mine(node, miner, 1);
    assert.equal(await kept(restarted), 0);
  } finally {
    await b.close();
  }
});
