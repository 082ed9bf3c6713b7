/**
 * Jobs over real node processes on loopback, the client running the real `job submit` / `job refund`
 * commands against its own node (not mining, holding the models to check fraud proofs). The seven
 * cases run side by side, each with its own wallet: five share one dev network (tests/jobs/jobs_net.ts:
 * a miner, the client's node, an honest compute node and one per cheat, each cheat on its own model);
 * the fraud case and the SIGKILL case have networks of their own. Coins, and the SIGKILL case's escrow
 * expiry, come from blocks mined on demand where nothing else waits on the chain; the dispute
 * windows pass at the miner's pace.
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
import { assertConservedOnDisk } from "../chain_helpers.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { writeNewKeystore } from "../../relay/wallet_file.ts";
import { jobSubmitArgs } from "./funding_helpers.ts";
import { HttpMiner } from "./http_miner.ts";
import {
  type Cheat,
  jobsFixture,
  type JobsNet,
  nodeKey,
  startJobsNet,
  waitHeight,
  waitSpendable,
} from "./jobs_net.ts";

const { disputeWindow } = networkParams("dev").jobs;
/** The least `--expiry-blocks` the client allows on dev (two dispute windows and 5). */
const LEAST_EXPIRY = 2 * disputeWindow + 5;
/**
 * The expiry the short-lived jobs ask for: the least plus 3 blocks, since the compute node checks the
 * expiry against its own tip when the offer reaches it, and blocks mined in between (at the devnet's
 * pace, several jobs running at once on a loaded machine) made it decline `expires-too-soon`.
 */
const SHORT_EXPIRY = LEAST_EXPIRY + 3;

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

