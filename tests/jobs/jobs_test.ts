/**
 * Jobs over a two-process devnet: a compute node (mining, serving a fixture model) and the client's
 * node (not mining, holding the model to check fraud proofs), linked by a seed. The client runs the
 * real `job submit` / `job refund` commands against its own node.
 */
import assert from "node:assert/strict";
import {
  followerArgs,
  getJson,
  type NodeProcess,
  runCli,
  spawnNode,
  waitFor,
  walletSend,
} from "../process_helpers.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { assertConservedOnDisk } from "../chain_helpers.ts";
import { networkParams } from "../../chain/params.ts";
import {
  jobSubmitArgs,
  newWallet,
  nodeWalletAddress,
  sendCoins,
  waitBalance,
  waitMature,
} from "./funding_helpers.ts";

interface Devnet {
  dir: string;
  model: string;
  compute: NodeProcess;
  client: NodeProcess;
  wallet: string;
  stop(): Promise<void>;
  logs(): string;
}

async function devnet(cheat = "none"): Promise<Devnet> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-jobs-" });
  const model = `${dir}/tiny.gguf`;
  await Deno.writeFile(model, makeFixture({ size: "tiny", dtype: "f16", seed: 5n, eosBias: 3 }));
  const compute = await spawnNode(
    [
      ...["--data-dir", `${dir}/compute`, "--model", model, "--cheat", cheat, "--threads", "1"],
      "--no-sprint", // the test checks the client's fallback when no node has compute weight
    ],
    {},
    "compute",
  );
  const client = await spawnNode(followerArgs(`${dir}/client-node`, compute.url, model));
  const wallet = `${dir}/client.json`;
  const address = await newWallet(wallet, "client");
  const maturity = networkParams("dev").coinbaseMaturity;
  await waitFor(
    "a mature coinbase on the client's node",
    async () =>
      (await getJson<{ height: number }>(`${client.url}/v1/status`)).body.height > maturity,
    60_000,
  );
  const send = await walletSend(`${dir}/compute/wallet.json`, address, "25", compute.url, "");
  assert.equal(send.code, 0, send.stderr);
  await waitFor("the client's funds", async () => {
    const r = await getJson<{ balance: string }>(`${client.url}/v1/addresses/${address}`);
    return r.body.balance === "25";
  }, 30_000);
  return {
    dir,
    model,
    compute,
    client,
    wallet,
    stop: async () => {
      await client.stop();
      await compute.stop();
    },
    logs: () =>
      `--- compute node ---\n${compute.output().slice(-4000)}\n--- client node ---\n${
        client.output().slice(-3000)
      }`,
  };
}

/** Runs `fn` on a fresh devnet, prints the nodes' logs on failure, stops it, then checks conservation. */
async function withDevnet(cheat: string, fn: (net: Devnet) => Promise<void>): Promise<void> {
  const net = await devnet(cheat);
  try {
    await fn(net);
  } catch (e) {
    console.error(net.logs());
    throw e;
  } finally {
    await net.stop();
  }
  await assertConservedOnDisk(`${net.dir}/client-node`);
}

/** Runs `job refund` for an escrow output (vout 0) with the client's wallet. */
function refund(wallet: string, node: string, escrowTxid: string) {
  return runCli([
    "job",
    "refund",
    "--wallet",
    wallet,
    "--node",
    node,
    "--escrow",
    `${escrowTxid}:0`,
  ], {
    CAMELID_PASSPHRASE: "client",
  });
}

function submit(net: Devnet, extra: string[] = []) {
  return runCli([
    ...jobSubmitArgs(net.wallet, net.client.url),
    "--model",
    net.model,
    "--prompt",
    "Hello camelids",
    "--max-tokens",
    "20",
    "--reward",
    "0.5",
    "--seed",
    "7",
    "--json",
    ...extra,
  ], { CAMELID_PASSPHRASE: "client" });
}

async function jobState(url: string, id: string): Promise<string | null> {
  const r = await fetch(`${url}/v1/jobs/${id}`);
  if (r.status !== 200) {
    await r.body?.cancel();
    return null;
  }
  return (await r.json()).state;
}

