/**
 * User reports end to end on a real dev node in-process (client/phases/report.ts): sprint proofs on
 * chain give the executor and a validator weight; a real verifier service checks the reported jobs
 * on the fixture model; the client's bond, the validator's signed record and the resolution go
 * through the node's consensus. A false output is confirmed (the held reward slashed to the client,
 * the validator paid from the bond); an honest one is a false report (the validator paid, the
 * reward untouched).
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { encodeJob, type Job, jobIdBytes } from "../../chain/job.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { parseOutputScript } from "../../chain/script.ts";
import { ReportError, reportJob, type ReportResult } from "../../client/phases/report.ts";
import { createKeystore } from "../../chain/keystore.ts";
import { runCli, waitFor } from "../process_helpers.ts";
import { nodeValidatorDuty } from "../../compute/jobs/validator_duty.ts";
import { VerifierService } from "../../compute/jobs/verifier_service.ts";
import { ModelStore } from "../../compute/model_store.ts";
import { mine, type TestKey } from "../chain_helpers.ts";
import { fixtureJob, fixtureModel, honestOutput } from "../fixture_job.ts";
import { keyHash } from "../job_spend_helpers.ts";
import { stakedJob } from "../paid_job_helpers.ts";
import { type PhaseBench, phaseBench, weighedBench } from "./phase_helpers.ts";

/** A fixture job of the bench's client staked by its compute key on `output` and seen offered. */
async function offeredAndStaked(
  b: PhaseBench,
  job: Job,
  output: { outputTokens: number[]; finishReason: "stop" | "length" },
) {
  const staked = await stakedJob(b.node.chain, b.client, b.compute, job, output);
  await b.node.jobs.observeOffer(encodeJob(job), staked.escrow);
  await mine(b.node.chain, b.client, 1);
  return staked;
}

const addressOf = (k: TestKey) => addressFromPublicKey(publicKeyOf(k.secret));