/** `job submit --json` from `wallet` through the client's node, for the model `cheat`'s node serves. */
function submit(net: JobsNet, wallet: string, cheat: Cheat, extra: string[] = []) {
  return runCli([
    ...jobSubmitArgs(wallet, net.client.url),
    "--model",
    net.model[cheat]!,
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

/** The address of a wallet file. */
async function walletAddress(wallet: string): Promise<string> {
  return JSON.parse(await Deno.readTextFile(wallet)).address;
}

/** The balance (base units) of `address` at the node at `url`. */
async function balanceUnits(url: string, address: string): Promise<bigint> {
  return BigInt(
    (await getJson<{ balanceUnits: string }>(`${url}/v1/addresses/${address}`)).body.balanceUnits,
  );
}

/** The expiry height of a job, as the node at `url` records it. */
async function expiryOf(url: string, id: string): Promise<number> {
  return (await getJson<{ job: { expiryHeight: number } }>(`${url}/v1/jobs/${id}`)).body.job
    .expiryHeight;
}

/** Waits until `job refund` of the escrow goes through (the first try at the escrow's expiry). */
async function refundAtExpiry(wallet: string, url: string, escrowTxid: string, ms: number) {
  await waitFor("escrow expiry and refund", async () => {
    const r = await refund(wallet, url, escrowTxid);
    return r.code === 0;
  }, ms);
}

async function honestClaimedUnpaid(net: JobsNet, wallet: string): Promise<void> {
  const computeKey = await nodeKey(net.compute.none!.url);
  // Three jobs at once: the unpaid one's expiry counts from the start.
  const [honest, claimed, unpaid] = await Promise.all([
    submit(net, wallet, "none"),
    // Dispute row 3, honest side: the client claims non-delivery; the node answers on chain.
    submit(net, wallet, "none", [
      "--dev-ignore-delivery",
      "--delivery-timeout",
      "2",
      "--seed",
      "9",
      ...["--compute-node", computeKey],
    ]),
    submit(net, wallet, "none", [
      "--dev-never-pay",
      "--expiry-blocks",
      String(SHORT_EXPIRY),
      "--seed",
      "8",
    ]),
  ]);
  assert.equal(honest.code, 0, honest.stderr);
  const h = JSON.parse(honest.stdout);
  assert.equal(h.state, "verified");
  assert.equal(h.verdict, "honest");
  assert.ok(h.outputTokens.length > 0 && h.outputTokens.length <= 20);
  const n = h.outputTokens.length;
  assert.deepEqual(h.coverage, { checked: n, outputPositions: n, detectionChance: 1 });
  // No node proves sprints here: the client says why it took the first accept, and names it.
  assert.equal(h.assignment.by, "first-accept");
  assert.equal(h.assignment.node, computeKey);
  assert.match(
    h.assignment.reason,
    /^no (sprint has closed yet|compute node serving the job has weight in sprint \d+)$/,
  );
  const advertised = await getJson<{ compute: { models: string[]; tokensPerSecond: number } }>(
    `${net.compute.none!.url}/v1/status`,
  );
  assert.equal(advertised.body.compute.models.length, 1, "the compute node advertises its model");
  assert.ok(advertised.body.compute.tokensPerSecond > 0, "and its measured speed");
  assert.equal(claimed.code, 0, claimed.stderr);
  const c = JSON.parse(claimed.stdout);
  assert.equal(c.state, "verified", "the answer on chain delivered the output");
  assert.deepEqual(c.assignment, { by: "named", sprint: null, node: computeKey });
  const notices =
    (await getJson<{ notices: { kind: string }[] }>(`${net.client.url}/v1/jobs/${c.jobId}`)).body
      .notices;
  assert.deepEqual(notices.map((n) => n.kind).sort(), ["answer", "claim"]);
  assert.equal(unpaid.code, 0, unpaid.stderr);
  const u = JSON.parse(unpaid.stdout);
  assert.equal(u.state, "unpaid");
  // Refund before expiry is refused; at expiry it goes through.
  const early = await refund(wallet, net.client.url, u.escrow.txid);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /job\/not-expired/);
  await waitFor(
    "the honest job settled on every node",
    async () =>
      (await jobState(net.client.url, h.jobId)) === "settled" &&
      (await jobState(net.compute.none!.url, h.jobId)) === "settled",
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
  await waitFor(
    "the unpaid job's stake released",
    async () => (await jobState(net.client.url, u.jobId)) === "settled",
    90_000,
  );
  // The refund is first mineable in the block at the expiry height.
  await waitHeight(net.client.url, (await expiryOf(net.client.url, u.jobId)) - 1);
  await refundAtExpiry(wallet, net.client.url, u.escrow.txid, 60_000);
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
}

async function changedToken(net: JobsNet, wallet: string): Promise<void> {
  const address = await walletAddress(wallet);
  const before = await balanceUnits(net.client.url, address);
  const run = await submit(net, wallet, "change-token");
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout);
  assert.equal(r.state, "disputed");
  assert.equal(r.verdict, "fraud");
  assert.ok(r.fraudTxid);
  await waitFor(
    "the dispute on chain",
    async () => (await jobState(net.compute["change-token"]!.url, r.jobId)) === "disputed",
    30_000,
  );
  const after = await waitFor("the slashed stake in the client's wallet", async () => {
    const b = await balanceUnits(net.client.url, address);
    return b > before ? b : null;
  }, 30_000);
  // Client: -2 fees (escrow tx, fraud tx); +1 coin stake; escrow back. The payment can never be mined.
  assert.equal(after - before, 100_000_000n - 2n * 20_000n);
  // The node would broadcast the payment a dispute window after its stake and release the stake a
  // window later: let both heights pass, and one block more.
  const stake = (await getJson<{ stake: { height: number } | null }>(
    `${net.client.url}/v1/jobs/${r.jobId}`,
  )).body.stake;
  assert.ok(stake, "the job's stake is on record");
  await waitHeight(net.client.url, stake.height + 2 * disputeWindow + 1);
  assert.equal(
    await jobState(net.client.url, r.jobId),
    "disputed",
    "the voided payment never lands",
  );
}

async function forgedMessages(net: JobsNet): Promise<void> {
  const { createEnvelope, envelopeToJson } = await import("../../relay/envelope.ts");
  const { encodeJobMessage } = await import("../../client/job_messages.ts");
  const { encodeJob } = await import("../../chain/job.ts");
  const { generateSecretKey, publicKeyOf } = await import("../../chain/keys.ts");
  const { fromHex, toHex } = await import("../../chain/bytes.ts");
  const magic = networkParams("dev").magic;
  const computeKey = await nodeKey(net.compute.none!.url);
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
}

async function withheldOutput(net: JobsNet, wallet: string): Promise<void> {
  const address = await walletAddress(wallet);
  const before = await balanceUnits(net.client.url, address);
  const run = await submit(net, wallet, "withhold", ["--delivery-timeout", "3"]);
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
    const b = await balanceUnits(net.client.url, address);
    return b !== before ? b : null;
  }, 30_000);
  assert.equal(after - before, 100_000_000n - 50_000_000n - 3n * 20_000n);
}

