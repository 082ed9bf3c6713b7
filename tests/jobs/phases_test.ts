/**
 * Each phase of the job client against a real dev node in-process (loopback HTTP, Deno KV), with
 * the compute node's side played by hand: offer, await receipt, pay, await delivery (with the claim
 * and its answer or slash), check delivery, and verify (with a fraud proof the node's real fraud
 * checker accepts).
 */

import assert from "node:assert/strict";
import { encrypt } from "eciesjs";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { COIN } from "../../chain/params.ts";
import { formatCoins } from "../../chain/amount.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { decodeAddress, publicKeyOf } from "../../chain/keys.ts";
import { heldRewardScript, parseOutputScript } from "../../chain/script.ts";
import { decodeTransaction } from "../../chain/tx.ts";
import { answerOutput, fundJobOutput } from "../../chain/job_tx.ts";
import { parsePay } from "../../chain/job_unlock.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { VALIDATOR_PART_DIVISOR } from "../../chain/validation_record.ts";
import { JobClientError } from "../../client/errors.ts";
import { offerJob } from "../../client/phases/offer.ts";
import { awaitReceipt, checkReceipt } from "../../client/phases/receipt.ts";
import { payForJob, paymentFor } from "../../client/phases/pay.ts";
import { awaitDelivery } from "../../client/phases/delivery.ts";
import { checkDelivery, slashBadAnswer } from "../../client/phases/check.ts";
import { publishFraudProof, verifyLocally } from "../../client/phases/verify.ts";
import { fixtureModel, honestOutput } from "../fixture_job.ts";
import { checkFraudClaim } from "../../compute/fraud.ts";
import { waitFor } from "../process_helpers.ts";
import {
  claimUntilSlashed,
  commitJob,
  deliverOutput,
  nextMessageTo,
  phaseBench,
  rewardAddress,
  sendAs,
  stakeAndReceipt,
  TERMS,
} from "./phase_helpers.ts";
import { newKey } from "../chain_helpers.ts";

const OUTPUT = { outputTokens: [5, 6, 7], finishReason: "length" as const };

Deno.test("offer: the escrow locks the reward on chain for the job, and the node's job pool sees the offer", async () => {
  const b = await phaseBench();
  try {
    const { height } = await b.api.status();
    const offered = await offerJob(b.s, TERMS);
    const tx = await b.api.tx(offered.escrow.txid);
    assert.equal(tx.jobId, offered.id);
    assert.equal(BigInt(tx.outputs[0].units), TERMS.reward);
    assert.deepEqual(parseOutputScript(fromHex(tx.outputs[0].scriptPubKey)), {
      type: "job-escrow",
      jobId: offered.jobId,
      clientHash: b.s.clientHash,
      expiryHeight: height + b.s.params.jobs.defaultExpiry,
    });
    const seen = await waitFor("the offer in the pool", async () => {
      const job = await b.api.job(offered.id).catch(() => null);
      return job?.state === "offered" ? job : null;
    });
    assert.equal(seen.id, offered.id);
  } finally {
    await b.close();
  }
});

Deno.test("offer: the escrow's expiry counts from the tip when its coins are chosen, after a wait behind the wallet's other spends", async () => {
  const b = await phaseBench();
  try {
    const { height } = await b.api.status();
    // Another spend of the wallet holds the lock while 3 blocks are mined.
    b.s.spendLock = async (spend) => {
      await b.mine(3);
      return await spend();
    };
    const offered = await offerJob(b.s, TERMS);
    assert.equal(offered.job.expiryHeight, height + 3 + b.s.params.jobs.defaultExpiry);
    const tx = await b.api.tx(offered.escrow.txid);
    const escrow = parseOutputScript(fromHex(tx.outputs[0].scriptPubKey));
    assert.equal(escrow.type === "job-escrow" && escrow.expiryHeight, offered.job.expiryHeight);
  } finally {
    await b.close();
  }
});