Deno.test("an honest job settles; a claimed one is answered on chain and settles; an unpaid one refunds at expiry", async () => {
  await withDevnet("none", async (net) => {
    const honest = await submit(net);
    assert.equal(honest.code, 0, honest.stderr);
    const h = JSON.parse(honest.stdout);
    assert.equal(h.state, "verified");
    assert.equal(h.verdict, "honest");
    assert.ok(h.outputTokens.length > 0 && h.outputTokens.length <= 20);
    const n = h.outputTokens.length;
    assert.deepEqual(h.coverage, { checked: n, outputPositions: n, detectionChance: 1 });
    // No node proves sprints here: the client says why it took the first accept, and names it.
    const computeKey = (await getJson<{ self: { key: string } }>(`${net.compute.url}/v1/peers`))
      .body.self.key;
    assert.equal(h.assignment.by, "first-accept");
    assert.equal(h.assignment.node, computeKey);
    assert.match(
      h.assignment.reason,
      /^no (sprint has closed yet|compute node serving the job has weight in sprint \d+)$/,
    );
    const advertised = await getJson<{ compute: { models: string[]; tokensPerSecond: number } }>(
      `${net.compute.url}/v1/status`,
    );
    assert.equal(advertised.body.compute.models.length, 1, "the compute node advertises its model");
    assert.ok(advertised.body.compute.tokensPerSecond > 0, "and its measured speed");
    // Dispute row 3, honest side: the client claims non-delivery; the node answers on chain.
    const claimed = await submit(net, [
      "--dev-ignore-delivery",
      "--delivery-timeout",
      "2",
      "--seed",
      "9",
      ...["--compute-node", computeKey],
    ]);
    assert.equal(claimed.code, 0, claimed.stderr);
    const c = JSON.parse(claimed.stdout);
    assert.equal(c.state, "verified", "the answer on chain delivered the output");
    assert.deepEqual(c.assignment, { by: "named", sprint: null, node: computeKey });
    const notices =
      (await getJson<{ notices: { kind: string }[] }>(`${net.client.url}/v1/jobs/${c.jobId}`)).body
        .notices;
    assert.deepEqual(notices.map((n) => n.kind).sort(), ["answer", "claim"]);
    const unpaid = await submit(net, ["--dev-never-pay", "--expiry-blocks", "16", "--seed", "8"]);
    assert.equal(unpaid.code, 0, unpaid.stderr);
    const u = JSON.parse(unpaid.stdout);
    assert.equal(u.state, "unpaid");
    await waitFor(
      "the honest job settled on every node",
      async () =>
        (await jobState(net.client.url, h.jobId)) === "settled" &&
        (await jobState(net.compute.url, h.jobId)) === "settled",
      90_000,
    );
    const pool = await getJson<{ history: { state: string }[] }>(
      `${net.client.url}/v1/jobs/${h.jobId}`,
    );
    assert.deepEqual(pool.body.history.map((x) => x.state), [
      "offered",
      "committed",
      "paid",
      "settled",
    ]);
    // Refund before expiry is refused; at expiry it goes through.
    const early = await refund(net.wallet, net.client.url, u.escrow.txid);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /job\/not-expired/);
    await waitFor(
      "the unpaid job's stake released",
      async () => (await jobState(net.client.url, u.jobId)) === "settled",
      90_000,
    );
    await waitFor("escrow expiry", async () => {
      const r = await refund(net.wallet, net.client.url, u.escrow.txid);
      return r.code === 0;
    }, 60_000);
    await waitFor(
      "the refund mined",
      async () => (await jobState(net.client.url, u.jobId)) === "expired",
      30_000,
    );
    await waitFor(
      "the answered job paid and settled",
      async () => (await jobState(net.client.url, c.jobId)) === "settled",
      60_000,
    );
  });
});

Deno.test("a compute node that changes a token is caught: its stake is slashed to the client and the payment voided", async () => {
  await withDevnet("change-token", async (net) => {
    const address = (await runCli(["wallet", "address", "--wallet", net.wallet])).stdout.trim();
    const before = BigInt(
      (await getJson<{ balanceUnits: string }>(`${net.client.url}/v1/addresses/${address}`)).body
        .balanceUnits,
    );
    const run = await submit(net);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.state, "disputed");
    assert.equal(r.verdict, "fraud");
    assert.ok(r.fraudTxid);
    await waitFor(
      "the dispute on chain",
      async () => (await jobState(net.compute.url, r.jobId)) === "disputed",
      30_000,
    );
    const after = await waitFor("the slashed stake in the client's wallet", async () => {
      const b = BigInt(
        (await getJson<{ balanceUnits: string }>(`${net.client.url}/v1/addresses/${address}`)).body
          .balanceUnits,
      );
      return b > before ? b : null;
    }, 30_000);
    // Client: -2 fees (escrow tx, fraud tx); +1 coin stake; escrow back. The payment can never be mined.
    assert.equal(after - before, 100_000_000n - 2n * 20_000n);
    await new Promise((res) => setTimeout(res, 12_000));
    assert.equal(
      await jobState(net.client.url, r.jobId),
      "disputed",
      "the voided payment never lands",
    );
  });
});

