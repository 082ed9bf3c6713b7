import assert from "node:assert/strict";
import { toHex } from "./bytes.ts";
import { publicKeyOf } from "./keys.ts";
import { mine, newKey } from "../tests/chain_helpers.ts";
import { badAnswerTx, heldPayout, nonDeliveryTx, payTx, releaseTx } from "./job_tx.ts";
import { proveSharedPoint } from "./dleq.ts";
import { encrypt } from "eciesjs";
import { expectCode, fundedNode, sent, stakedJob, SUBSIDY } from "../tests/job_spend_helpers.ts";

Deno.test("non-delivery: an unanswered claim blocks payment and release, then slashes the stake to the client", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const W = node.params.jobs.disputeWindow;
    const j = await stakedJob(node, client, compute, coins);
    const forged = j.notice("claim", compute, j.nodeChange.txid, 1, j.nodeChange.value);
    await expectCode(node.processTx(forged), "job/notice-not-authorised");
    await node.processTx(j.notice("claim", client, j.clientChange.txid, 1, j.clientChange.value));
    await mine(node, newKey(), 1);
    const slash = sent(nonDeliveryTx(j.stake, { payTo: client.script, fee: 10_000n }, j.jobId));
    await expectCode(node.processTx(slash.bytes), "job/claim-window");
    await mine(node, newKey(), W);
    const pay = sent(
      payTx(j.escrow, j.stake, heldPayout(j.stake, 10_000n), j.jobId, client.secret),
    );
    await expectCode(node.processTx(pay.bytes), "job/claim-pending");
    const thief = newKey();
    const wrongPayee = sent(nonDeliveryTx(j.stake, { payTo: thief.script, fee: 10_000n }, j.jobId));
    await expectCode(node.processTx(wrongPayee.bytes), "job/slash-not-to-client");
    await mine(node, newKey(), W);
    const release = sent(
      releaseTx(j.stake, { payTo: compute.script, fee: 10_000n }, j.jobId, compute.secret),
    );
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
    await node.processTx(j.notice("claim", client, j.clientChange.txid, 1, j.clientChange.value));
    await mine(node, newKey(), 1);
    const forgedAnswer = j.notice("answer", client, coins[1], 0, SUBSIDY);
    await expectCode(node.processTx(forgedAnswer), "job/notice-not-authorised");
    await node.processTx(j.notice("answer", compute, j.nodeChange.txid, 1, j.nodeChange.value));
    await mine(node, newKey(), W + 1);
    const slash = sent(nonDeliveryTx(j.stake, { payTo: client.script, fee: 10_000n }, j.jobId));
    await expectCode(node.processTx(slash.bytes), "job/no-claim");
    const pay = sent(
      payTx(j.escrow, j.stake, heldPayout(j.stake, 10_000n), j.jobId, client.secret),
    );
    await node.processTx(pay.bytes);
    await mine(node, newKey(), W);
    const release = sent(
      releaseTx(j.stake, { payTo: compute.script, fee: 10_000n }, j.jobId, compute.secret),
    );
    await node.processTx(release.bytes);
  } finally {
    close();
  }
});

Deno.test("a bad answer is slashable with a DLEQ proof of the shared key; a good one is not", async () => {
  const { node, close, client, compute, coins } = await fundedNode();
  try {
    const committed = { tokens: [5, 6, 7], finish: "length" as const };
    const j = await stakedJob(node, client, compute, coins, committed);
    await node.processTx(j.notice("claim", client, j.clientChange.txid, 1, j.clientChange.value));
    await mine(node, newKey(), 1);
    const clientKey = publicKeyOf(client.secret);
    const lie = encrypt(
      toHex(clientKey),
      new TextEncoder().encode('{"outputTokens":[9,9,9],"finishReason":"length"}'),
    );
    const answerBytes = j.notice("answer", compute, j.nodeChange.txid, 1, j.nodeChange.value, lie);
    const answer = await node.processTx(answerBytes);
    await mine(node, newKey(), 1);
    const slashWith = (shared: Uint8Array, proof: Uint8Array, answerTxid = answer.txid) =>
      sent(badAnswerTx(
        j.stake,
        { answer: { txid: answerTxid, vout: 0 }, clientKey, shared, proof },
        { payTo: client.script, fee: 10_000n },
        j.jobId,
      ));
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
        j2.notice("claim", k.client, j2.clientChange.txid, 1, j2.clientChange.value),
      );
      await mine(k.node, newKey(), 1);
      const key2 = publicKeyOf(k.client.secret);
      const truth = encrypt(
        toHex(key2),
        new TextEncoder().encode('{"outputTokens":[5,6,7],"finishReason":"length"}'),
      );
      const a2 = await k.node.processTx(
        j2.notice("answer", k.compute, j2.nodeChange.txid, 1, j2.nodeChange.value, truth),
      );
      await mine(k.node, newKey(), 1);
      const p2 = proveSharedPoint(k.client.secret, truth.subarray(0, 65));
      const attempt = sent(badAnswerTx(
        j2.stake,
        { answer: { txid: a2.txid, vout: 0 }, clientKey: key2, shared: p2.shared, proof: p2.proof },
        { payTo: k.client.script, fee: 10_000n },
        j2.jobId,
      ));
      await expectCode(k.node.processTx(attempt.bytes), "job/answer-not-bad");
    } finally {
      k.close();
    }
  } finally {
    close();
  }
});
