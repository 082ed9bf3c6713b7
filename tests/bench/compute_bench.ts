/**
 * @module Compute benchmarks: llama.cpp through Deno FFI on fixture models (tiny: vocab 260,
 * small: vocab 32000), f32 / f16 / q8_0, one CPU thread. Per group, the baseline is generating
 * 64 tokens one by one (decode + sampler) after a 64-token prompt; compared side by side with one
 * prefill over the same 128 tokens with logits at every position and at 4 positions (RASTiC's
 * check pass), and with one raw llama_decode step (no sampler, no logits copy) on 1 and 2 threads.
 *
 * tokens/s = tokens / reported time. Run: deno bench -A tests/bench/compute_bench.ts
 */

import { makeFixture } from "../../compute/fixture.ts";
import { generate, prefillLogits } from "../../compute/generate.ts";
import { type LlamaModel, loadModel } from "../../compute/llama/llama.ts";
import type { SamplingParams } from "../../verifier-wasm/sampler.ts";

const dir = Deno.makeTempDirSync({ prefix: "camelid-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const PROMPT = 64;
const OUTPUT = 64;
const THREADS = 1;
const sampling: SamplingParams = {
  seed: 1n,
  jobId: new Uint8Array(32),
  temperature: 1,
  topK: 0,
  topP: 1,
};

const models = new Map<string, LlamaModel>();
for (const size of ["tiny", "small"] as const) {
  for (const dtype of ["f32", "f16", "q8_0"] as const) {
    const path = `${dir}/${size}-${dtype}.gguf`;
    Deno.writeFileSync(
      path,
      makeFixture({ size, dtype, seed: 1n, vocab: size === "small" ? 32000 : 260 }),
    );
    models.set(`${size}/${dtype}`, await loadModel(path));
  }
}

for (const [name, model] of models) {
  const prompt = Array.from({ length: PROMPT }, (_, i) => 3 + ((i * 37) % 256));
  // Pick the first seed whose generation runs the full length (no end token), so the baseline
  // always generates exactly OUTPUT tokens.
  let params = sampling;
  let output: number[] = [];
  for (let seed = 1n; output.length < OUTPUT; seed++) {
    params = { ...sampling, seed };
    const rec = await generate(model, "bench", {
      promptTokens: prompt,
      maxTokens: OUTPUT,
      sampling: params,
      threads: THREADS,
    });
    output = rec.outputTokens;
  }
  const all = [...prompt, ...output];
  const n = model.nVocab;
  const iters = name.startsWith("small") ? 5 : 30;
  Deno.bench({
    name: `${name} generate ${OUTPUT} tokens after ${PROMPT}-token prompt`,
    group: name,
    baseline: true,
    n: iters,
    warmup: 1,
    async fn() {
      await generate(model, "bench", {
        promptTokens: prompt,
        maxTokens: OUTPUT,
        sampling: params,
        threads: THREADS,
      });
    },
  });
  Deno.bench({
    name: `${name} prefill ${PROMPT + OUTPUT} tokens, logits at all positions (vocab ${n})`,
    group: name,
    n: iters,
    warmup: 1,
    async fn() {
      await prefillLogits(model, all, all.map((_, i) => i), { threads: THREADS });
    },
  });
  Deno.bench({
    name: `${name} prefill ${PROMPT + OUTPUT} tokens, logits at 4 positions`,
    group: name,
    n: iters,
    warmup: 1,
    async fn() {
      await prefillLogits(model, all, [PROMPT, PROMPT + 20, PROMPT + 40, all.length - 1], {
        threads: THREADS,
      });
    },
  });
  for (const threads of [THREADS, 2]) {
    const ctx = model.createContext({ nCtx: 1024, threads });
    await ctx.decode(prompt, "none");
    Deno.bench({
      name: `${name} raw decode of 1 token (FFI only, no sampling), ${threads} thread(s)`,
      group: name,
      n: iters * 10,
      warmup: 2,
      async fn() {
        await ctx.decode([5], "none");
        await ctx.trim(PROMPT);
      },
    });
  }
}
