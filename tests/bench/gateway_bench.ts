/**
 * @module Gateway benchmarks on real processes: two compute nodes (A mining, B funded by A), a tiny
 * fixture model with a chat template, and the OpenAI-compatible gateway in this process (verifying
 * locally), called with the real `openai` client. Side by side in one run: a bare job (`submitJob`
 * with the same prompt tokens, budget and sampler) and the same request through the gateway, plain
 * and streamed (time to the first content chunk); then requests per minute with 4 requests in flight.
 */

import OpenAI from "openai";
import { makeFixture } from "../../compute/fixture.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { submitJob } from "../../client/job_client.ts";
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import { NodeClient } from "../../relay/client.ts";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { COIN } from "../../chain/params.ts";
import { createGatewayApp } from "../../gateway/app.ts";
import { getJson, spawnNode, waitFor } from "../process_helpers.ts";
import { sendCoins } from "../jobs/funding_helpers.ts";

const MAX_TOKENS = 24;
const PROMPT = "Once upon a time";
const dir = await Deno.makeTempDir({ prefix: "camelid-gateway-bench-" });
const modelPath = `${dir}/tiny.gguf`;
const gguf = makeFixture({
  size: "tiny",
  dtype: "f16",
  seed: 21n,
  chatTemplate: "{% for m in messages %}{{ m.content }}{% endfor %}",
});
await Deno.writeFile(modelPath, gguf);
const modelId = modelIdFromBytes(gguf);
const promptTokens = tokenizerFromGGUF(gguf).tokenize(PROMPT, { addSpecial: true });

const a = await spawnNode(
  ["--data-dir", `${dir}/a`, "--model", modelPath, "--threads", "1"],
  {},
  "compute",
);
const b = await spawnNode(
  ["--data-dir", `${dir}/b`, "--no-mine", "--seed", a.url, "--model", modelPath, "--threads", "1"],
  {},
  "compute",
);
globalThis.addEventListener("unload", () => {
  for (const p of [b, a]) {
    try {
      p.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});

const bare = generateSecretKey();
const gateway = generateSecretKey();
await waitFor(
  "mature coins",
  async () => (await getJson<{ height: number }>(`${a.url}/v1/status`)).body.height > 7,
  120_000,
);
const walletB: string = await waitFor("compute node B's wallet", async () => {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/b/wallet.json`)).address;
  } catch {
    return null;
  }
});
const targets = [bare, gateway, gateway, gateway].map((sk) =>
  addressFromPublicKey(publicKeyOf(sk))
);
for (const to of [...targets, walletB, walletB]) {
  await sendCoins(`${dir}/a/wallet.json`, a.url, to, "4");
}
await waitFor("funded wallets", async () => {
  for (const [address, least] of [[walletB, 8n], [targets[0], 4n], [targets[1], 12n]] as const) {
    const got = await getJson<{ spendableUnits: string }>(`${a.url}/v1/addresses/${address}`);
    if (BigInt(got.body.spendableUnits) < least * COIN) return false;
  }
  return true;
}, 60_000);

const node = new NodeClient(a.url);
const app = createGatewayApp({
  node,
  secretKey: gateway,
  fee: 20_000n,
  maxPricePer1k: COIN,
  timeoutMs: 120_000,
  localModels: new Map([[modelId, gguf]]),
  spendLock: (f) => f(),
  ratePerMinute: 100_000,
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
const client = new OpenAI({
  baseURL: `http://127.0.0.1:${server.addr.port}/v1`,
  apiKey: "none",
  maxRetries: 0,
});

let seed = 1;
async function bareJob(): Promise<void> {
  const r = await submitJob({
    node,
    secretKey: bare,
    modelId,
    promptTokens,
    maxTokens: MAX_TOKENS,
    seed: BigInt(seed++),
    temperature: 1,
    topK: 0,
    topP: 1,
    reward: COIN / 100n,
    fee: 20_000n,
    verifyWith: gguf,
  });
  if (r.state !== "verified") throw new Error(`job ended ${r.state}`);
}
const request = () => ({ model: modelId, prompt: PROMPT, max_tokens: MAX_TOKENS, seed: seed++ });

/** Time to the first content chunk and to the end of a streamed request (ms). */
async function streamed(): Promise<{ first: number; total: number }> {
  const start = performance.now();
  let first = 0;
  for await (const chunk of await client.completions.create({ ...request(), stream: true })) {
    if (!first && chunk.choices[0]?.text) first = performance.now() - start;
  }
  return { first, total: performance.now() - start };
}

// Measured before the benches: time to first token (median of 5), and throughput in flight.
{
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await streamed());
  console.log(
    `streamed completion: first content chunk after ${
      median(runs.map((r) => r.first)).toFixed(0)
    } ms, last after ${median(runs.map((r) => r.total)).toFixed(0)} ms (median of 5)`,
  );
  const started = performance.now();
  let done = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 3; i++) {
      await client.completions.create(request());
      done++;
    }
  }));
  const minutes = (performance.now() - started) / 60_000;
  console.log(
    `4 requests in flight: ${done} requests in ${(minutes * 60).toFixed(1)} s = ${
      (done / minutes).toFixed(0)
    } requests per minute`,
  );
}

Deno.bench({
  name: `bare job (submitJob), offer to verified output (${MAX_TOKENS} tokens)`,
  group: "gateway",
  baseline: true,
  n: 5,
  warmup: 0,
  fn: bareJob,
});

Deno.bench({
  name: `POST /v1/completions through the gateway with the openai client (${MAX_TOKENS} tokens)`,
  group: "gateway",
  n: 5,
  warmup: 0,
  fn: async () => {
    await client.completions.create(request());
  },
});

Deno.bench({
  name: `the same, streamed (stream: true), to the last chunk`,
  group: "gateway",
  n: 5,
  warmup: 0,
  fn: async () => {
    await streamed();
  },
});
