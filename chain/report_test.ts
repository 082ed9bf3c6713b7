/**
 * @module Consensus tests of user reports (chain/report_rules.ts): the client's bond accusing a held
 * reward, its resolution on the validators' records judged by the sprint's chain-derived weights
 * (sprint proofs on a real dev chain), the slash of a confirmed report, the validators' pay from a
 * false one, and the executor's expiry of a bond left unresolved. Real dev node, real keys.
 */

import assert from "node:assert/strict";
import { decodeTransaction, encodeTransaction } from "./tx.ts";
import { addressFromPublicKey, publicKeyOf } from "./keys.ts";
import { claimHeldTx, type JobCoin } from "./job_tx.ts";
import { type ReportOutput } from "./report.ts";
import { expireReportTx, reportOutput, reportResolutionTx } from "./report_tx.ts";
import { parseOutputScript } from "./script.ts";
import { isConfirmedReportSpend } from "./report_rules.ts";
import type { RecordVerdict, ValidationRecord } from "./validation_record.ts";
import { coinbaseOf, makeBlock, mine, newKey, type TestKey } from "../tests/chain_helpers.ts";
import { expectCode, keyHash, lockJobOutput, sent } from "../tests/job_spend_helpers.ts";
import { heldBench, paidJob, proveWeights, signedRecord } from "../tests/held_job_helpers.ts";
import { fundFrom } from "../tests/paid_job_helpers.ts";
import { chainWeightsOracle } from "../verifier-wasm/weights_oracle.ts";

/** `key`'s signed record of `verdict` on a job's output, its ticket drawn for the job. */
const voteOf = (
  key: TestKey,
  verdict: RecordVerdict,
  job: { jobId: Uint8Array; commitment: Uint8Array },
  sprint: number,
): ValidationRecord => signedRecord(key, job, sprint, { verdict });

const decode = (bytes: Uint8Array) => decodeTransaction(bytes);

