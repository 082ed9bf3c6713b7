/**
 * Money and state across a hard kill (real processes, real KV): a compute node killed with SIGKILL at
 * each step of the job flow (after the assignment, after its receipt and stake, after it holds the
 * payment, after the delivery) and restarted on the same data directory resumes the job: the client
 * gets its verified output and the node gets paid (the escrow is spent by the payment, so no refund
 * is possible: never both). Before that, with no funds to stake, the node declines with a reason;
 * the client fails at once naming it and the escrow, and `--refund-on-failure` refunds at expiry.
 */
import assert from "node:assert/strict";
import {
  followerArgs,
  getJson,
  type NodeProcess,
  runCli,
  spawnNode,
  waitFor,
} from "../process_helpers.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { assertConservedOnDisk } from "../chain_helpers.ts";
import {
  fundAddress,
  jobSubmitArgs,
  newWallet,
  nodeWalletAddress,
  waitMature,
} from "./funding_helpers.ts";
import type { JobFault } from "../../compute/jobs/worker.ts";

const FAULTS: JobFault[] = ["assigned", "staked", "paid", "delivered"];

async function jobState(url: string, id: string): Promise<{ state: string; history: string[] }> {
  const r = await getJson<{ state: string; history: { state: string }[] }>(`${url}/v1/jobs/${id}`);
  return { state: r.body.state, history: (r.body.history ?? []).map((h) => h.state) };
}

Deno.test("a compute node killed at each step of a job resumes it after a restart: the client gets its output, the node its payment; a declined job names the reason and refunds itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-jobs-restart-" });
  const model = `${dir}/tiny.gguf`;
  await Deno.writeFile(model, makeFixture({ size: "tiny", dtype: "f16", seed: 5n, eosBias: 3 }));
  const miner = await spawnNode(["--data-dir", `${dir}/miner`, "--model", model]);
  const computeArgs = followerArgs(`${dir}/compute`, miner.url, model, "--threads", "1");
  let compute: NodeProcess | null = await spawnNode(computeArgs, {}, "compute");
  const logs: string[] = [];
  try {
    const wallet = `${dir}/client.json`;
    const env = { CAMELID_PASSPHRASE: "client" };
    const address = await newWallet(wallet, env.CAMELID_PASSPHRASE);
    const computeWallet = await nodeWalletAddress(`${dir}/compute`);
    await waitMature(miner.url, 1);
    const fund = (to: string, amount: string) =>
      fundAddress(`${dir}/miner/wallet.json`, miner.url, to, amount);
    await fund(address, "20");
    const submit = (seed: number, extra: string[] = []) =>
      runCli([
        ...jobSubmitArgs(wallet, miner.url),
        "--model",
        model,
        "--prompt-tokens",
        "1,72,105,108",
        "--max-tokens",
        "16",
        "--reward",
        "0.5",
        "--seed",
        String(seed),
        "--timeout",
        "90",
        "--json",
        ...extra,
      ], env);

    // The compute node has nothing to stake with: it declines, with its reason, at once.
    const declinedStarted = Date.now();
    const declined = await submit(1, ["--expiry-blocks", "16", "--refund-on-failure"]);
    assert.equal(declined.code, 1, declined.stderr);
    assert.match(declined.stderr, /error \(job\/declined\): every compute node declined/);
    assert.match(declined.stderr, /stake-too-small/);
    const advice = declined.stderr.match(
      /escrow ([0-9a-f]{64}):0 \(0\.5 coins\) is unpaid and refunds at height (\d+)/,
    );
    assert.ok(advice, declined.stderr);
    assert.match(declined.stderr, /main\.ts job refund --escrow [0-9a-f]{64}:0/);
    assert.match(declined.stderr, /refund [0-9a-f]{64}: the escrow is back/);
    assert.ok(Date.now() - declinedStarted < 80_000, "no two-minute timeout");
    const declinedJob = (await getJson<{ jobs: { id: string; escrow: { txid: string } }[] }>(
      `${miner.url}/v1/jobs`,
    )).body.jobs.find((j) => j.escrow.txid === advice[1])!;
    await waitFor(
      "the refund mined",
      async () => (await jobState(miner.url, declinedJob.id)).state === "expired",
      30_000,
    );

    // Fund the compute node; then kill it at each step and restart it.
    await fund(computeWallet, "10");
    await compute.stop();
    const jobs: string[] = [];
    for (const [i, fault] of FAULTS.entries()) {
      compute = await spawnNode(computeArgs, { CAMELID_FAULT: `job:${fault}` }, "compute");
      await waitFor("the compute node linked", async () => {
        const s = await getJson<{ compute?: { contexts: Record<string, number> } }>(
          `${compute!.url}/v1/status`,
        );
        const peers = await getJson<{ links: unknown[] }>(`${compute!.url}/v1/peers`);
        return Object.keys(s.body.compute?.contexts ?? {}).length > 0 &&
          peers.body.links.length > 0;
      });
      const running = submit(10 + i);
      const died = await compute.child.status;
      logs.push(`--- killed at ${fault} ---\n${compute.output().slice(-2500)}`);
      assert.equal(died.signal, "SIGKILL", `the compute node died at ${fault}`);
      compute = await spawnNode(computeArgs, {}, "compute");
      const run = await running;
      assert.equal(run.code, 0, `${fault}: ${run.stderr}`);
      const r = JSON.parse(run.stdout);
      assert.equal(r.state, "verified", `${fault}: the client got its output`);
      assert.ok(r.outputTokens.length > 0);
      jobs.push(r.jobId);
      logs.push(`--- restarted after ${fault} ---\n${compute.output().slice(-2500)}`);
      if (i < FAULTS.length - 1) await compute.stop(); // earlier jobs settle after the next start
    }
    for (const [i, id] of jobs.entries()) {
      await waitFor(
        `job ${FAULTS[i]} paid and settled`,
        async () => (await jobState(miner.url, id)).state === "settled",
        90_000,
      );
      assert.deepEqual((await jobState(miner.url, id)).history, [
        "offered",
        "committed",
        "paid",
        "settled",
      ], `after the kill at ${FAULTS[i]} the node was paid (the escrow cannot be refunded)`);
    }
    const status = await getJson<{ compute: { jobs: number } }>(`${compute.url}/v1/status`);
    assert.equal(status.body.compute.jobs, 0, "every job finished and was forgotten");
    // Each payment is a held reward: the node claims it at the end of its epoch (still settled, not
    // disputed: the claim, not a fraud proof, spent it), and then holds no reward any more.
    for (const [i, id] of jobs.entries()) {
      await waitFor(`job ${FAULTS[i]}: the held reward claimed`, async () => {
        type Out = { txid: string; vout: number };
        const j = await getJson<{ held?: Out; unspent: Out[] }>(`${miner.url}/v1/jobs/${id}`);
        const held = j.body.held;
        return !!held && !j.body.unspent.some((u) => u.txid === held.txid && u.vout === held.vout);
      }, 60_000);
      assert.equal((await jobState(miner.url, id)).state, "settled");
    }
    await waitFor("no held reward left on the compute node", async () => {
      const s = await getJson<{ compute: { heldRewards: unknown[] } }>(`${compute!.url}/v1/status`);
      return s.body.compute.heldRewards.length === 0;
    }, 30_000);
  } catch (e) {
    console.error(logs.join("\n"));
    console.error(`--- compute now ---\n${compute?.output().slice(-3000)}`);
    console.error(`--- miner ---\n${miner.output().slice(-2000)}`);
    throw e;
  } finally {
    await compute?.stop();
    await miner.stop();
  }
  await assertConservedOnDisk(`${dir}/miner`);
});
