/**
 * Tests of a validator's rewards on a real dev node with chain-derived weights (real sprint proofs;
 * fraud proofs decided by the real checker on the fixture model): the validator rewards a mined
 * distribution of a payment's validation pool pays to a key are found in the blocks, shown held
 * until the epoch's end, claimed to the key's address at that height and then forgotten; a node
 * started again on the same KV finds them where it left off; another key finds nothing; a reward
 * forfeited by the client's fraud proof is dropped; a reorg that brings a distribution in below the
 * last block scanned is scanned again. And the rewards of a pool's distribution, found with the pool
 * as their source coin.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { distributeTx, fraudProofTx, type JobCoin } from "../../chain/job_tx.ts";
import { hash160, sha256 } from "../../chain/hash.ts";
import { validationPoolScript } from "../../chain/script.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { validationTicket } from "../../chain/validator_draw.ts";
import { signRecord } from "../../chain/validation_record.ts";
import { mine, newKey, relayBlocks, type TestKey } from "../../tests/chain_helpers.ts";
import {
  type HeldBench,
  heldBench,
  payWithPoolInEpochStart,
  proveWeights,
  signedRecord,
  type StakedFixtureJob,
  stakedFixtureJob,
} from "../../tests/held_job_helpers.ts";
import { ChainNode } from "../../chain/node.ts";
import { networkParams } from "../../chain/params.ts";
import { chainWeightsOracle } from "../../verifier-wasm/weights_oracle.ts";
import { ValidatorRewards, validatorRewardsIn } from "./validator_rewards.ts";

const CLAIM_FEE = 20_000n;

/** The validator rewards book of `key` on the bench's node. */
function bookOf(b: HeldBench, key: TestKey): ValidatorRewards {
  return new ValidatorRewards({
    chain: b.node,
    secretKey: key.secret,
    rewardAddress: addressFromPublicKey(publicKeyOf(key.secret)),
    fee: CLAIM_FEE,
  });
}

/** A weights bench: the fixture job of `cheat` staked, `v` and `w` holding all the weight. */
async function weightedJob(b: HeldBench, cheat: boolean, v: TestKey, w: TestKey) {
  const staked = await stakedFixtureJob(b, cheat);
  const sprint = await proveWeights(b.node, newKey(), [[v, 1600], [w, 1600]]);
  return { staked, sprint };
}

/** The client's distribution of `pool` to the records of `v` and `w` (ascending key) on `staked`. */
function distributionOf(
  b: HeldBench,
  pool: JobCoin,
  staked: StakedFixtureJob,
  sprint: number,
  v: TestKey,
  w: TestKey,
) {
  const records = [signedRecord(v, staked, sprint), signedRecord(w, staked, sprint)]
    .sort((x, y) => toHex(x.validatorKey) < toHex(y.validatorKey) ? -1 : 1);
  return distributeTx({ pool, records, secretKey: b.client.secret, fee: 4_000n });
}

/**
 * A fixture job paid with a validation pool in the first block of an epoch, the pool distributed to
 * validators `v` and `w` in the next block: the distribution, its height, the epoch's end and each
 * validator's reward.
 */
async function paidToValidators(b: HeldBench, cheat: boolean, v: TestKey, w: TestKey) {
  const { staked, sprint } = await weightedJob(b, cheat, v, w);
  const { paid, until } = await payWithPoolInEpochStart(b, [staked]);
  const dist = distributionOf(b, paid[0].pool, staked, sprint, v, w);
  await b.node.processTx(encodeTransaction(dist));
  await mine(b.node, newKey(), 1);
  const paidHeight = b.node.tip().height;
  assert.equal((await b.node.getTransaction(txid(dist)))?.height, paidHeight);
  assert.equal(epochEnd(b.node.params.sprint, paidHeight), until, "distributed in the epoch");
  return { staked, held: paid[0].held, dist, paidHeight, until, each: dist.outputs[0].value };
}

Deno.test("validator rewards: found in the blocks, held until the epoch's end, claimed to the validator's address, then forgotten; a restarted book resumes; another key finds none", async () => {
  const b = await heldBench(chainWeightsOracle);
  try {
    const [v, w] = [newKey(), newKey()];
    const book = bookOf(b, v);
    await book.onBlock(); // scans the chain so far: nothing yet
    assert.deepEqual(book.status(), []);
    const { staked, paidHeight, until, each } = await paidToValidators(b, false, v, w);
    await book.onBlock();
    const shown = {
      jobId: toHex(staked.jobId),
      units: each.toString(),
      paidHeight,
      heldUntil: until,
    };
    assert.deepEqual(book.status(), [shown]);
    assert.equal(b.node.mempool.entries().length, 0, "no claim before the epoch's end");
    const stranger = bookOf(b, newKey());
    await stranger.onBlock();
    assert.deepEqual(stranger.status(), [], "another key is paid nothing");

    // A node started again on the same KV: the reward is in its book.
    const again = bookOf(b, v);
    await again.onBlock();
    assert.deepEqual(again.status(), [shown]);

    await mine(b.node, newKey(), until - 1 - b.node.tip().height);
    await again.onBlock();
    const claim = b.node.mempool.entries();
    assert.equal(claim.length, 1, "the claim, at the end of the epoch");
    assert.equal(claim[0].tx.outputs[0].value, each - CLAIM_FEE);
    await mine(b.node, newKey(), 1);
    await again.onBlock();
    assert.deepEqual(again.status(), [], "claimed, then forgotten");
    const coins = await b.node.getAddressCoins(addressFromPublicKey(publicKeyOf(v.secret)));
    assert.ok(coins.some((c) => c.txid === claim[0].txid && c.coin.value === each - CLAIM_FEE));
  } finally {
    await b.close();
  }
});

