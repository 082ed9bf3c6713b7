/**
 * Verifier benchmarks (`deno task bench`) on the `small` fixture (L8/E512, vocabulary 32000 for a
 * realistic output layer, q8_0, EOS suppressed so every job runs to its length), side by side:
 * - prefill: the WASM kernel on 1 thread and on every core, llama.cpp on 1 and 2 threads and the
 *   ONNX backend over 128 tokens, logits at 4 positions and at every position;
 * - verify / generate: for B = 64, 256, 1024 output tokens, llama.cpp generation on 1 thread (the
 *   compute node's work, the baseline) next to verification with k = 3 and with all positions,
 *   on the WASM kernel (1 thread and every core), llama.cpp (1 and 2 threads) and ONNX (backends
 *   loaded once, model id known: the per-job cost). `--filter B=256` runs one job size;
 * - paired rounds at B = 256: each round runs the generation and then every check once and the
 *   check / generation ratios of each round are printed (median and best), which holds up when
 *   the load of a shared machine moves between benches.
 */

import { modelIdFromBytes } from "../../chain/model_id.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { generate } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { LlamaBackend } from "../../compute/llama_backend.ts";
import { type PrefillBackend, verify } from "../../verifier-wasm/mod.ts";
import { OnnxBackend } from "../../verifier-wasm/onnx_backend.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";
import { defaultKernelThreads } from "../../verifier-wasm/kernel_threads.ts";

const gguf = makeFixture({ size: "small", dtype: "q8_0", seed: 9n, vocab: 32000, eosBias: -30 });
const dir = await Deno.makeTempDir({ prefix: "camelid-verifier-bench-" });
const path = `${dir}/small-q8_0.gguf`;
await Deno.writeFile(path, gguf);
const modelId = modelIdFromBytes(gguf);
const llamaModel = await loadModel(path);
const llama = LlamaBackend.wrap(llamaModel, 1);
const llama2 = LlamaBackend.wrap(llamaModel, 2);
const wasm = await WasmBackend.create(gguf, { threads: 1 });
const cores = defaultKernelThreads();
const wasmAll = await WasmBackend.create(gguf, { threads: cores });
const onnx = await OnnxBackend.create(gguf);
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* best effort */ }
});

const seq = Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 3 + ((i * 37) % 250)));
const few = [31, 63, 95, 127];
const every = seq.map((_, i) => i);
const prefillBackends = [
  ["wasm kernel", wasm],
  [`wasm kernel, ${cores} threads`, wasmAll],
  ["onnx", onnx],
  ["llama.cpp", llama],
  ["llama.cpp, 2 threads", llama2],
] as const;
/** The two prefill groups: logits at a few positions, and at every one. */
const prefillGroups = [
  ["prefill-4", "4 positions", few],
  ["prefill-all", "all positions", every],
] as const;
for (const [name, b] of prefillBackends) {
  for (const [group, which, positions] of prefillGroups) {
    Deno.bench({
      name: `prefill 128 tokens, logits at ${which}: ${name}`,
      group,
      baseline: name === "wasm kernel",
      n: 10,
      warmup: 2,
      async fn() {
        await b.logitsAt(seq, positions);
      },
    });
  }
}

const PROMPT = [1, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100];
for (const B of [64, 256, 1024]) {
  const sampling = {
    seed: 42n,
    jobId: new Uint8Array(32).fill(7),
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
  };
  const job = await generate(llamaModel, modelId, {
    promptTokens: PROMPT,
    maxTokens: B,
    sampling,
    threads: 1,
  });
  if (job.outputTokens.length !== B) throw new Error(`expected ${B} tokens`);
  const n = B === 1024 ? 2 : 4;
  Deno.bench({
    name: `B=${B}: generate with llama.cpp`,
    group: `verify-B${B}`,
    baseline: true,
    n,
    warmup: 1,
    async fn() {
      await generate(llamaModel, modelId, {
        promptTokens: PROMPT,
        maxTokens: B,
        sampling,
        threads: 1,
      });
    },
  });
  const verifiers = [
    ["wasm", wasm],
    [`wasm ${cores} threads`, wasmAll],
    ["llama.cpp", llama],
    ["llama.cpp 2 threads", llama2],
    ["onnx", onnx],
  ] as const;
  let secret = 0;
  const check = async (name: string, b: PrefillBackend, positions: "sampled" | "all") => {
    const v = await verify(job, { gguf, backend: b }, {
      positions,
      k: 3,
      knownModelId: modelId,
      randomness: { secret: new Uint8Array([secret++ & 255]) },
    });
    if (v.verdict !== "honest") throw new Error(`${name}: ${v.reasons.join("; ")}`);
  };
  for (const [name, b] of verifiers) {
    for (const positions of ["sampled", "all"] as const) {
      Deno.bench({
        name: `B=${B}: verify ${positions === "all" ? "all positions" : "k=3"} on ${name}`,
        group: `verify-B${B}`,
        n,
        warmup: 1,
        async fn() {
          await check(name, b, positions);
        },
      });
    }
  }
  if (B !== 256) continue;
  // Paired rounds: on a shared machine the load moves between benches, so each round runs the
  // generation and then every check once, and the ratios (check / generation of the same
  // round) are reported as median and best over the rounds.
  const rounds = 6;
  const ratios = new Map<string, number[]>();
  let round = 0;
  Deno.bench({
    name: `B=${B}: paired rounds, generation then every check (ratios printed)`,
    group: `verify-B${B}-paired`,
    n: rounds,
    warmup: 1,
    async fn() {
      const t0 = performance.now();
      await generate(llamaModel, modelId, {
        promptTokens: PROMPT,
        maxTokens: B,
        sampling,
        threads: 1,
      });
      const gen = performance.now() - t0;
      for (const [name, b] of verifiers) {
        if (name === "onnx") continue;
        for (const positions of ["sampled", "all"] as const) {
          const t = performance.now();
          await check(name, b, positions);
          const key = `${positions === "all" ? "all" : "k=3"} on ${name}`;
          if (round > 0) {
            ratios.set(key, [...(ratios.get(key) ?? []), (performance.now() - t) / gen]);
          }
        }
      }
      if (round > 0) ratios.set("generation ms", [...(ratios.get("generation ms") ?? []), gen]);
      if (++round === rounds + 1) {
        for (const [key, r] of ratios) {
          const sorted = [...r].sort((a, b) => a - b);
          const med = sorted[Math.floor(sorted.length / 2)];
          console.log(
            `B=${B} paired, ${key}: median ${med.toFixed(3)}, best ${sorted[0].toFixed(3)}`,
          );
        }
      }
    },
  });
}