Deno.test("job report: without votes the bond stands; asked again, a false output is confirmed by the weight majority and the held reward slashed to the client; an honest one, reported with `job report`, is a false report that pays the validator from the bond", async () => {
  const fixture = await fixtureModel();
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.gguf`, fixture.gguf);
  const b = await phaseBench();
  try {
    const chain = b.node.chain;
    // The executor (the bench's compute key) and a validator hold weight; the executor is left out.
    const { light: validator, sprint } = await weighedBench(b);
    const jobOf = (timestamp: number): Job => ({
      ...fixtureJob(fixture.modelId),
      timestamp,
      expiryHeight: chain.tip().height + 60,
      clientKey: b.s.clientKey,
    });
    const cheatJob = jobOf(1_800_000_101);
    const honestJob = jobOf(1_800_000_102);
    const honest = await honestOutput(fixture, honestJob, jobIdBytes(honestJob));
    const truth = await honestOutput(fixture, cheatJob, jobIdBytes(cheatJob));
    const tokens = [...truth.outputTokens];
    const last = tokens.length - 1;
    tokens[last] = tokens[last] === 100 ? 101 : 100;
    const falseOutput = { outputTokens: tokens, finishReason: truth.finishReason };
    const honestOut = { outputTokens: honest.outputTokens, finishReason: honest.finishReason };
    const cheat = await offeredAndStaked(b, cheatJob, falseOutput);
    const fair = await offeredAndStaked(b, honestJob, honestOut);
    await b.mine(chain.params.jobs.disputeWindow);
    await cheat.pay();
    await fair.pay();
    await b.mine(1);
    for (const { jobId } of [cheat, fair]) {
      await waitFor("the job pool's payment", async () => (await b.api.job(toHex(jobId))).held);
    }

    // Reporting an output that is not the one committed to is refused before any bond.
    await assert.rejects(
      reportJob(b.s, { jobId: toHex(cheat.jobId), output: honestOut }),
      (e) => e instanceof ReportError && e.code === "report/output-mismatch",
    );
    // The command line: the client's wallet file, `job report` on the bench's node.
    const wallet = `${dir}/client.json`;
    await Deno.writeTextFile(wallet, JSON.stringify(await createKeystore("pw", b.client.secret)));
    const report = (id: Uint8Array, output: typeof honestOut) =>
      runCli([
        "job",
        "report",
        toHex(id),
        "--network",
        "dev",
        "--wallet",
        wallet,
        "--node",
        b.node.url,
        "--output-tokens",
        output.outputTokens.join(","),
        "--finish-reason",
        output.finishReason,
        "--timeout",
        "60",
        "--json",
      ], { CAMELID_PASSPHRASE: "pw" });
    const mismatch = await report(cheat.jobId, honestOut);
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.stderr.trim(), /^error \(report\/output-mismatch\): [^\n]+$/);

    // No validator serves yet: no majority; the bond stands and is asked again below.
    let posted: { txid: string; vout: number } | undefined;
    await assert.rejects(
      reportJob(b.s, {
        jobId: toHex(cheat.jobId),
        output: falseOutput,
        timeoutMs: 1_000,
        onState: (state, d) => {
          if (state === "bond") posted = { txid: String(d.txid), vout: Number(d.vout) };
        },
      }),
      (e) => e instanceof ReportError && e.code === "report/no-majority",
    );
    assert.ok(posted, "the bond was posted");
    new VerifierService({
      network: b.node.network,
      models: await ModelStore.open({ files: [`${dir}/m.gguf`] }),
      minIntervalMs: 0,
      validator: nodeValidatorDuty(b.api, validator.secret),
    });

    // The false output: confirmed; the held reward goes to the client, the bond to the validator.
    const confirmed = await reportJob(b.s, {
      jobId: toHex(cheat.jobId),
      output: falseOutput,
      existingBond: posted,
      timeoutMs: 60_000,
    });
    assert.deepEqual({ txid: confirmed.bond.txid, vout: confirmed.bond.vout }, posted);
    assert.equal(confirmed.sprint, sprint);
    assert.equal(confirmed.outcome, "confirmed");
    assert.deepEqual(confirmed.votes.map((v) => [v.address, v.verdict]), [
      [addressOf(validator), "fraud"],
    ]);
    assert.equal(confirmed.weight.fraud, confirmed.weight.total, "the validator is all the weight");
    await b.mine(1);
    const resolution = (await chain.getTransaction(confirmed.resolution))!;
    assert.ok(resolution.height, "the resolution is mined");
    const [pay, back] = resolution.tx.outputs;
    assert.equal(pay.value, BigInt(confirmed.bond.units), "the validator takes the bond");
    assert.deepEqual(parseOutputScript(pay.scriptPubKey), {
      type: "pay-to-address",
      pubKeyHash: keyHash(validator),
    });
    assert.equal(back.value, BigInt(confirmed.held.units) - b.s.fee, "the reward to the client");
    assert.deepEqual(parseOutputScript(back.scriptPubKey), {
      type: "pay-to-address",
      pubKeyHash: keyHash(b.client),
    });
    const heldOutpoint = { txid: confirmed.held.txid, vout: confirmed.held.vout };
    assert.equal((await chain.store.getCoins([heldOutpoint]))[0], undefined, "slashed");
    const pool = () => b.api.job(toHex(cheat.jobId));
    await waitFor("the job disputed", async () => (await pool()).state === "disputed" || null);
    // A confirmed report is proven misbehaviour in every node's chain-derived reputation.
    const executor = addressFromPublicKey(publicKeyOf(b.compute.secret));
    const rep = await (await fetch(`${b.node.url}/v1/reputation/${executor}`)).json();
    assert.equal(rep.reputation, 0);
    assert.equal(rep.validationProbability, 1);
    assert.equal(rep.lastFraud?.txid, confirmed.resolution, "the resolution is the proof");

    // The honest output, reported with the command: a false report; the validator is paid, the
    // reward stays the executor's.
    const cli = await report(fair.jobId, honestOut);
    assert.equal(cli.code, 0, cli.stderr);
    const refuted: ReportResult = JSON.parse(cli.stdout);
    assert.equal(refuted.outcome, "false");
    assert.deepEqual(refuted.votes.map((v) => v.verdict), ["honest"]);
    await b.mine(1);
    const refutation = (await chain.getTransaction(refuted.resolution))!;
    assert.ok(refutation.height, "mined");
    assert.equal(refutation.tx.outputs[0].value, BigInt(refuted.bond.units));
    const kept = { txid: refuted.held.txid, vout: refuted.held.vout };
    assert.ok((await chain.store.getCoins([kept]))[0], "the executor keeps its reward");
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
