/**
 * Job trees on a multi-process devnet: three mining compute nodes serving one fixture model that
 * rarely ends early (one of them cheating by changing a token) and a fourth that declines every job
 * for want of stake. `job tree` builds a depth-2 tree whose every node is verified locally; no two
 * jobs of one layer run on one node at once; the cheater's child is disputed and the declined child
 * recomputed on other nodes; every child's job names its parent in its contact (the pooled job
 * hashes to the job id, whose escrow is on chain); every job ends paid on chain and the wallet loses
 * no more than the tree reserved. A small budget stops the tree without being passed. The gateway's
 * `POST /v1/camelid/trees` refuses a missing budget and a reward over its cap, and streams a tree
 * growing.
 */
import assert from "node:assert/strict";
import { makeFixture } from "../../compute/fixture.ts";
import { NodeClient } from "../../relay/client.ts";
import { type Job, jobId } from "../../chain/job.ts";
import { fromHex } from "../../chain/bytes.ts";
import { formatCoins } from "../../chain/amount.ts";
import { parentOfContact } from "../../client/phases/offer.ts";
import { attemptCost, type TreeNode, treeNodes } from "../../client/job_tree.ts";
import { getJson, type NodeProcess, runCli, spawnNode, waitFor } from "../process_helpers.ts";
import { waitStakeable } from "./devnet_process.ts";
import { HttpMiner } from "./http_miner.ts";
import { waitSpendable } from "./jobs_net.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { writeNewKeystore } from "../../relay/wallet_file.ts";
import { createGatewayApp } from "../../gateway/app.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { unlockKeystore } from "../../chain/keystore.ts";
import { readKeystore } from "../../relay/wallet_file.ts";
import { walletSpendLock } from "../../cli/wallet_lock.ts";

const REWARD = "0.05";
const FEE = "0.0002";
const COST = attemptCost(5_000_000n, 20_000n);

interface TreeJson {
  placement: { by: "weight"; sprint: number } | { by: "least-used"; reason: string };
  reserved: string;
  budget: string;
  jobs: number;
  layerMs: number[];
  root: TreeNode;
}