Deno.test("await receipt: the first node to accept is assigned; its receipt's stake is checked and broadcast", async () => {
  const b = await phaseBench();
  try {
    const offered = await offerJob(b.s, TERMS);
    const { receipt, committed } = await commitJob(b, offered, OUTPUT);
    assert.deepEqual(committed.computeKey, publicKeyOf(b.compute.secret));
    assert.equal(committed.stake.txid, receipt.stake.txid);
    assert.equal(committed.stake.value, 2n * COIN);
    assert.equal((await b.api.tx(receipt.stake.txid)).confirmations, 0, "the client broadcast it");
    // A receipt whose stake commits to something else is refused with a typed error.
    const other = { ...receipt, commitment: toHex(new Uint8Array(32)) };
    assert.throws(
      () => checkReceipt(other, offered.jobId, b.s.clientHash),
      (e: unknown) => e instanceof JobClientError && e.code === "job/bad-receipt",
    );
  } finally {
    await b.close();
  }
});

Deno.test("await receipt: the node taken declines, the next one to accept is taken; later accepters are released", async () => {
  const b = await phaseBench();
  try {
    const other = newKey();
    const offered = await offerJob(b.s, TERMS);
    const receipt = await stakeAndReceipt(b, offered, OUTPUT);
    const waiting = awaitReceipt(b.s, offered);
    const accept = (from: typeof other) =>
      sendAs(
        b,
        from,
        { t: "accept", jobId: offered.id, rewardAddress: rewardAddress(from) },
        b.s.clientKey,
      );
    await accept(other);
    await nextMessageTo(b, other, "assign");
    await accept(b.compute); // too late: released at once
    assert.equal((await nextMessageTo(b, b.compute, "withdraw")).jobId, offered.id);
    // The node taken lost its place: the client offers again, and the next accept wins.
    await sendAs(
      b,
      other,
      { t: "decline", jobId: offered.id, reason: "not-accepted", detail: "lapsed" },
      b.s.clientKey,
    );
    await accept(b.compute);
    await nextMessageTo(b, b.compute, "assign");
    await sendAs(b, b.compute, receipt, b.s.clientKey);
    const committed = await waiting;
    assert.deepEqual(committed.computeKey, publicKeyOf(b.compute.secret));
    assert.equal(committed.stake.txid, receipt.stake.txid);
  } finally {
    await b.close();
  }
});

Deno.test("await receipt: when every node declines for good, the client stops at once with each reason", async () => {
  const b = await phaseBench();
  try {
    const [x, y] = [newKey(), newKey()];
    const offered = await offerJob(b.s, TERMS);
    const keys = [x, y].map((k) => toHex(publicKeyOf(k.secret)));
    const said: string[] = [];
    b.s.say = (state, d) => said.push(`${state}:${d.reason ?? ""}`);
    const waiting = awaitReceipt(b.s, offered, keys);
    await sendAs(
      b,
      x,
      { t: "decline", jobId: offered.id, reason: "reward-too-low", detail: "at least 1" },
      b.s.clientKey,
    );
    await sendAs(
      b,
      y,
      { t: "decline", jobId: offered.id, reason: "model-not-held", detail: "no such model" },
      b.s.clientKey,
    );
    await assert.rejects(waiting, (e) => {
      assert.ok(e instanceof JobClientError);
      assert.equal(e.code, "job/declined");
      assert.match(e.message, /reward-too-low \(at least 1\)/);
      assert.match(e.message, /model-not-held \(no such model\)/);
      return true;
    });
    assert.deepEqual(said.sort(), ["declined:model-not-held", "declined:reward-too-low"]);
  } finally {
    await b.close();
  }
});

