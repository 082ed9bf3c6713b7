/**
 * Verifier benchmarks (`deno task bench`), all single-threaded on the `small` fixture (L8/E512,
 * vocabulary 32000 for a realistic output layer,
 * q8_0, EOS suppressed so every job runs to its length):
 * - prefill: the ONNX backend next to the WASM kernel (and llama.cpp) over 128 tokens, logits at
 *   4 positions and at every position;
 * - verify / generate: for B = 64, 256, 1024 output tokens, llama.cpp generation (baseline) next
 *   to verification with k = 3 and with all positions, on the WASM and ONNX backends (backends
 *   loaded once, model id known: the per-job cost).
 */

import { modelIdFromBytes } from "../../chain/model_id.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { generate } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { LlamaBackend } from "../../compute/llama_backend.ts";
import { verify } from "../../verifier-wasm/mod.ts";
import { OnnxBackend } from "../../verifier-wasm/onnx_backend.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";

const gguf = makeFixture({ size: "small", dtype: "q8_0", seed: 9n, vocab: 32000, eosBias: -30 });
const dir = await Deno.makeTempDir({ prefix: "camelid-verifier-bench-" });
const path = `${dir}/small-q8_0.gguf`;
await Deno.writeFile(path, gguf);
const modelId = modelIdFromBytes(gguf);
const llamaModel = await loadModel(path);
const llama = LlamaBackend.wrap(llamaModel, 1);
const wasm = await WasmBackend.create(gguf);
const onnx = await OnnxBackend.create(gguf);
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* best effort */ }
});

const seq = Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 3 + ((i * 37) % 250)));
const few = [31, 63, 95, 127];
const every = seq.map((_, i) => i);
for (const [name, b] of [["wasm kernel", wasm], ["onnx", onnx], ["llama.cpp", llama]] as const) {
  Deno.bench({
    name: `prefill 128 tokens, logits at 4 positions: ${name}`,
    group: "prefill-4",
    baseline: name === "wasm kernel",
    n: 10,
    warmup: 2,
    async fn() {
      await b.logitsAt(seq, few);
    },
  });
  Deno.bench({
    name: `prefill 128 tokens, logits at all positions: ${name}`,
    group: "prefill-all",
    baseline: name === "wasm kernel",
    n: 10,
    warmup: 2,
    async fn() {
      await b.logitsAt(seq, every);
    },
  });
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
  for (const [name, b] of [["wasm", wasm], ["onnx", onnx]] as const) {
    for (const positions of ["sampled", "all"] as const) {
      let i = 0;
      Deno.bench({
        name: `B=${B}: verify ${positions === "all" ? "all positions" : "k=3"} on ${name}`,
        group: `verify-B${B}`,
        n,
        warmup: 1,
        async fn() {
          const v = await verify(job, { gguf, backend: b }, {
            positions,
            k: 3,
            knownModelId: modelId,
            randomness: { secret: new Uint8Array([i++ & 255]) },
          });
          if (v.verdict !== "honest") throw new Error(`${name}: ${v.reasons.join("; ")}`);
        },
      });
    }
  }
}
