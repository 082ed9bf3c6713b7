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
 *   the load of a shared machine moves between benches, with verify()'s own prefill / rest split;
 * - the same paired rounds on a fixture with Llama 3's real 128,256-token vocabulary (llama.cpp's
 *   ggml-vocab-llama-bpe.gguf, as `model fixture --vocab` makes it), WASM and llama.cpp on 1
 *   thread: `--filter vocab128k` (built only when it runs).
 */

import { modelIdFromBytes } from "../../chain/model_id.ts";
import { makeFixture, readVocabularyMetadata } from "../../compute/fixture.ts";
import { generate } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { LlamaBackend } from "../../compute/llama_backend.ts";
import {
  type JobRecord,
  type PrefillBackend,
  type Verdict,
  verify,
} from "../../verifier-wasm/mod.ts";
import { OnnxBackend } from "../../verifier-wasm/onnx_backend.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";
import { defaultKernelThreads } from "../../verifier-wasm/kernel_threads.ts";
import { ensureLlamaCpp } from "../tokenizer/llama_cpp_data.ts";

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
const SAMPLING = {
  seed: 42n,
  jobId: new Uint8Array(32).fill(7),
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
};
/** Which positions a check covers, and its label in bench names and printed ratios. */
const CHECK_MODES = [["sampled", "k=3"], ["all", "all"]] as const;

/** verify() of `job` (k = 3 or every position, model id known); throws unless honest. */
function checker(job: JobRecord, model: Uint8Array, id: string) {
  let secret = 0;
  return async (name: string, b: PrefillBackend, positions: "sampled" | "all") => {
    const v = await verify(job, { gguf: model, backend: b }, {
      positions,
      k: 3,
      knownModelId: id,
      randomness: { secret: new Uint8Array([secret++ & 255]) },
    });
    if (v.verdict !== "honest") throw new Error(`${name}: ${v.reasons.join("; ")}`);
    return v;
  };
}

/** What a paired-rounds bench runs: the job's generation and the checks paired with it. */
interface PairedJob {
  /** Generates the job again (the compute node's work). */
  generate(): Promise<JobRecord>;
  /** The checking backends, by name. */
  backends: readonly (readonly [string, PrefillBackend])[];
  /** One verify() of the job on a backend; throws unless honest. */
  check(name: string, b: PrefillBackend, positions: "sampled" | "all"): Promise<Verdict>;
}

/**
 * Paired rounds: on a shared machine the load moves between benches, so each round runs the
 * generation and then every check once, and the ratios (check / generation of the same round) are
 * printed as median and best over the rounds, with verify()'s own split of each check (prefill,
 * and the rest: mostly the per-position check) and generation's (decoding, sampling), medians.
 * `setup` runs in the first (warm-up) round, so a filtered-out group builds nothing.
 */
function pairedBench(
  name: string,
  group: string,
  rounds: number,
  setup: () => Promise<PairedJob>,
): void {
  let ready: Promise<PairedJob> | undefined;
  const series = new Map<string, number[]>();
  const add = (key: string, v: number) => series.set(key, [...(series.get(key) ?? []), v]);
  let round = 0;
  // Printed once every round has run (deno bench may call a bench once more than n + warmup).
  globalThis.addEventListener("unload", () => {
    for (const [key, xs] of series) {
      const sorted = [...xs].sort((a, b) => a - b);
      const med = sorted[Math.floor(sorted.length / 2)];
      const digits = key.endsWith("ms") ? 1 : 3;
      console.log(
        `${group}, ${key}: median ${med.toFixed(digits)}, best ${
          sorted[0].toFixed(digits)
        } (${xs.length} rounds)`,
      );
    }
  });
  Deno.bench({
    name,
    group,
    n: rounds,
    warmup: 1,
    async fn() {
      const job = await (ready ??= setup());
      const counted = round++ > 0;
      const t0 = performance.now();
      const rec = await job.generate();
      const gen = performance.now() - t0;
      for (const [backendName, b] of job.backends) {
        for (const [positions, label] of CHECK_MODES) {
          const t = performance.now();
          const v = await job.check(backendName, b, positions);
          const key = `${label} on ${backendName}`;
          if (!counted) continue;
          add(`${key}: check / generation`, (performance.now() - t) / gen);
          add(`${key}: prefill ms`, v.timings.prefillMs);
          add(`${key}: rest ms`, v.timings.totalMs - v.timings.prefillMs);
        }
      }
      if (!counted) return;
      const timings = rec.timings as { decodeMs: number; sampleMs: number };
      add("generation ms", gen);
      add("generation decode ms", timings.decodeMs);
      add("generation sample ms", timings.sampleMs);
    },
  });
}