Deno.test("pay: the node receives a payment naming its stake, held for it, which consensus accepts a window later", async () => {
  const b = await phaseBench();
  try {
    const offered = await offerJob(b.s, TERMS);
    const { receipt, committed } = await commitJob(b, offered, OUTPUT);
    const paymentTxid = await payForJob(b.s, offered, committed);
    const m = await nextMessageTo(b, b.compute, "payment");
    const tx = decodeTransaction(fromHex(m.tx));
    const pay = parsePay(tx.inputs[0].scriptSig);
    assert.deepEqual(pay.stake, { txid: receipt.stake.txid, vout: 0 });
    assert.deepEqual(pay.pubkey, b.s.clientKey);
    assert.deepEqual(tx.outputs, [{
      value: TERMS.reward - b.s.fee,
      scriptPubKey: heldRewardScript(
        offered.jobId,
        decodeAddress(rewardAddress(b.compute)),
        b.s.clientHash,
        fromHex(receipt.commitment),
      ),
    }]);
    await b.mine(b.s.params.jobs.disputeWindow + 1);
    assert.equal((await b.node.chain.processTx(fromHex(m.tx))).txid, paymentTxid);
  } finally {
    await b.close();
  }
});

Deno.test("await delivery: a delivery message, or the node's answer on chain to the client's claim", async () => {
  const b = await phaseBench();
  try {
    const offered = await offerJob(b.s, TERMS);
    const { committed } = await commitJob(b, offered, OUTPUT);
    const { ciphertext, delivery } = await deliverOutput(b, offered, committed);
    assert.deepEqual(delivery, { kind: "delivered", ciphertext });

    // No delivery (ignored): the client claims on chain, the node answers there.
    const claiming = awaitDelivery(b.s, offered, committed, {
      timeoutMs: 300,
      ignoreDelivery: true,
    });
    await b.mine(1); // the stake confirms; the claim follows
    const claim = await waitFor("the claim", async () => {
      const notices = await b.api.jobNotices(offered.id);
      if (notices.some((n) => n.kind === "claim")) return true;
      await b.mine(1);
      return false;
    });
    assert.ok(claim);
    const answer = answerOutput(committed.stake, ciphertext);
    const { bytes } = fundJobOutput(answer, offered.jobId, {
      utxos: await b.api.spendableCoins(rewardAddress(b.compute)),
      secretKey: b.compute.secret,
      fee: 80_000n,
    });
    const answerTxid = (await b.api.sendTx(bytes)).txid;
    await b.mine(1);
    assert.deepEqual(await claiming, {
      kind: "answered",
      ciphertext,
      answer: { txid: answerTxid, vout: 0 },
    });
  } finally {
    await b.close();
  }
});

Deno.test("await delivery: a claim left unanswered for the window slashes the stake to the client", async () => {
  const b = await phaseBench();
  try {
    const offered = await offerJob(b.s, TERMS);
    const { committed } = await commitJob(b, offered, OUTPUT);
    const slash = await b.api.tx(await claimUntilSlashed(b, offered, committed));
    assert.equal(slash.outputs[0].address, b.s.address, "the slash pays the client");
  } finally {
    await b.close();
  }
});

