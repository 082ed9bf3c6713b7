/**
 * Tests of a validator's rewards on a real dev node (fraud proofs decided by the real checker on the
 * fixture model): the validator rewards a mined payment pays to a key are found in the blocks, shown
 * held until the epoch's end, claimed to the key's address at that height and then forgotten; a node
 * started again on the same KV finds them where it left off; another key finds nothing; a reward
 * forfeited by the client's fraud proof is dropped; a reorg that brings a payment in below the last
 * block scanned is scanned again. And the rewards of a pool's distribution, found with the pool as
 * their source coin.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import {
  distributeTx,
  fraudProofTx,
  heldPayout,
  payTx,
  validatorRewardCoins,
} from "../../chain/job_tx.ts";
import { hash160, sha256 } from "../../chain/hash.ts";
import { validationPoolScript } from "../../chain/script.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { validatorSplit } from "../../chain/validation_record.ts";
import { validationTicket } from "../../chain/validator_draw.ts";
import { verdictRecordBody } from "../../client/validator_ticket.ts";
import { signRecord } from "../../chain/validation_record.ts";
import { mine, newKey, openDevNode, relayBlocks, type TestKey } from "../../tests/chain_helpers.ts";
import {
  type HeldBench,
  heldBench,
  PAY_FEE,
  payInEpochStart,
  type StakedFixtureJob,
  stakedFixtureJob,
} from "../../tests/held_job_helpers.ts";
import { ValidatorRewards, validatorRewardsIn } from "./validator_rewards.ts";

const CLAIM_FEE = 20_000n;

/** `validator`'s signed record of an honest verdict on two positions of `staked`. */
function recordOf(validator: TestKey, staked: StakedFixtureJob) {
  const ticket = validationTicket(staked.jobId, validator.secret);
  const body = verdictRecordBody({
    nonce: "00".repeat(16),
    verdict: "honest",
    checked: [
      { position: 0, outcome: "pass", margin: -2 },
      { position: 1, outcome: "pass", margin: 0.5 },
    ],
  }, {
    key: toHex(publicKeyOf(validator.secret)),
    sprint: 1,
    gamma: toHex(ticket.gamma),
    proof: toHex(ticket.proof),
  });
  return signRecord(staked.jobId, staked.commitment, body, validator.secret);
}

/** The validator rewards book of `key` on the bench's node. */
function bookOf(b: HeldBench, key: TestKey): ValidatorRewards {
  return new ValidatorRewards({
    chain: b.node,
    secretKey: key.secret,
    rewardAddress: addressFromPublicKey(publicKeyOf(key.secret)),
    fee: CLAIM_FEE,
  });
}

/** A fixture job paid in the first block of an epoch to validators `v` and `w` (ascending key). */
async function paidToValidators(b: HeldBench, cheat: boolean, v: TestKey, w: TestKey) {
  const staked = await stakedFixtureJob(b, cheat);
  const records = [recordOf(v, staked), recordOf(w, staked)]
    .sort((x, y) => toHex(x.validatorKey) < toHex(y.validatorKey) ? -1 : 1);
  const paid = await payInEpochStart(b, staked, records);
  const { each } = validatorSplit(staked.escrow.value - PAY_FEE, 2);
  return { staked, ...paid, each };
}

Deno.test("validator rewards: found in the blocks, held until the epoch's end, claimed to the validator's address, then forgotten; a restarted book resumes; another key finds none", async () => {
  const b = await heldBench();
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
  const b = await heldBench();
  try {
    const [v, w] = [newKey(), newKey()];
    const book = bookOf(b, v);
    const { staked, payment, pay, held } = await paidToValidators(b, true, v, w);
    await book.onBlock();
    assert.equal(book.status().length, 1);
    const proof = fraudProofTx(
      staked.job,
      staked.output,
      [staked.last],
      staked.stake,
      held,
      { payTo: b.client.script, fee: 10_000n },
      validatorRewardCoins(pay.id, payment.outputs),
    );
    await b.node.processTx(encodeTransaction(proof));
    await mine(b.node, newKey(), 1);
    await book.onBlock();
    assert.deepEqual(book.status(), [], "forfeited: gone from the book");
  } finally {
    await b.close();
  }
});

Deno.test("validator rewards: a reorg that brings the payment in below the last block scanned finds it there", async () => {
  const b = await heldBench();
  const other = await openDevNode();
  try {
    const [v, w] = [newKey(), newKey()];
    const staked = await stakedFixtureJob(b, false);
    const fork = b.node.tip().height;
    const shared = [];
    for (let h = 1; h <= fork; h++) shared.push(b.node.hashAtHeight(h)!);
    await relayBlocks(b.node, other.node, shared);
    // The other node mines the payment in the block after the fork, then three more.
    const records = [recordOf(v, staked), recordOf(w, staked)]
      .sort((x, y) => toHex(x.validatorKey) < toHex(y.validatorKey) ? -1 : 1);
    const payment = payTx(
      staked.escrow,
      staked.stake,
      heldPayout(staked.stake, PAY_FEE),
      staked.jobId,
      b.client.secret,
      records,
    );
    await other.node.processTx(encodeTransaction(payment));
    const branch = await mine(other.node, newKey(), 4);
    assert.equal((await other.node.getTransaction(txid(payment)))?.height, fork + 1);
    // This node mines three blocks without it; the book scans them.
    await mine(b.node, newKey(), 3);
    const book = bookOf(b, v);
    await book.onBlock();
    assert.deepEqual(book.status(), []);
    // The longer branch replaces them: the payment is now below the last block scanned.
    await relayBlocks(other.node, b.node, branch);
    assert.equal(b.node.tip().hash, branch[3]);
    await book.onBlock();
    assert.deepEqual(book.status(), [{
      jobId: toHex(staked.jobId),
      units: validatorSplit(staked.escrow.value - PAY_FEE, 2).each.toString(),
      paidHeight: fork + 1,
      heldUntil: epochEnd(b.node.params.sprint, fork + 1),
    }]);
  } finally {
    other.close();
    await b.close();
  }
});

Deno.test("validator rewards in a pool's distribution: each reward paying the key, its source coin the pool (its only input, which pays the fee); other keys and transactions without a PAY or DISTRIBUTE input find none", () => {
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