Deno.test("replayed, forged and out-of-order job messages are refused or ignored", async () => {
  await withDevnet("none", async (net) => {
    const { createEnvelope, envelopeToJson } = await import("../../relay/envelope.ts");
    const { encodeJobMessage } = await import("../../client/job_messages.ts");
    const { encodeJob } = await import("../../chain/job.ts");
    const { generateSecretKey, publicKeyOf } = await import("../../chain/keys.ts");
    const { fromHex, toHex } = await import("../../chain/bytes.ts");
    const magic = networkParams("dev").magic;
    const computeKey =
      (await getJson<{ self: { key: string } }>(`${net.compute.url}/v1/peers`)).body.self.key;
    const mallory = generateSecretKey();
    const victim = generateSecretKey();
    const post = (env: ReturnType<typeof createEnvelope>, url = net.client.url) =>
      fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(envelopeToJson(env)),
      });
    const inboxOf = async (key: Uint8Array) =>
      (await getJson<{ messages: unknown[] }>(`${net.client.url}/v1/messages?to=${toHex(key)}`))
        .body.messages;

    // A payment for a job the node never accepted: relayed, but the node sends nothing back.
    const early = createEnvelope(
      {
        magic,
        type: "direct",
        to: fromHex(computeKey),
        payload: encodeJobMessage({ t: "payment", jobId: "ab".repeat(32), tx: "00" }),
      },
      publicKeyOf(mallory),
      mallory,
    );
    const first = await post(early);
    assert.equal(first.status, 202, await first.text());
    // The same envelope again is a replay: refused with 409.
    const replay = await post(early);
    assert.equal(replay.status, 409);
    assert.equal((await replay.json()).error.code, "envelope/replay");

    // An offer for the victim's key, signed by mallory: no node accepts it.
    const job = {
      modelId: new Uint8Array(32).fill(1),
      promptTokens: [1, 2],
      seed: 1n,
      maxTokens: 4,
      temperature: 0,
      topK: 0,
      topP: 1,
      timestamp: 1_800_000_000,
      expiryHeight: 10_000,
      clientKey: publicKeyOf(victim),
      contact: "",
    };
    const forged = createEnvelope(
      {
        magic,
        type: "direct",
        payload: encodeJobMessage({
          t: "offer",
          job: toHex(encodeJob(job)),
          escrow: { txid: "cd".repeat(32), vout: 0 },
          escrowTx: "00",
        }),
      },
      publicKeyOf(mallory),
      mallory,
    );
    assert.equal((await post(forged)).status, 202);
    await new Promise((r) => setTimeout(r, 4000));
    assert.deepEqual(
      await inboxOf(publicKeyOf(mallory)),
      [],
      "nothing answers an out-of-order payment",
    );
    assert.deepEqual(await inboxOf(publicKeyOf(victim)), [], "nobody accepts a forged offer");
    // A tampered envelope (payload changed after signing) is refused as a bad signature.
    const tampered = { ...envelopeToJson(forged), id: "00".repeat(16) };
    const bad = await fetch(`${net.client.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(tampered),
    });
    assert.equal(bad.status, 401);
    await bad.body?.cancel();
  });
});

Deno.test("a compute node that takes payment and withholds the output loses its stake to the client's claim", async () => {
  await withDevnet("withhold", async (net) => {
    const address = (await runCli(["wallet", "address", "--wallet", net.wallet])).stdout.trim();
    const balance = async () =>
      BigInt(
        (await getJson<{ balanceUnits: string }>(`${net.client.url}/v1/addresses/${address}`)).body
          .balanceUnits,
      );
    const before = await balance();
    const run = await submit(net, ["--delivery-timeout", "3"]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.state, "slashed");
    assert.ok(r.slashTxid);
    await waitFor(
      "the slash on chain",
      async () => (await jobState(net.client.url, r.jobId)) === "disputed",
      30_000,
    );
    // The escrow (0.5) stays locked until expiry; fees: escrow tx, claim tx, slash tx; +1 coin stake.
    const after = await waitFor("the slashed stake in the wallet", async () => {
      const b = await balance();
      return b !== before ? b : null;
    }, 30_000);
    assert.equal(after - before, 100_000_000n - 50_000_000n - 3n * 20_000n);
  });
});

Deno.test("outsourced verification: a lying verifier is outvoted by two honest ones", async () => {
  const net = await devnet();
  const verifiers: NodeProcess[] = [];
  try {
    for (const [i, cheat] of ["none", "none", "lie-verify"].entries()) {
      verifiers.push(
        await spawnNode(
          followerArgs(
            `${net.dir}/verifier-${i}`,
            net.compute.url,
            net.model,
            "--serve-verify",
            "--cheat",
            cheat,
          ),
        ),
      );
    }
    await waitFor("verifiers linked", async () => {
      const peers = await getJson<{ links: unknown[] }>(`${net.compute.url}/v1/peers`);
      return peers.body.links.length >= 4;
    }, 30_000);
    const run = await submit(net, ["--verify", "outsourced", "--verifiers", "3", "--seed", "11"]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.state, "verified");
    assert.equal(r.outsourced.verdict, "honest");
    const votes = r.outsourced.votes.map((v: { verdict: string }) => v.verdict).sort();
    assert.deepEqual(
      votes,
      ["fraud", "honest", "honest"],
      "three signed verdicts, one of them a lie",
    );
  } catch (e) {
    console.error(net.logs());
    for (const v of verifiers) console.error(v.output().slice(-1500));
    throw e;
  } finally {
    for (const v of verifiers) await v.stop();
    await net.stop();
  }
});

Deno.test("a compute node killed with SIGKILL mid-job leaves the job to expire, and the escrow refunds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-jobs-kill-" });
  const model = `${dir}/tiny.gguf`;
  await Deno.writeFile(model, makeFixture({ size: "tiny", dtype: "f16", seed: 5n, eosBias: 3 }));
  const miner = await spawnNode(["--data-dir", `${dir}/miner`, "--model", model]);
  let compute: NodeProcess | null = null;
  try {
    const wallet = `${dir}/client.json`;
    const address = await newWallet(wallet, "client");
    compute = await spawnNode(
      followerArgs(`${dir}/compute`, miner.url, model, "--threads", "1"),
      { CAMELID_FAULT: "job:assigned" },
      "compute",
    );
    const computeWallet = await nodeWalletAddress(`${dir}/compute`);
    await waitMature(miner.url);
    for (const to of [address, computeWallet]) {
      await sendCoins(`${dir}/miner/wallet.json`, miner.url, to, "10");
    }
    await waitBalance(compute.url, computeWallet, "10");
    const submit = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../main.ts", import.meta.url).pathname,
        ...jobSubmitArgs(wallet, miner.url),
        "--model",
        model,
        "--prompt",
        "Hello",
        "--max-tokens",
        "20",
        "--reward",
        "0.5",
        "--expiry-blocks",
        "16",
        "--timeout",
        "15",
        "--json",
      ],
      env: { CAMELID_PASSPHRASE: "client" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const died = await compute.child.status;
    assert.equal(died.signal, "SIGKILL", "the compute node died right after taking the job");
    const out = await submit.output();
    assert.equal(out.code, 1, "the client gives up");
    assert.match(new TextDecoder().decode(out.stderr), /job\/timeout/);
    const offered =
      (await getJson<{ jobs: { id: string; escrow: { txid: string } }[] }>(`${miner.url}/v1/jobs`))
        .body.jobs;
    assert.equal(offered.length, 1);
    const escrow = offered[0].escrow.txid;
    await waitFor("escrow expiry and refund", async () => {
      const r = await refund(wallet, miner.url, escrow);
      return r.code === 0;
    }, 90_000);
    await waitFor(
      "the refund mined",
      async () =>
        (await getJson<{ state: string }>(`${miner.url}/v1/jobs/${offered[0].id}`)).body.state ===
          "expired",
      30_000,
    );
  } finally {
    await compute?.stop();
    await miner.stop();
  }
  await assertConservedOnDisk(`${dir}/miner`);
});

Deno.test("an answer on chain that does not decrypt to the committed output gets the stake slashed", async () => {
  await withDevnet("bad-answer", async (net) => {
    const run = await submit(net, ["--dev-ignore-delivery", "--delivery-timeout", "2"]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout);
    assert.equal(r.state, "slashed");
    await waitFor(
      "the slash on chain",
      async () => (await jobState(net.client.url, r.jobId)) === "disputed",
      30_000,
    );
    const notices =
      (await getJson<{ notices: { kind: string }[] }>(`${net.client.url}/v1/jobs/${r.jobId}`)).body
        .notices;
    assert.deepEqual(notices.map((n) => n.kind).sort(), ["answer", "claim"]);
  });
});