Deno.test("check delivery: the output must decrypt to the committed output; a bad answer on chain is slashable", async () => {
  const b = await phaseBench();
  try {
    const offered = await offerJob(b.s, TERMS);
    const commitment = toHex(outputCommitment(offered.jobId, OUTPUT.outputTokens, "length"));
    const seal = (text: string) => encrypt(toHex(b.s.clientKey), new TextEncoder().encode(text));
    const truth = seal(JSON.stringify(OUTPUT));
    assert.deepEqual(checkDelivery(b.s.secretKey, truth, offered.jobId, commitment), OUTPUT);
    const lie = seal('{"outputTokens":[9,9,9],"finishReason":"length"}');
    assert.equal(checkDelivery(b.s.secretKey, lie, offered.jobId, commitment), null);
    assert.equal(checkDelivery(b.s.secretKey, seal("not json"), offered.jobId, commitment), null);
    assert.equal(
      checkDelivery(b.s.secretKey, new Uint8Array(80), offered.jobId, commitment),
      null,
    );

    // The lie answered on chain to a claim: the client's DLEQ-proven slash is accepted.
    const { committed } = await commitJob(b, offered, OUTPUT);
    const claiming = awaitDelivery(b.s, offered, committed, {
      timeoutMs: 200,
      ignoreDelivery: true,
    });
    await waitFor("the claim", async () => {
      if ((await b.api.jobNotices(offered.id)).some((n) => n.kind === "claim")) return true;
      await b.mine(1);
      return false;
    });
    const { bytes } = fundJobOutput(answerOutput(committed.stake, lie), offered.jobId, {
      utxos: await b.api.spendableCoins(rewardAddress(b.compute)),
      secretKey: b.compute.secret,
      fee: 80_000n,
    });
    await b.api.sendTx(bytes);
    await b.mine(1);
    const answered = await claiming;
    assert.equal(answered.kind, "answered");
    if (answered.kind !== "answered") return;
    const slashTxid = await slashBadAnswer(b.s, offered, committed, lie, answered.answer);
    const slash = await b.api.tx(slashTxid);
    assert.equal(slash.outputs[0].address, b.s.address);
  } finally {
    await b.close();
  }
});

/**
 * A phase bench whose chain decides fraud proofs on the fixture model, a job of that model offered
 * on it and the job's honest output (the caller closes `b`).
 */
async function offeredFixtureJob() {
  const fixture = await fixtureModel();
  const { gguf } = fixture;
  const b = await phaseBench((claim) => checkFraudClaim(claim, gguf));
  try {
    const terms = { ...TERMS, modelId: modelIdFromBytes(gguf), maxTokens: 24 };
    const offered = await offerJob(b.s, terms);
    const honest = await honestOutput(fixture, offered.job, offered.jobId);
    return { gguf, b, offered, honest };
  } catch (e) {
    await b.close();
    throw e;
  }
}