Deno.test("validator rewards: a reward forfeited by the client's fraud proof before the epoch's end is dropped", async () => {
  const b = await heldBench(chainWeightsOracle);
  try {
    const [v, w] = [newKey(), newKey()];
    const book = bookOf(b, v);
    const { staked, dist, held } = await paidToValidators(b, true, v, w);
    await book.onBlock();
    assert.equal(book.status().length, 1);
    const proof = fraudProofTx(
      staked.job,
      staked.output,
      [staked.last],
      staked.stake,
      held,
      { payTo: b.client.script, fee: 10_000n },
      [0, 2].map((vout) => ({ txid: txid(dist), vout, value: dist.outputs[vout].value })),
    );
    await b.node.processTx(encodeTransaction(proof));
    await mine(b.node, newKey(), 1);
    await book.onBlock();
    assert.deepEqual(book.status(), [], "forfeited: gone from the book");
  } finally {
    await b.close();
  }
});

Deno.test("validator rewards: a reorg that brings the distribution in below the last block scanned finds it there", async () => {
  const b = await heldBench(chainWeightsOracle);
  const otherDir = await Deno.makeTempDir({ prefix: "camelid-chain-" });
  const otherKv = await Deno.openKv(`${otherDir}/chain.kv`);
  try {
    const other = await ChainNode.open({
      params: networkParams("dev"),
      kv: otherKv,
      weightsOracle: chainWeightsOracle,
    });
    const [v, w] = [newKey(), newKey()];
    const { staked, sprint } = await weightedJob(b, false, v, w);
    const { paid } = await payWithPoolInEpochStart(b, [staked]);
    const fork = b.node.tip().height;
    const shared = [];
    for (let h = 1; h <= fork; h++) shared.push(b.node.hashAtHeight(h)!);
    await relayBlocks(b.node, other, shared);
    // The other node mines the distribution in the block after the fork, then three more.
    const dist = distributionOf(b, paid[0].pool, staked, sprint, v, w);
    await other.processTx(encodeTransaction(dist));
    const branch = await mine(other, newKey(), 4);
    assert.equal((await other.getTransaction(txid(dist)))?.height, fork + 1);
    // This node mines three blocks without it; the book scans them.
    await mine(b.node, newKey(), 3);
    const book = bookOf(b, v);
    await book.onBlock();
    assert.deepEqual(book.status(), []);
    // The longer branch replaces them: the distribution is now below the last block scanned.
    await relayBlocks(other, b.node, branch);
    assert.equal(b.node.tip().hash, branch[3]);
    await book.onBlock();
    assert.deepEqual(book.status(), [{
      jobId: toHex(staked.jobId),
      units: dist.outputs[0].value.toString(),
      paidHeight: fork + 1,
      heldUntil: epochEnd(b.node.params.sprint, fork + 1),
    }]);
  } finally {
    otherKv.close();
    await Deno.remove(otherDir, { recursive: true });
    await b.close();
  }
});

Deno.test("validator rewards in a pool's distribution: each reward paying the key, its source coin the pool (its only input, which pays the fee); other keys and transactions without a DISTRIBUTE input find none", () => {
  const [client, executor] = [newKey(), newKey()];
  const [v, w] = [newKey(), newKey()].sort((x, y) =>
    toHex(publicKeyOf(x.secret)) < toHex(publicKeyOf(y.secret)) ? -1 : 1
  );
  const jobId = sha256(new TextEncoder().encode("a job"));
  const commitment = sha256(new TextEncoder().encode("its output"));
  const clientHash = hash160(publicKeyOf(client.secret));
  const pool = {
    txid: "ab".repeat(32),
    vout: 1,
    value: 290_000n,
    scriptPubKey: validationPoolScript(
      jobId,
      hash160(publicKeyOf(executor.secret)),
      clientHash,
      commitment,
    ),
  };
  const record = (key: TestKey) =>
    signRecord(jobId, commitment, {
      validatorKey: publicKeyOf(key.secret),
      sprint: 1,
      ...validationTicket(jobId, key.secret),
      verdict: "honest",
      positions: 2,
      exceeded: 0,
      detail: sha256(new TextEncoder().encode("a verdict")),
    }, key.secret);
  const tx = distributeTx({
    pool,
    records: [record(v), record(w)],
    secretKey: client.secret,
    fee: 2_000n,
  });
  assert.equal(tx.inputs.length, 1, "the pool alone, which pays the fee");
  const found = validatorRewardsIn(tx, hash160(publicKeyOf(w.secret)));
  assert.deepEqual(found, [{
    jobId: toHex(jobId),
    payment: txid(tx),
    vout: 2,
    escrow: { txid: pool.txid, vout: pool.vout },
    value: 144_000n,
  }]);
  assert.equal(validatorRewardsIn(tx, hash160(publicKeyOf(v.secret)))[0].vout, 0);
  assert.deepEqual(validatorRewardsIn(tx, hash160(publicKeyOf(client.secret))), []);
  // The same outputs without the DISTRIBUTE input (consensus creates none such): no source, none.
  assert.deepEqual(
    validatorRewardsIn({ ...tx, inputs: tx.inputs.slice(1) }, hash160(publicKeyOf(w.secret))),
    [],
  );
});
