/**
 * @module Consensus tests of held rewards (docs/protocol.md, "Held rewards"): a job's payment is a held
 * reward the node may spend only from the end of the epoch it was mined in, in the mempool and in
 * blocks alike; a fraud proof before then returns it to the client, after then it is the node's.
 * Fraud proofs are decided by the real fraud checker on the tiny fixture model.
 */

import assert from "node:assert/strict";
import { COIN } from "./params.ts";
import { addressFromHash } from "./keys.ts";
import { heldRewardScript, parseOutputScript } from "./script.ts";
import { claimHeldTx, fraudProofTx, type JobCoin } from "./job_tx.ts";
import { decodeTransaction, type Transaction } from "./tx.ts";
import { makeBlock, mine, newKey, type TestKey } from "../tests/chain_helpers.ts";
import { expectCode, keyHash, lockJobOutput, sent } from "../tests/job_spend_helpers.ts";
import { assertNotWalletCoin, heldBench, paidJob } from "../tests/held_job_helpers.ts";

/** The transaction a sent one carries. */
const decode = (t: { bytes: Uint8Array }): Transaction => decodeTransaction(t.bytes);

/** The node's claim of its held reward, to its own address. */
const claimOf = (compute: TestKey, held: JobCoin, jobId: Uint8Array) =>
  sent(claimHeldTx(held, { payTo: compute.script, fee: 10_000n }, jobId, compute.secret));

Deno.test("a held payment cannot be claimed before its epoch ends, in the mempool or a block; from the end it is the node's", async () => {
  const b = await heldBench();
  try {
    const { node, compute, client } = b;
    const { jobId, held, until } = await paidJob(b, false);
    assert.equal(until, node.tip().height + node.params.sprint.interval);

    const claim = claimOf(compute, held, jobId);
    await expectCode(node.processTx(claim.bytes), "job/reward-held");
    const early = makeBlock(node, newKey(), (blk) => blk.txs.push(decode(claim)));
    await expectCode(node.processBlock(early), "job/reward-held");

    // The wallet does not take a held reward as a coin.
    assertNotWalletCoin(held, compute, client);
    // Only the node's key claims it.
    const thief = sent(
      claimHeldTx(held, { payTo: client.script, fee: 10_000n }, jobId, client.secret),
    );

    await mine(node, newKey(), until - 2 - node.tip().height);
    await expectCode(node.processTx(claim.bytes), "job/reward-held"); // next block: until - 1
    await mine(node, newKey(), 1); // the next block is the epoch's end
    await expectCode(node.processTx(thief.bytes), "tx/wrong-key");
    await node.processTx(claim.bytes);
    await mine(node, newKey(), 1);
    assert.ok((await node.getTransaction(claim.id))?.blockHash, "the claim is mined at the end");
    const paid = await node.getAddressCoins(addressFromHash(keyHash(compute)));
    assert.ok(paid.some((c) => c.txid === claim.id && c.coin.value === held.value - 10_000n));
  } finally {
    await b.close();
  }
});

Deno.test("a fraud proof before the epoch end returns the held payment to the client; after it, the reward is the node's", async () => {
  const b = await heldBench();
  try {
    const { node, client, compute } = b;
    const { job, jobId, output, last, stake, held, until } = await paidJob(b, true);
    const positions = [last];
    const toClient = { payTo: client.script, fee: 10_000n };

    // A proof that pays anyone else, or names a position that holds, is refused.
    await expectCode(
      node.processTx(
        sent(
          fraudProofTx(job, output, positions, null, held, { ...toClient, payTo: compute.script }),
        )
          .bytes,
      ),
      "job/slash-not-to-client",
    );
    await expectCode(
      node.processTx(sent(fraudProofTx(job, output, [0], null, held, toClient)).bytes),
      "job/fraud-not-proven",
    );

    // Stake and held payment together, one proof: both go to the client.
    const proof = sent(fraudProofTx(job, output, positions, stake, held, toClient));
    const block = makeBlock(node, newKey(), (blk) => blk.txs.push(decode(proof)));
    assert.equal((await node.processBlock(block)).status, "connected");
    assert.ok(node.tip().height < until);
    const tx = (await node.getTransaction(proof.id))!.tx;
    assert.equal(tx.outputs[0].value, stake.value + held.value - 10_000n);
    assert.deepEqual(parseOutputScript(tx.outputs[0].scriptPubKey), {
      type: "pay-to-address",
      pubKeyHash: keyHash(client),
    });
    await mine(node, newKey(), until - node.tip().height);
    await expectCode(node.processTx(claimOf(compute, held, jobId).bytes), "tx/missing-inputs");
  } finally {
    await b.close();
  }
});

Deno.test("after the epoch end a fraud proof no longer takes the held payment: it is the node's", async () => {
  const b = await heldBench();
  try {
    const { node, client, compute } = b;
    const { job, jobId, output, last, held, until } = await paidJob(b, true);
    await mine(node, newKey(), until - 1 - node.tip().height);
    const late = sent(
      fraudProofTx(job, output, [last], null, held, { payTo: client.script, fee: 10_000n }),
    );
    await expectCode(node.processTx(late.bytes), "job/reward-released");
    const block = makeBlock(node, newKey(), (blk) => blk.txs.push(decode(late)));
    await expectCode(node.processBlock(block), "job/reward-released");
    await node.processTx(claimOf(compute, held, jobId).bytes);
  } finally {
    await b.close();
  }
});

Deno.test("only an escrow's PAY spend creates a held reward: a wallet spend or a coinbase that makes one is refused", async () => {
  const b = await heldBench();
  try {
    const { node, client, compute } = b;
    const forged = {
      value: COIN,
      scriptPubKey: heldRewardScript(
        new Uint8Array(32).fill(1),
        keyHash(compute),
        keyHash(client),
        new Uint8Array(32).fill(2),
      ),
    };
    const spend = lockJobOutput(client, b.coins.client, forged, new Uint8Array(32).fill(1));
    await expectCode(node.processTx(spend.bytes), "job/held-not-from-pay");
    await expectCode(
      node.processBlock(makeBlock(node, newKey(), (blk) => blk.txs.push(spend.tx))),
      "job/held-not-from-pay",
    );
    const coinbase = makeBlock(node, newKey(), (blk) => {
      const out = blk.txs[0].outputs[0];
      blk.txs[0].outputs = [{ ...out, value: out.value - COIN }, forged];
    });
    await expectCode(node.processBlock(coinbase), "job/held-not-from-pay");
  } finally {
    await b.close();
  }
});