Deno.test("verify: an honest output passes; a changed token is disputed with a fraud proof the node accepts", async () => {
  const { gguf, b, offered, honest } = await offeredFixtureJob();
  try {
    const output = { outputTokens: honest.outputTokens, finishReason: honest.finishReason };
    const ok = await verifyLocally(offered, output, { gguf });
    assert.equal(ok.verdict.verdict, "honest", ok.verdict.reasons.join("; "));
    assert.equal(ok.dispute, undefined);

    // A changed first token: a sampled check (which always checks position 0) finds it, and a
    // full check names every failing position.
    const cheat = [...output.outputTokens];
    cheat[0] = cheat[0] === 100 ? 101 : 100;
    const false_ = { ...output, outputTokens: cheat };
    const bad = await verifyLocally(offered, false_, { gguf, positions: "sampled", k: 2 });
    assert.equal(bad.verdict.verdict, "fraud", bad.verdict.reasons.join("; "));
    assert.equal(bad.verdict.positions, "sampled");
    assert.ok(bad.dispute?.includes(0), `dispute ${bad.dispute}`);

    // The node committed to the false output: the fraud proof slashes the stake and refunds the escrow.
    const { committed } = await commitJob(b, offered, false_);
    await b.mine(1);
    const fraudTxid = await publishFraudProof(b.s, offered, committed, false_, bad.dispute!);
    const proof = await b.api.tx(fraudTxid);
    assert.equal(proof.outputs[0].address, b.s.address);
    assert.equal(
      BigInt(proof.outputs[0].units),
      committed.stake.value + offered.escrow.value - b.s.fee,
    );
  } finally {
    await b.close();
  }
});
Deno.test("verify: once the payment is mined, the fraud proof takes the held payment back with the stake", async () => {
  const { gguf, b, offered, honest } = await offeredFixtureJob();
  try {
    const cheat = [...honest.outputTokens];
    const last = cheat.length - 1;
    cheat[last] = cheat[last] === 100 ? 101 : 100;
    const false_ = { outputTokens: cheat, finishReason: honest.finishReason };
    const { committed } = await commitJob(b, offered, false_);
    const paymentTxid = await payForJob(b.s, offered, committed);
    const m = await nextMessageTo(b, b.compute, "payment");
    await b.mine(b.s.params.jobs.disputeWindow + 1);
    await b.node.chain.processTx(fromHex(m.tx));
    await b.mine(1);
    const heldUntil = epochEnd(b.s.params.sprint, (await b.api.tx(paymentTxid)).height!);
    const paid = await waitFor("the pool showing the held payment", async () => {
      const job = await b.api.job(offered.id);
      return job.state === "paid" ? job : null;
    });
    assert.deepEqual(paid.held, {
      txid: paymentTxid,
      vout: 0,
      value: formatCoins(offered.escrow.value - b.s.fee),
      heldUntil,
    });
    const bad = await verifyLocally(offered, false_, { gguf });
    const fraudTxid = await publishFraudProof(b.s, offered, committed, false_, bad.dispute!);
    const proof = await b.api.tx(fraudTxid);
    const spent = decodeTransaction(fromHex(proof.hex)).inputs.map((i) => toHex(i.prevout.txid));
    assert.deepEqual(spent, [committed.stake.txid, paymentTxid], "the stake and the held payment");
    assert.equal(proof.outputs[0].address, b.s.address);
    assert.equal(
      BigInt(proof.outputs[0].units),
      committed.stake.value + offered.escrow.value - 2n * b.s.fee,
    );
    await b.mine(1);
    await waitFor(
      "the pool showing the job disputed",
      async () => (await b.api.job(offered.id)).state === "disputed",
    );
  } finally {
    await b.close();
  }
});
Deno.test("verify: a payment with a validation pool, mined: the fraud proof takes its held reward and its pool back with the stake", async () => {
  const { gguf, b, offered, honest } = await offeredFixtureJob();
  try {
    const cheat = [...honest.outputTokens];
    cheat[0] = cheat[0] === 100 ? 101 : 100;
    const false_ = { outputTokens: cheat, finishReason: honest.finishReason };
    const { committed } = await commitJob(b, offered, false_);
    const payment = paymentFor(b.s, offered, committed, true);
    assert.equal(await payForJob(b.s, offered, committed, payment), payment.txid);
    const m = await nextMessageTo(b, b.compute, "payment");
    assert.equal(m.tx, payment.message.tx);
    const total = offered.escrow.value - b.s.fee;
    const pool = total / BigInt(VALIDATOR_PART_DIVISOR);
    assert.deepEqual(payment.tx.outputs.map((o) => o.value), [total - pool, pool]);
    assert.equal(parseOutputScript(payment.tx.outputs[1].scriptPubKey).type, "validation-pool");
    await b.mine(b.s.params.jobs.disputeWindow + 1);
    await b.node.chain.processTx(fromHex(m.tx));
    await b.mine(1);
    const bad = await verifyLocally(offered, false_, { gguf });
    const fraudTxid = await publishFraudProof(
      b.s,
      offered,
      committed,
      false_,
      bad.dispute!,
      payment,
    );
    const proof = await b.api.tx(fraudTxid);
    const spent = decodeTransaction(fromHex(proof.hex)).inputs.map((i) =>
      `${toHex(i.prevout.txid)}:${i.prevout.vout}`
    );
    assert.deepEqual(
      spent,
      [`${committed.stake.txid}:${committed.stake.vout}`, `${payment.txid}:0`, `${payment.txid}:1`],
      "the stake, the held reward and the pool",
    );
    assert.equal(proof.outputs[0].address, b.s.address);
    assert.equal(
      BigInt(proof.outputs[0].units),
      committed.stake.value + offered.escrow.value - 2n * b.s.fee,
    );
  } finally {
    await b.close();
  }
});