Deno.test("user reports: the bond's rules; a confirmed report slashes the held reward to the client and pays the validators, a false one pays the validators only; no majority, weightless or the executor's records and an unconfirmed REPORT are refused; the executor takes a bond left past the window", async () => {
  const b = await heldBench(chainWeightsOracle);
  try {
    const { node, client, compute } = b;
    const miner = newKey();
    const [v1, v2, v3, newcomer] = [newKey(), newKey(), newKey(), newKey()];
    // Coins: five coinbases of the client (bonds), one of each prover.
    const clientCoins: string[] = [];
    for (const h of await mine(node, client, 5)) clientCoins.push(await coinbaseOf(node, h));
    // Weights of the sprint: v1 clearly more than v2 and v3 together (the executor's coin is kept
    // for its stake: it holds no weight, and its record is refused as its own all the same).
    const sprint = await proveWeights(node, miner, [[v1, 1600], [v2, 300], [v3, 300]]);

    const job = await paidJob(b, true);
    const { held, until } = job;
    const weights = await chainWeightsOracle(node)(sprint);
    const w = (k: TestKey) => weights.get(addressFromPublicKey(publicKeyOf(k.secret))) ?? 0;
    assert.ok(w(v2) > 0 && w(v3) > 0, "every prover holds weight");
    assert.ok(w(v1) > w(v2) + w(v3), `v1 alone is a majority (${w(v1)}, ${w(v2)}, ${w(v3)})`);
    assert.equal(w(newcomer), 0);

    // The bond.
    const report: ReportOutput = { held, sprint };
    const bondValue = 1_000_000n;
    const bondOf = (coin: string, r: ReportOutput = report, value = bondValue) =>
      lockJobOutput(client, coin, reportOutput(r, value), job.jobId);
    await expectCode(
      fundFrom(node, v3, reportOutput(report, bondValue), job.jobId),
      "report/not-authorised",
    );
    await expectCode(
      node.processTx(bondOf(clientCoins[0], { held: { ...held, vout: 3 }, sprint }).bytes),
      "report/no-held-reward",
    );
    await expectCode(
      node.processTx(bondOf(clientCoins[0], { held: job.stake, sprint }).bytes),
      "report/no-held-reward",
    );
    await expectCode(
      node.processTx(bondOf(clientCoins[0], { held, sprint: sprint + 1 }).bytes),
      "report/sprint",
    );
    await expectCode(
      node.processTx(bondOf(clientCoins[0], report, node.params.reportFee - 1n).bytes),
      "report/bond-too-small",
    );
    const minted = makeBlock(node, miner, (blk) => {
      const out = blk.txs[0].outputs[0];
      blk.txs[0].outputs = [
        { ...out, value: out.value - bondValue },
        reportOutput(report, bondValue),
      ];
    });
    await expectCode(node.processBlock(minted), "report/no-held-reward"); // no coinbase bonds
    const bondTxs = clientCoins.slice(0, 4).map((c) => bondOf(c));
    for (const t of bondTxs) await node.processTx(t.bytes);
    await mine(node, miner, 1);
    // Each bond with its transaction's change, which pays the resolution's fee where needed.
    const [b1, b2, b3, b4] = bondTxs.map((t) => ({
      txid: t.id,
      vout: 0,
      value: bondValue,
      scriptPubKey: t.tx.outputs[0].scriptPubKey,
      change: { txid: t.id, vout: 1, value: t.tx.outputs[1].value, scriptPubKey: client.script },
    }));

    const resolve = (
      bond: JobCoin & { change: JobCoin },
      votes: [TestKey, RecordVerdict][],
      slash: boolean,
      fee = 20_000n,
    ) =>
      sent(reportResolutionTx({
        bond,
        records: votes.map(([k, v]) => voteOf(k, v, job, sprint)),
        held: slash ? held : null,
        jobId: job.jobId,
        secretKey: client.secret,
        utxos: [bond.change],
        fee,
      }));

    // Refused resolutions.
    await expectCode(
      node.processTx(resolve(b1, [[v2, "fraud"], [v3, "fraud"]], false).bytes),
      "report/no-majority",
    );
    await expectCode(
      node.processTx(resolve(b1, [[v1, "honest"], [compute, "honest"]], false).bytes),
      "report/self-validation",
    );
    await expectCode(
      node.processTx(resolve(b1, [[v1, "fraud"], [newcomer, "fraud"]], false).bytes),
      "report/no-weight",
    );
    const unconfirmed = resolve(b1, [[v1, "honest"], [v2, "fraud"]], true);
    await expectCode(node.processTx(unconfirmed.bytes), "report/not-confirmed");
    const block = makeBlock(node, miner, (blk) => blk.txs.push(decode(unconfirmed.bytes)));
    await expectCode(node.processBlock(block), "report/not-confirmed");
    await expectCode(
      node.processTx(resolve(b2, [[v1, "fraud"]], false).bytes),
      "report/held-missing",
    );
    // Whoever holds the records cannot resolve for the client: it signs (a coin of its own here).
    const signed = decode(resolve(b1, [[v1, "honest"], [v2, "fraud"]], false).bytes);
    const bare = {
      ...signed,
      inputs: signed.inputs.slice(0, 1),
      outputs: signed.outputs.slice(0, 2),
    };
    await expectCode(node.processTx(encodeTransaction(bare)), "report/not-authorised");

    // A false report (the honest votes hold the majority): the bond pays the validators only.
    const falseReport = resolve(b1, [[v1, "honest"], [v2, "fraud"]], false);
    await node.processTx(falseReport.bytes);
    await mine(node, miner, 1);
    const paid = await node.store.getCoins([0, 1].map((vout) => ({ txid: falseReport.id, vout })));
    assert.deepEqual(paid.map((c) => c?.value), [bondValue / 2n, bondValue / 2n]);
    assert.deepEqual(
      paid.map((c) => c && parseOutputScript(c.scriptPubKey)),
      [v1, v2].map((k) => ({ type: "pay-to-address", pubKeyHash: keyHash(k) })),
    );
    assert.ok((await node.store.getCoins([held]))[0], "the held reward is untouched");

    // After the reward's epoch end no bond is made.
    await mine(node, miner, until - node.tip().height - 1);
    await expectCode(node.processTx(bondOf(clientCoins[4]).bytes), "report/reward-released");

    // A confirmed report: the fraud votes hold the majority; the held reward goes to the client.
    const confirmed = resolve(b2, [[v1, "fraud"], [v2, "fraud"], [v3, "honest"]], true);
    await node.processTx(confirmed.bytes);
    await mine(node, miner, 1);
    const each = bondValue / 3n;
    const out = await node.store.getCoins(
      [0, 1, 2, 3].map((vout) => ({ txid: confirmed.id, vout })),
    );
    assert.deepEqual(out.slice(0, 3).map((c) => c?.value), [each, each, each]);
    assert.equal(out[3]?.value, held.value + bondValue - 3n * each - 20_000n);
    assert.deepEqual(parseOutputScript(out[3]!.scriptPubKey), {
      type: "pay-to-address",
      pubKeyHash: keyHash(client),
    });
    assert.equal((await node.store.getCoins([held]))[0], undefined, "the reward is slashed");
    // What the reputation derivation reads as proven misbehaviour: the held input, not the bond's.
    const mined = (await node.getTransaction(confirmed.id))!.tx;
    assert.deepEqual(
      mined.inputs.map((inp, i) =>
        isConfirmedReportSpend(i === 1 ? held.scriptPubKey : b2.scriptPubKey, inp.scriptSig)
      ),
      [false, true],
    );
    const falseTx = (await node.getTransaction(falseReport.id))!.tx;
    assert.equal(isConfirmedReportSpend(b1.scriptPubKey, falseTx.inputs[0].scriptSig), false);
    // Once the reward is gone, another confirmed report pays its validators without it; a new
    // bond on it finds no reward.
    await node.processTx(resolve(b3, [[v1, "fraud"], [v3, "fraud"]], false).bytes);
    await expectCode(node.processTx(bondOf(clientCoins[4]).bytes), "report/no-held-reward");

    // The executor takes a bond left unresolved, from the epoch end + the report window.
    const expire = () =>
      sent(expireReportTx(b4, { payTo: compute.script, fee: 20_000n }, job.jobId, compute.secret));
    await expectCode(node.processTx(expire().bytes), "report/not-expired");
    await mine(node, miner, until + node.params.reportWindow - node.tip().height - 1);
    await expectCode(
      node.processTx(
        sent(expireReportTx(b4, { payTo: v1.script, fee: 20_000n }, job.jobId, v1.secret)).bytes,
      ),
      "tx/wrong-key",
    );
    const taken = expire();
    await node.processTx(taken.bytes);
    await mine(node, miner, 1);
    assert.equal((await node.getTransaction(taken.id))?.height, node.tip().height);
  } finally {
    await b.close();
  }
});

