/**
 * @module Job benchmarks on a devnet of real processes: two compute nodes (one mining) and the
 * client's node, on a tiny fixture model. "jobs" submits two jobs at once from two client wallets
 * (offer -> assign -> generate -> stake -> receipt -> pay -> encrypted delivery -> full RASTiC check);
 * the baseline is bare llama.cpp generation of the same jobs' tokens in this process. "one job" runs
 * one job at a time with the messages pushed over the subscription and with HTTP polling, beside
 * bare generation of one job's tokens; before them, the time between the client's states of 5 jobs
 * and the per-job protocol overhead (each job minus a bare generation run right after it).
 */

import { makeFixture } from "../../compute/fixture.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { submitJob } from "../../client/job_client.ts";
import { NodeClient } from "../../relay/client.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { generate } from "../../compute/generate.ts";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { COIN } from "../../chain/params.ts";
import { jobIdBytes } from "../../chain/job.ts";
import { followerArgs, getJson, spawnNode, waitFor, walletSend } from "../process_helpers.ts";

const MAX_TOKENS = 24;
const dir = await Deno.makeTempDir({ prefix: "camelid-jobs-bench-" });
const modelPath = `${dir}/tiny.gguf`;
const gguf = makeFixture({ size: "tiny", dtype: "f16", seed: 21n });
await Deno.writeFile(modelPath, gguf);
const modelId = modelIdFromBytes(gguf);

const computeA = await spawnNode(
  ["--data-dir", `${dir}/a`, "--model", modelPath, "--threads", "1"],
  {},
  "compute",
);
const computeB = await spawnNode(
  followerArgs(`${dir}/b`, computeA.url, modelPath, "--threads", "1"),
  {},
  "compute",
);
const client = await spawnNode(followerArgs(`${dir}/c`, computeA.url, modelPath));
globalThis.addEventListener("unload", () => {
  for (const p of [client, computeB, computeA]) {
    try {
      p.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});

const wallets = [generateSecretKey(), generateSecretKey()];
await waitFor(
  "mature coins",
  async () => (await getJson<{ height: number }>(`${client.url}/v1/status`)).body.height > 7,
  120_000,
);
for (const sk of wallets) {
  for (let i = 0; i < 3; i++) {
    const to = addressFromPublicKey(publicKeyOf(sk));
    const r = await walletSend(`${dir}/a/wallet.json`, to, "3", computeA.url, "");
    if (r.code !== 0) throw new Error(r.stderr);
  }
}
const walletB: string = await waitFor("compute node B's wallet", async () => {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/b/wallet.json`)).address;
  } catch {
    return null;
  }
});
for (let i = 0; i < 2; i++) {
  const r = await walletSend(`${dir}/a/wallet.json`, walletB, "5", computeA.url, "");
  if (r.code !== 0) throw new Error(r.stderr);
}
await waitFor("funded clients", async () => {
  const b = await getJson<{ spendableUnits: string }>(`${client.url}/v1/addresses/${walletB}`);
  if (BigInt(b.body.spendableUnits) < 10n * COIN) return false;
  for (const sk of wallets) {
    const a = await getJson<{ spendableUnits: string }>(
      `${client.url}/v1/addresses/${addressFromPublicKey(publicKeyOf(sk))}`,
    );
    if (BigInt(a.body.spendableUnits) < 9n * COIN) return false;
  }
  return true;
}, 60_000);

const node = new NodeClient(client.url);
let seed = 100n;
async function oneJob(
  sk: Uint8Array,
  push = true,
  onState?: (state: string) => void,
): Promise<void> {
  const r = await submitJob({
    push,
    onState,
    node,
    secretKey: sk,
    modelId,
    promptTokens: [1, 40, 41, 42, 43],
    maxTokens: MAX_TOKENS,
    seed: seed++,
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    reward: COIN / 10n,
    fee: 20_000n,
    verifyWith: gguf,
  });
  if (r.state !== "verified") throw new Error(`job ended ${r.state}`);
}

const llama = await loadModel(modelPath);
/** Bare generation of one job's tokens, as the compute node runs it. */
async function bareGeneration(): Promise<void> {
  const s = seed++;
  await generate(llama, modelId, {
    promptTokens: [1, 40, 41, 42, 43],
    maxTokens: MAX_TOKENS,
    sampling: {
      seed: s,
      jobId: jobIdBytes({
        modelId: new Uint8Array(32),
        promptTokens: [1],
        seed: s,
        maxTokens: 1,
        temperature: 0,
        topK: 0,
        topP: 1,
        timestamp: 0,
        expiryHeight: 0,
        clientKey: publicKeyOf(wallets[0]),
        contact: "",
      }),
      temperature: 0.8,
      topK: 40,
      topP: 0.95,
    },
    threads: 1,
  });
}

// Where a job's time goes: each client state's time after the previous one, and the per-job
// protocol overhead: each pushed job paired with a bare generation of the same size right after
// it (the load of a shared machine moves less within a pair than between benches); medians of 5.
{
  const gaps = new Map<string, number[]>();
  const add = (key: string, ms: number) => gaps.set(key, [...(gaps.get(key) ?? []), ms]);
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    let last = t0;
    await oneJob(wallets[0], true, (state) => {
      const now = performance.now();
      add(state, now - last);
      last = now;
    });
    const job = performance.now() - t0;
    const t1 = performance.now();
    await bareGeneration();
    const bare = performance.now() - t1;
    add("whole job", job);
    add("bare generation", bare);
    add("overhead (job - bare)", job - bare);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log("one job, pushed: ms from the previous state to each state (median of 5)");
  for (const [state, ms] of gaps) console.log(`  ${state.padEnd(22)} ${median(ms).toFixed(1)}`);
}

Deno.bench({
  name: `one job, messages pushed (subscription): offer to verified output (${MAX_TOKENS} tokens)`,
  group: "one job",
  n: 5,
  warmup: 0,
  async fn() {
    await oneJob(wallets[0], true);
  },
});

Deno.bench({
  name: `one job, messages polled over HTTP: offer to verified output (${MAX_TOKENS} tokens)`,
  group: "one job",
  n: 5,
  warmup: 0,
  async fn() {
    await oneJob(wallets[0], false);
  },
});

Deno.bench({
  name: `2 jobs at once, offer to verified output (${MAX_TOKENS} tokens each, 2 compute nodes)`,
  group: "jobs",
  n: 3,
  warmup: 0,
  async fn() {
    try {
      await Promise.all(wallets.map((sk) => oneJob(sk)));
    } catch (e) {
      for (const p of [computeA, computeB, client]) {
        console.error(
          p.output().split("\n").filter((l) => !/ Block \d/.test(l)).slice(-25).join("\n"),
        );
      }
      throw e;
    }
  },
});

Deno.bench({
  name: `baseline: bare llama.cpp generation of 1 x ${MAX_TOKENS} tokens`,
  group: "one job",
  baseline: true,
  n: 10,
  async fn() {
    await bareGeneration();
  },
});

Deno.bench({
  name: `baseline: bare llama.cpp generation of 2 x ${MAX_TOKENS} tokens`,
  group: "jobs",
  baseline: true,
  n: 10,
  async fn() {
    for (let i = 0; i < 2; i++) await bareGeneration();
  },
});