async function outsourced(net: JobsNet, wallet: string): Promise<void> {
  const verifiers: NodeProcess[] = [];
  try {
    await Promise.all(["none", "none", "lie-verify"].map(async (cheat, i) => {
      verifiers.push(
        await spawnNode(
          followerArgs(
            `${net.dir}/verifier-${i}`,
            net.miner.url,
            net.model.none!,
            "--serve-verify",
            "--cheat",
            cheat,
          ),
        ),
      );
    }));
    const keys = await Promise.all(verifiers.map((v) => nodeKey(v.url)));
    await waitFor("verifiers linked", async () => {
      const peers = await getJson<{ links: { key: string }[] }>(`${net.miner.url}/v1/peers`);
      return keys.every((k) => peers.body.links.some((l) => l.key === k));
    }, 30_000);
    const run = await submit(net, wallet, "none", [
      "--verify",
      "outsourced",
      "--verifiers",
      "3",
      "--seed",
      "11",
    ]);
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
    for (const v of verifiers) console.error(v.output().slice(-1500));
    throw e;
  } finally {
    await Promise.all(verifiers.map((v) => v.stop()));
  }
}

async function badAnswer(net: JobsNet, wallet: string): Promise<void> {
  const run = await submit(net, wallet, "bad-answer", [
    "--dev-ignore-delivery",
    "--delivery-timeout",
    "2",
  ]);
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
}

/** A compute node killed mid-job, on a network of its own (a mining node, the compute node). */
async function killedMidJob(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-jobs-kill-" });
  const model = `${dir}/tiny.gguf`;
  await Deno.writeFile(model, jobsFixture());
  const wallet = `${dir}/client.json`;
  const address = (await writeNewKeystore(wallet, "client")).address;
  const computeWallet = (await writeNewKeystore(`${dir}/compute/wallet.json`, "")).address;
  const miner = await spawnNode(["--data-dir", `${dir}/miner`, "--model", model]);
  let compute: NodeProcess | null = null;
  try {
    const blocks = new HttpMiner(miner.url);
    [compute] = await Promise.all([
      spawnNode(
        followerArgs(`${dir}/compute`, miner.url, model, "--threads", "1"),
        { CAMELID_FAULT: "job:assigned" },
        "compute",
      ),
      (async () => {
        await blocks.mineEach([address, computeWallet]);
        await blocks.mineUntil(
          (await blocks.height()) + networkParams("dev").coinbaseMaturity,
          address,
        );
      })(),
    ]);
    await waitSpendable(miner.url, address, COIN);
    await waitSpendable(compute.url, computeWallet, COIN);
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
        String(SHORT_EXPIRY),
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
    const offered = (await getJson<
      { jobs: { id: string; escrow: { txid: string }; job: { expiryHeight: number } }[] }
    >(`${miner.url}/v1/jobs`)).body.jobs;
    assert.equal(offered.length, 1);
    const escrow = offered[0].escrow.txid;
    // Nothing else waits on this chain: mine up to the expiry rather than wait for the miner.
    await blocks.mineUntil(offered[0].job.expiryHeight - 1, address);
    await refundAtExpiry(wallet, miner.url, escrow, 90_000);
    await waitFor(
      "the refund mined",
      async () =>
        (await getJson<{ state: string }>(`${miner.url}/v1/jobs/${offered[0].id}`)).body.state ===
          "expired",
      30_000,
    );
  } catch (e) {
    console.error(`--- miner ---\n${miner.output().slice(-3000)}`);
    throw e;
  } finally {
    await compute?.stop();
    await miner.stop();
  }
  await assertConservedOnDisk(`${dir}/miner`);
  await Deno.remove(dir, { recursive: true });
}