Deno.test("an open report holds the executor's claim from the epoch end (job/report-pending, mempool and block) until the bond is spent: resolved, or taken by the executor after the window", async () => {
  const b = await heldBench(chainWeightsOracle);
  try {
    const { node, client, compute } = b;
    const miner = newKey();
    const v1 = newKey();
    const clientCoins: string[] = [];
    for (const h of await mine(node, client, 2)) clientCoins.push(await coinbaseOf(node, h));
    const sprint = await proveWeights(node, miner, [[v1, 800]]);
    const job = await paidJob(b, false);
    const { held, until } = job;
    const bondValue = 1_000_000n;
    const bondTx = lockJobOutput(
      client,
      clientCoins[0],
      reportOutput({ held, sprint }, bondValue),
      job.jobId,
    );
    await node.processTx(bondTx.bytes);
    await mine(node, miner, until - node.tip().height);
    assert.equal(node.tip().height, until, "the reward's epoch has ended");

    const claim = () =>
      sent(claimHeldTx(held, { payTo: compute.script, fee: 10_000n }, job.jobId, compute.secret));
    await expectCode(node.processTx(claim().bytes), "job/report-pending");
    const block = makeBlock(node, miner, (blk) => blk.txs.push(decodeTransaction(claim().bytes)));
    await expectCode(node.processBlock(block), "job/report-pending");

    // Nobody resolves it: the executor takes the bond after the window, then claims.
    const bond = {
      txid: bondTx.id,
      vout: 0,
      value: bondValue,
      scriptPubKey: bondTx.tx.outputs[0].scriptPubKey,
    };
    await mine(node, miner, node.params.reportWindow);
    const taken = sent(
      expireReportTx(bond, { payTo: compute.script, fee: 20_000n }, job.jobId, compute.secret),
    );
    await node.processTx(taken.bytes);
    await mine(node, miner, 1);
    const claimed = claim();
    await node.processTx(claimed.bytes);
    await mine(node, miner, 1);
    assert.equal((await node.getTransaction(claimed.id))?.height, node.tip().height);
  } finally {
    await b.close();
  }
});
