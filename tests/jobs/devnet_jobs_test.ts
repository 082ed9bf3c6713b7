/**
 * Jobs on a real `main.ts devnet` (3 node processes: two compute nodes that mine, one verifier, as
 * `devnet` starts them by default for `--compute-nodes 2`): terms no node would take fail before any
 * coin is locked; an outsourced check asks as many verifiers as the network has and ends verified;
 * the client's states and `job status` use the one documented set of names; and 20 concurrent
 * `job submit` processes sharing one wallet all end verified (no two spends of one coin, no job lost
 * to a full queue).
 */
import assert from "node:assert/strict";
import { getJson, runCli, waitFor } from "../process_helpers.ts";
import { isJobState } from "../../client/job_states.ts";
import { jobSubmitArgs } from "./funding_helpers.ts";
import { HttpMiner } from "./http_miner.ts";
import { waitSpendable } from "./jobs_net.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { writeNewKeystore } from "../../relay/wallet_file.ts";
import { dumpNodeLogs, startDevnetProcess } from "./devnet_process.ts";

/** `job submit` processes run at once (the trial ran 20). */
const CONCURRENT_JOBS = 20;

Deno.test("devnet jobs: checks before the escrow, outsourced votes from the devnet's verifiers, one set of state names, 20 concurrent jobs from one wallet all verified", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-devnet-jobs-" });
  // The compute nodes' wallets and the client's first: blocks mined here pay them.
  const computeWallets = await Promise.all(
    [0, 1].map(async (i) =>
      (await writeNewKeystore(`${dir}/devnet/node-${i}/wallet.json`, "")).address
    ),
  );
  const wallet = `${dir}/client.json`;
  const env = { CAMELID_PASSPHRASE: "client" };
  const address = (await writeNewKeystore(wallet, env.CAMELID_PASSPHRASE)).address;
  const net = await startDevnetProcess(`${dir}/devnet`, [
    ...["--nodes", "3", "--compute-nodes", "2", "--mine-nodes", "2"],
  ]);
  try {
    assert.equal(net.urls.length, 3);
    assert.match(
      net.output(),
      /node 2 .*relaying \+ verify/,
      "devnet starts a verifier by default",
    );
    const [url] = net.urls;
    const model = `${net.dataDir}/node-0/models/tiny-f16-seed1.gguf`;
    // Two coinbases for each compute node and one for the client, then the blocks that mature them.
    const blocks = new HttpMiner(url);
    await blocks.mineEach([...computeWallets.flatMap((a) => [a, a]), address]);
    await blocks.mineUntil(
      (await blocks.height()) + networkParams("dev").coinbaseMaturity,
      computeWallets[0],
    );
    // Both compute nodes need mature coins to stake.
    await waitFor("both compute nodes able to stake", async () => {
      for (const u of net.urls.slice(0, 2)) {
        const s = await getJson<{ compute?: { rewardAddress: string } }>(`${u}/v1/status`);
        if (!s.body.compute) return false;
        const a = await getJson<{ spendableUnits: string }>(
          `${u}/v1/addresses/${s.body.compute.rewardAddress}`,
        );
        if (BigInt(a.body.spendableUnits ?? "0") < 3n * 100_000_000n) return false;
      }
      return true;
    }, 90_000);
    await waitSpendable(url, address, 40n * COIN);

    const submit = (args: string[]) =>
      runCli([
        ...jobSubmitArgs(wallet, url),
        "--prompt-tokens",
        "1,72,105,108",
        "--max-tokens",
        "12",
        "--reward",
        "0.5",
        "--timeout",
        "150",
        ...args,
      ], env);

    // Terms no node would take fail before any coin is locked.
    const [cheap, long, unknown] = await Promise.all([
      submit(["--model", model, "--reward", "0.001", "--json"]),
      submit(["--model", model, "--max-tokens", "8192", "--json"]),
      submit(["--model-id", "ab".repeat(32), "--json"]),
    ]);
    assert.equal(cheap.code, 1);
    assert.match(
      cheap.stderr,
      /error \(job\/reward-too-low\): --reward 0\.001 is below .*lowest 0\.01.*nothing was paid/,
    );
    assert.equal(long.code, 1);
    assert.match(
      long.stderr,
      /error \(job\/context-too-long\): .*context of every node serving the model \(largest 1024\).*nothing was paid/,
    );
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /error \(job\/no-node\): no compute node serves model abab.*nothing was paid/,
    );
    assert.deepEqual(
      (await getJson<{ jobs: unknown[] }>(`${url}/v1/jobs`)).body.jobs,
      [],
      "no escrow published",
    );

    // Outsourced verification by the devnet's verifier: as many votes asked as there are verifiers.
    const outsourced = await submit(["--model", model, "--verify", "outsourced", "--seed", "3"]);
    assert.equal(outsourced.code, 0, outsourced.stderr);
    const id = outsourced.stdout.match(/^job ([0-9a-f]{64}): verified$/m)?.[1];
    assert.ok(id, outsourced.stdout);
    assert.match(outsourced.stdout, /verdict \(outsourced\): honest \[[0-9a-f]{10}…: honest\]/);
    // The devnet's verifier holds no compute weight (only compute nodes prove sprints): every
    // serving verifier votes, as before, whether or not a sprint's weights are in force yet.
    assert.match(
      outsourced.stdout,
      /^voters: every verifier serving the model \((no compute weights in force|no verifier serving the model holds compute weight of sprint \d+)\)$/m,
    );
    assert.match(outsourced.stdout, /^checked (\d+) of \1 output positions \(all\)$/m);
    const states = [...outsourced.stderr.matchAll(/^\[([a-z-]+)\] /gm)].map((m) => m[1]);
    assert.ok(states.length >= 6, outsourced.stderr);
    for (const s of states) assert.ok(isJobState(s), `the client's state ${s} is documented`);
    assert.deepEqual(
      states.filter((s) =>
        ["offered", "accepted", "receipt", "payment-sent", "delivered", "verified"].includes(s)
      ),
      ["offered", "accepted", "receipt", "payment-sent", "delivered", "verified"],
    );
    assert.ok(!states.includes("paid"), "the client does not call a held payment paid");
    const status = await runCli(["job", "status", id, "--node", url]);
    assert.equal(status.code, 0, status.stderr);
    const st = JSON.parse(status.stdout);
    assert.ok(isJobState(st.state), `job status state ${st.state} is documented`);
    assert.equal(typeof st.means, "string");

    // Eight jobs at once from one wallet on two compute nodes: all verified.
    const started = performance.now();
    // Beside them: more votes asked for than the devnet's one verifier can give.
    const tooFew = submit(["--model", model, "--verify", "outsourced", "--verifiers", "3"]);
    const runs = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) => submit(["--model", model, "--seed", String(100 + i), "--json"]),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const [i, r] of runs.entries()) {
      assert.equal(r.code, 0, `job ${i}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).state, "verified", `job ${i}`);
    }
    console.log(`${CONCURRENT_JOBS} concurrent jobs verified in ${seconds.toFixed(1)} s`);
    const few = await tooFew;
    assert.equal(few.code, 0, few.stderr);
    assert.match(few.stdout, /^job [0-9a-f]{64}: delivered$/m);
    assert.match(
      few.stderr,
      /1 verifier vote\(s\) came, a majority of 3 needs 2; 1 node\(s\) reachable from your node serve verification for this model: start verifier nodes .*--verifiers 1.*--verify local/,
    );
    assert.match(few.stderr, /^\[too-few-votes\] /m);
  } catch (e) {
    await dumpNodeLogs(net.dataDir, 3);
    throw e;
  } finally {
    await net.stop();
  }
});