Deno.test("job tree: depth 2 verified across nodes, a cheater's child disputed and a declined one recomputed, parents on record, the budget never passed", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-tree-" });
  const model = `${dir}/model.gguf`;
  // A negative EOS bias: answers run to --max-tokens, so every answer has parts to split.
  await Deno.writeFile(
    model,
    makeFixture({ size: "tiny", dtype: "f16", seed: 7n, eosBias: -6 }),
  );
  const nodes: NodeProcess[] = [];
  const compute = (i: number, extra: string[] = []) => [
    "--data-dir",
    `${dir}/n${i}`,
    "--compute",
    "--model",
    model,
    ...extra,
  ];
  try {
    // The wallets first: blocks mined here pay them while the nodes start.
    const walletOf = (i: number) => writeNewKeystore(`${dir}/n${i}/wallet.json`, "");
    const mining = await Promise.all([0, 1, 2].map(async (i) => (await walletOf(i)).address));
    const wallet = `${dir}/client.json`;
    const env = { CAMELID_PASSPHRASE: "client" };
    const address = (await writeNewKeystore(wallet, env.CAMELID_PASSPHRASE)).address;
    nodes.push(await spawnNode(compute(0)));
    const [url] = nodes.map((n) => n.url);
    const seed = ["--seed", url];
    const blocks = new HttpMiner(url);
    const started = await Promise.allSettled([
      spawnNode(compute(1, seed)),
      spawnNode(compute(2, [...seed, "--cheat", "change-token"])),
      // A fourth compute node that declines every job: its stake exceeds its (empty) wallet.
      spawnNode(compute(3, [...seed, "--no-mine", "--stake", "1000"])),
      // Meanwhile four coinbases for each mining node (stakes of several jobs at once) and one
      // for the client, then the blocks that mature them.
      (async () => {
        await blocks.mineEach([...mining.flatMap((a) => [a, a, a, a]), address]);
        await blocks.mineUntil(
          (await blocks.height()) + networkParams("dev").coinbaseMaturity,
          mining[0],
        );
        return null;
      })(),
    ]);
    for (const s of started) if (s.status === "fulfilled" && s.value) nodes.push(s.value);
    for (const s of started) if (s.status === "rejected") throw s.reason;
    // Each node's envelope key (null until its network has started).
    const keys = await waitFor("the nodes' keys", async () => {
      const got = await Promise.all(
        nodes.map(async (n) => (await new NodeClient(n.url).peers()).self.key),
      );
      return got.every((k) => k !== null) ? got as string[] : null;
    });
    const [cheater, decliner] = [keys[2], keys[3]];
    await waitFor("four linked nodes", async () => {
      const p = await getJson<{ links: unknown[] }>(`${url}/v1/peers`);
      return p.body.links.length >= 3;
    });
    await Promise.all(nodes.slice(0, 3).map((n) => waitStakeable(n.url)));
    await waitSpendable(url, address, 10n * COIN);

    const tree = (args: string[]) =>
      runCli([
        "job",
        "tree",
        "--wallet",
        wallet,
        "--node",
        url,
        "--model",
        model,
        "--prompt",
        "Three parts of a plan for a trip:",
        "--split",
        "chunks",
        "--min-chars",
        "2",
        "--max-tokens",
        "10",
        "--reward",
        REWARD,
        "--fee",
        FEE,
        "--seed",
        "11",
        "--timeout",
        "90",
        "--json",
        ...args,
      ], env);
    /** The client's confirmed balance once the node's mempool is empty (the tree's spends mined). */
    const settledBalance = async () => {
      await waitFor("an empty mempool", async () => {
        const st = await getJson<{ mempool: { size: number } }>(`${url}/v1/status`);
        return st.body.mempool.size === 0;
      });
      const a = await getJson<{ balanceUnits: string }>(`${url}/v1/addresses/${address}`);
      return BigInt(a.body.balanceUnits);
    };

    await t.step(
      "a depth-2 tree of fan-out 2: all verified, layers spread, cheater disputed, parents recorded",
      async () => {
        const before = await settledBalance();
        const run = await tree(["--depth", "2", "--fanout", "2", "--budget", "1.5"]);
        assert.equal(run.code, 0, run.stderr);
        const out = JSON.parse(run.stdout) as TreeJson;
        assert.match(run.stderr, /\[layer 1\] 2 job\(s\) going out/, "progress per layer");
        assert.match(run.stderr, /\[layer 2\] 4 job\(s\) going out/);
        // Placed by weight when the devnet's nodes prove, else by use with the reason; said so.
        assert.match(run.stderr, /\[tree\] jobs placed (by compute weight|on the least used)/);
        assert.ok(
          out.placement.by === "weight" ? out.placement.sprint > 0 : out.placement.reason.length,
          JSON.stringify(out.placement),
        );
        const all = treeNodes(out.root);
        for (const a of all.flatMap((n) => n.attempts)) {
          assert.equal(a.placement.by, out.placement.by, "every attempt placed by the tree's rule");
        }
        assert.equal(all.length, 7, "1 + 2 + 4 nodes");
        for (const n of all) {
          assert.equal(n.verdict, "verified", `${n.path} verified (${JSON.stringify(n.attempts)})`);
          assert.ok(n.text && n.text.length > 0, `${n.path} has text`);
          assert.ok(keys.includes(n.computeNode!), `${n.path} ran on a compute node of the devnet`);
          assert.notEqual(n.computeNode, cheater, "the counted job is never the cheater's");
          assert.notEqual(n.computeNode, decliner);
        }
        assert.ok(BigInt(out.reserved) <= BigInt(out.budget), "reserved within the budget");
        assert.equal(BigInt(out.reserved), COST * BigInt(out.jobs), "every attempt reserved");
        // What the wallet lost (the cheater's slashed stake comes back to it) stays within it.
        const spent = before - await settledBalance();
        assert.ok(
          spent <= BigInt(out.reserved),
          `spent ${spent} within the reservation`,
        );

        // Children of a layer: never two jobs of one layer on one node at the same time.
        for (const depth of [1, 2]) {
          const attempts = all.filter((n) => n.depth === depth).flatMap((n) => n.attempts);
          for (const a of attempts) {
            for (const b of attempts) {
              if (a === b || a.computeNode !== b.computeNode) continue;
              const overlap = a.startedAt < b.startedAt + b.ms && b.startedAt < a.startedAt + a.ms;
              assert.ok(!overlap, `layer ${depth}: two jobs at once on ${a.computeNode}`);
            }
          }
        }
        const firstOfLayer1 = all.filter((n) => n.depth === 1).map((n) =>
          n.attempts[0].computeNode
        );
        assert.equal(new Set(firstOfLayer1).size, 2, "layer 1 went out to two different nodes");
        // Layer 2 has 4 children and 4 nodes: every node got one at once, the cheater and the
        // decliner included.
        const declined = all.flatMap((n) => n.attempts.filter((a) => a.outcome === "job/declined"));
        assert.ok(declined.some((a) => a.computeNode === decliner), "the decliner declined");
        // (Another node may decline too: stakes locked by the tree's earlier jobs.)
        for (const a of declined) {
          assert.ok(a.escrowAtRisk, "a declined attempt's escrow is named for its refund");
        }
        const disputed = all.flatMap((n) => n.attempts.filter((a) => a.outcome === "disputed"));
        assert.ok(disputed.length >= 1, "the cheater's child was disputed");
        for (const a of disputed) {
          assert.equal(a.computeNode, cheater);
          assert.ok(a.fraudTxid, "a fraud proof was published");
          const fraud = await new NodeClient(url).tx(a.fraudTxid!);
          assert.equal(fraud.jobId, a.jobId, "the fraud proof names the disputed job");
        }

        // Parents on record: each child's job (as its compute node's pool holds it) hashes to its
        // id, names its parent's job in the contact, and its escrow on chain carries the id.
        const byPath = new Map(all.map((n) => [n.path, n]));
        for (const n of all) {
          const api = new NodeClient(nodes[keys.indexOf(n.computeNode!)].url);
          const pooled = (await api.job(n.jobId!)).job as Record<string, never>;
          const job: Job = {
            modelId: fromHex(pooled.modelId, 32),
            promptTokens: pooled.promptTokens,
            seed: BigInt(pooled.seed),
            maxTokens: pooled.maxTokens,
            temperature: pooled.temperature,
            topK: pooled.topK,
            topP: pooled.topP,
            timestamp: pooled.timestamp,
            expiryHeight: pooled.expiryHeight,
            clientKey: fromHex(pooled.clientKey, 33),
            contact: pooled.contact,
          };
          assert.equal(jobId(job), n.jobId, `${n.path}: the pooled job hashes to its id`);
          const parent = n.path === "0" ? null : byPath.get(n.path.replace(/\.\d+$/, ""))!;
          assert.equal(parentOfContact(job.contact), parent ? parent.jobId : null, n.path);
          assert.equal(n.parentJob, parent ? parent.jobId : null);
          const verified = n.attempts.find((a) => a.outcome === "verified")!;
          const [escrowTxid] = verified.escrow!.split(":");
          const escrow = await new NodeClient(url).tx(escrowTxid);
          assert.equal(escrow.jobId, n.jobId, `${n.path}: the escrow on chain names the job`);
        }
        // Every counted job is paid on chain (the node's held payment, mined a dispute window on;
        // the window's blocks mined here whenever no transaction waits).
        await blocks.mineWhileIdle("every job of the tree paid on chain", async () => {
          for (const n of all) {
            const { state } = await new NodeClient(url).job(n.jobId!);
            if (state !== "paid" && state !== "settled") return false;
          }
          return true;
        }, mining[0]);
      },
    );

    await t.step("a budget of two jobs: the tree stops there and never passes it", async () => {
      const before = await settledBalance();
      const budget = COST * 2n + 1n;
      const run = await tree(["--depth", "1", "--fanout", "3", "--budget", formatCoins(budget)]);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as TreeJson;
      assert.ok(BigInt(out.reserved) <= budget, `${out.reserved} <= ${budget}`);
      assert.equal(out.jobs, 2, "two attempts fit");
      const stops = treeNodes(out.root).filter((n) => n.stop === "budget");
      assert.ok(stops.length >= 1, "a node stopped for the budget");
      assert.match(run.stderr, /stop: budget/);
      assert.ok(before - await settledBalance() <= budget, "the wallet spent within the budget");
    });

    await t.step(
      "the gateway's extension: POST /v1/camelid/trees streams the tree growing, then the tree",
      async () => {
        const secretKey = await unlockKeystore(await readKeystore(wallet), "client");
        const gguf = await Deno.readFile(model);
        const modelId = modelIdFromBytes(gguf);
        const gateway = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          createGatewayApp({
            node: new NodeClient(url),
            secretKey,
            fee: 20_000n,
            maxPricePer1k: 100_000_000n,
            timeoutMs: 90_000,
            localModels: new Map([[modelId, gguf]]),
            spendLock: walletSpendLock(wallet),
          }).fetch,
        );
        const api = `http://127.0.0.1:${gateway.addr.port}/v1/camelid/trees`;
        const post = (body: unknown) =>
          fetch(api, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
        try {
          const ask = {
            model: modelId,
            prompt: "Three parts of a plan for a trip:",
            split: "chunks",
            min_chars: 2,
            depth: 1,
            fanout: 2,
            max_tokens: 10,
            reward: "0.05",
            seed: 5,
          };
          const noBudget = await post(ask);
          assert.equal(noBudget.status, 400);
          assert.equal((await noBudget.json()).error.param, "budget");
          const dear = await post({ ...ask, budget: "2", reward: "1" });
          assert.equal(dear.status, 400);
          assert.equal((await dear.json()).error.param, "reward");

          const res = await post({ ...ask, budget: "0.5", stream: true });
          assert.equal(res.status, 200);
          assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
          const data = (await res.text()).split("\n").filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6));
          assert.equal(data.at(-1), "[DONE]");
          const events = data.slice(0, -2).map((d) => JSON.parse(d));
          assert.ok(events.every((e) => e.object === "camelid.tree.event"));
          assert.deepEqual(
            events.filter((e) => e.kind === "layer").map((e) => [e.depth, e.children]),
            [[0, 1], [1, 2]],
            "the layers as they went out",
          );
          const tree = JSON.parse(data.at(-2)!) as TreeJson & { object: string };
          assert.equal(tree.object, "camelid.tree");
          const all = treeNodes(tree.root);
          assert.equal(all.length, 3);
          for (const n of all) assert.equal(n.verdict, "verified", n.path);
          assert.ok(BigInt(tree.reserved) <= 50_000_000n, "within the 0.5-coin budget");
        } finally {
          await gateway.shutdown();
        }
      },
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
