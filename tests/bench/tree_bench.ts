/**
 * @module Job tree bench (one run, `deno run -A tests/bench/tree_bench.ts`): a devnet of three
 * mining compute nodes (1 generation thread each) on a fixture model (tiny, or small with
 * TREE_BENCH_SIZE=small) whose answers run to the output budget (TREE_BENCH_TOKENS, default 32), every job verified locally (full RASTiC check). Measures (1) one layer of 3 children
 * against its slowest child's own time and the sum of the children's times, and (2) a depth-2 tree
 * of fan-out 3 (13 jobs) against the same 13 prompts and seeds run one after another.
 */

import { makeFixture } from "../../compute/fixture.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { submitJob } from "../../client/job_client.ts";
import { childSeed, runJobTree, treeNodes, type TreeOptions } from "../../client/job_tree.ts";
import { childPrompt, DEFAULT_CHILD_TEMPLATE } from "../../client/split_rules.ts";
import { textPrompt } from "../../client/prompt.ts";
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import { NodeClient } from "../../relay/client.ts";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { COIN } from "../../chain/params.ts";
import { getJson, type NodeProcess, spawnNode, waitFor, walletSend } from "../process_helpers.ts";
import { waitStakeable } from "../jobs/devnet_process.ts";

/** Output tokens per job (env TREE_BENCH_TOKENS, default 32). */
const MAX_TOKENS = Number(Deno.env.get("TREE_BENCH_TOKENS") ?? 32);
/** Fixture size (env TREE_BENCH_SIZE: tiny or small, default tiny). */
const SIZE = (Deno.env.get("TREE_BENCH_SIZE") ?? "tiny") as "tiny" | "small";
const dir = await Deno.makeTempDir({ prefix: "camelid-tree-bench-" });
const modelPath = `${dir}/tiny.gguf`;
const gguf = makeFixture({ size: SIZE, dtype: "f16", seed: 7n, eosBias: -6 });
await Deno.writeFile(modelPath, gguf);
const modelId = modelIdFromBytes(gguf);

const nodes: NodeProcess[] = [];
const args = (i: number) => [
  "--data-dir",
  `${dir}/n${i}`,
  "--compute",
  "--model",
  modelPath,
  "--threads",
  "1",
  ...(i > 0 ? ["--seed", nodes[0].url] : []),
];
for (let i = 0; i < 3; i++) nodes.push(await spawnNode(args(i)));
globalThis.addEventListener("unload", () => {
  for (const p of nodes) {
    try {
      p.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});
const url = nodes[0].url;
await waitFor("linked nodes", async () => {
  const p = await getJson<{ links: unknown[] }>(`${url}/v1/peers`);
  return p.body.links.length >= 2;
});
for (const n of nodes) await waitStakeable(n.url);
const sk = generateSecretKey();
const address = addressFromPublicKey(publicKeyOf(sk));
for (let i = 0; i < 2; i++) {
  const r = await walletSend(`${dir}/n0/wallet.json`, address, "10", url, "");
  if (r.code !== 0) throw new Error(r.stderr);
}
await waitFor("a funded client", async () => {
  const a = await getJson<{ spendableUnits: string }>(`${url}/v1/addresses/${address}`);
  return BigInt(a.body.spendableUnits) >= 20n * COIN;
}, 60_000);

const node = new NodeClient(url);
const tokenizer = tokenizerFromGGUF(gguf);
const sampler = { temperature: 0.8, topK: 40, topP: 0.95 };
const base: TreeOptions = {
  node,
  secretKey: sk,
  modelId,
  tokenizer,
  root: { prompt: "Three parts of a plan for a trip:" },
  split: "chunks",
  template: DEFAULT_CHILD_TEMPLATE,
  depth: 1,
  fanout: 3,
  minChars: 2,
  budget: 5n * COIN,
  maxTokens: MAX_TOKENS,
  reward: COIN / 20n,
  fee: 20_000n,
  seed: 11n,
  sampler,
  job: { verifyWith: gguf, timeoutMs: 120_000 },
};

// Warm-up: every node loads the model and the client's verifier starts.
await runJobTree({ ...base, seed: 1n });

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(`${SIZE} fixture, ${MAX_TOKENS} output tokens per job, 3 compute nodes`);
const oneLayer = await runJobTree(base);
const layer = treeNodes(oneLayer.root).filter((n) => n.depth === 1);
const own = layer.map((n) => n.attempts.at(-1)!.ms);
const slowest = Math.max(...own);
const sum = own.reduce((a, b) => a + b, 0);
const layerMs = oneLayer.layerMs[1];
console.log(
  `layer of ${layer.length} children on ${new Set(layer.map((n) => n.computeNode)).size} nodes`,
);
console.log(`  layer wall time        ${fmt(layerMs)}`);
console.log(`  slowest child (own)    ${fmt(slowest)}  -> ratio ${(layerMs / slowest).toFixed(2)}`);
console.log(`  sum of children        ${fmt(sum)}  -> ratio ${(layerMs / sum).toFixed(2)}`);
console.log(`  children: ${own.map(fmt).join(", ")}`);

const t0 = performance.now();
const tree = await runJobTree({ ...base, depth: 2, seed: 12n });
const treeMs = performance.now() - t0;
const all = treeNodes(tree.root);
console.log(
  `depth-2 tree, fan-out 3: ${all.length} nodes, ${tree.jobs} jobs in ${fmt(treeMs)} (layers ${
    tree.layerMs.map(fmt).join(", ")
  })`,
);

// The same prompts and seeds, one job after another (first node to accept).
const byPath = new Map(all.map((n) => [n.path, n]));
const t1 = performance.now();
for (const n of all) {
  const parent = byPath.get(n.path.replace(/\.\d+$/, ""));
  const text = n.path === "0"
    ? "Three parts of a plan for a trip:"
    : childPrompt(base.template, n.part!, parent!.text!);
  const r = await submitJob({
    ...base.job,
    node,
    secretKey: sk,
    fee: base.fee,
    modelId,
    promptTokens: textPrompt(tokenizer, text).tokens,
    maxTokens: MAX_TOKENS,
    seed: childSeed(12n, n.path, 0),
    ...sampler,
    reward: base.reward,
  });
  if (r.state !== "verified") throw new Error(`sequential ${n.path}: ${r.state}`);
}
const seqMs = performance.now() - t1;
console.log(
  `the same ${all.length} jobs one after another: ${fmt(seqMs)} -> tree is ${
    (seqMs / treeMs).toFixed(2)
  }x faster`,
);
for (const p of nodes) await p.stop();
Deno.exit(0);