for (const B of [64, 256, 1024]) {
  const generateJob = () =>
    generate(llamaModel, modelId, {
      promptTokens: PROMPT,
      maxTokens: B,
      sampling: SAMPLING,
      threads: 1,
    });
  const job = await generateJob();
  if (job.outputTokens.length !== B) throw new Error(`expected ${B} tokens`);
  const n = B === 1024 ? 2 : 4;
  Deno.bench({
    name: `B=${B}: generate with llama.cpp`,
    group: `verify-B${B}`,
    baseline: true,
    n,
    warmup: 1,
    async fn() {
      await generateJob();
    },
  });
  const verifiers = [
    ["wasm", wasm],
    [`wasm ${cores} threads`, wasmAll],
    ["llama.cpp", llama],
    ["llama.cpp 2 threads", llama2],
    ["onnx", onnx],
  ] as const;
  const check = checker(job, gguf, modelId);
  for (const [name, b] of verifiers) {
    for (const [positions, label] of CHECK_MODES) {
      Deno.bench({
        name: `B=${B}: verify ${label === "all" ? "all positions" : label} on ${name}`,
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
  pairedBench(
    `B=${B}: paired rounds, generation then every check (ratios printed)`,
    `verify-B${B}-paired`,
    6,
    () =>
      Promise.resolve({
        generate: generateJob,
        backends: verifiers.filter(([name]) => name !== "onnx"),
        check,
      }),
  );
}

// The same paired rounds on a real 128k-token vocabulary (Llama 3's, from llama.cpp's
// ggml-vocab-llama-bpe.gguf: `model fixture --vocab`): the output head and every per-position
// scan are 4x the 32,000-token fixture's. One thread on each backend.
const BIG_VOCAB = "llama-bpe";
pairedBench(
  `B=256, vocab128k (${BIG_VOCAB}, 128,256 tokens): paired rounds, generation then every check`,
  "verify-B256-vocab128k-paired",
  6,
  async () => {
    const vocabulary = await readVocabularyMetadata(
      `${await ensureLlamaCpp()}/models/ggml-vocab-${BIG_VOCAB}.gguf`,
    );
    const big = makeFixture({ size: "small", dtype: "q8_0", seed: 9n, vocabulary, eosBias: -30 });
    const bigPath = `${dir}/small-q8_0-${BIG_VOCAB}.gguf`;
    await Deno.writeFile(bigPath, big);
    const bigId = modelIdFromBytes(big);
    const model = await loadModel(bigPath);
    const bos = Number(vocabulary.get("tokenizer.ggml.bos_token_id")?.value);
    const generateJob = () =>
      generate(model, bigId, {
        promptTokens: [bos, ...PROMPT.slice(1)],
        maxTokens: 256,
        sampling: SAMPLING,
        threads: 1,
      });
    const job = await generateJob();
    if (job.outputTokens.length !== 256) throw new Error("expected 256 tokens");
    return {
      generate: generateJob,
      backends: [
        ["wasm", await WasmBackend.create(big, { threads: 1 })],
        ["llama.cpp", LlamaBackend.wrap(model, 1)],
      ],
      check: checker(job, big, bigId),
    };
  },
);