/** A case's name, the compute node it uses (by cheat mode) and its body. */
type Case = [string, Cheat, (net: JobsNet, wallet: string) => Promise<void>];

/** The cases on the shared network. */
const SHARED_CASES: Case[] = [
  [
    "an honest job settles; a claimed one is answered on chain and settles; an unpaid one refunds at expiry",
    "none",
    honestClaimedUnpaid,
  ],
  ["replayed, forged and out-of-order job messages are refused or ignored", "none", forgedMessages],
  [
    "a compute node that takes payment and withholds the output loses its stake to the client's claim",
    "withhold",
    withheldOutput,
  ],
  ["outsourced verification: a lying verifier is outvoted by two honest ones", "none", outsourced],
  [
    "an answer on chain that does not decrypt to the committed output gets the stake slashed",
    "bad-answer",
    badAnswer,
  ],
];

/**
 * The fraud case, on a network of its own: every node checking the fraud proof fetches the model and
 * would serve it from then on, beside the compute node the other cases rely on.
 */
const FRAUD_CASE: Case = [
  "a compute node that changes a token is caught: its stake is slashed to the client and the payment voided",
  "change-token",
  changedToken,
];

const KILLED_CASE =
  "a compute node killed with SIGKILL mid-job leaves the job to expire, and the escrow refunds";

/** Runs case `c` on `net` with `wallet`, printing the nodes' logs on failure. */
async function runCase(net: JobsNet, [, cheat, body]: Case, wallet: string): Promise<void> {
  try {
    await body(net, wallet);
  } catch (e) {
    console.error(net.logs(net.compute[cheat]));
    throw e;
  }
}

/** Runs `c` on a network of its own, then checks conservation on its client's node. */
async function runAlone(c: Case): Promise<void> {
  const net = await startJobsNet([c[1]], ["case"]);
  try {
    await runCase(net, c, net.wallets.case);
  } finally {
    await net.stop();
  }
  await assertConservedOnDisk(`${net.dir}/client-node`);
  await Deno.remove(net.dir, { recursive: true });
}

Deno.test({
  name:
    "jobs over node processes: seven cases side by side, five on one shared dev network, then coins conserved on the clients' nodes",
  // The cases run at once (each its own wallet and compute node), so no per-step sanitizers.
  sanitizeOps: false,
  sanitizeResources: false,
  sanitizeExit: false,
  fn: async (t) => {
    const step = (name: string, fn: () => Promise<void>) =>
      t.step({ name, fn, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });
    const alone = [
      step(KILLED_CASE, killedMidJob),
      step(FRAUD_CASE[0], () => runAlone(FRAUD_CASE)),
    ];
    let net: JobsNet | null = null;
    try {
      net = await startJobsNet(
        ["none", "withhold", "bad-answer"],
        SHARED_CASES.map((_, i) => `case-${i}`),
      );
      const shared = net;
      await Promise.all(
        SHARED_CASES.map((c, i) =>
          step(c[0], () => runCase(shared, c, shared.wallets[`case-${i}`]))
        ),
      );
    } finally {
      await net?.stop();
      await Promise.all(alone);
    }
    await assertConservedOnDisk(`${net.dir}/client-node`);
    await Deno.remove(net.dir, { recursive: true });
  },
});
