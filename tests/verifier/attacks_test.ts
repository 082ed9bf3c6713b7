/**
 * RASTiC against real cheating: honest llama.cpp (and WASM-generated) jobs are judged honest by
 * every backend pair; each attack of the verifier issue is judged fraud in full mode. For every
 * attack the test also measures the fraction f of positions that fail and the sampled-mode
 * detection rate over 400 checker secrets (k = 3), printed next to 1 - (1 - f)^k.
 */

import assert from "node:assert/strict";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { generate } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import type { PrefillBackend } from "../../verifier-wasm/backend.ts";
import { LlamaBackend } from "../../compute/llama_backend.ts";
import { OnnxBackend } from "../../verifier-wasm/onnx_backend.ts";
import {
  choosePositions,
  type JobRecord,
  outputCommitment,
  parseJobRecord,
  selectionSeed,
} from "../../verifier-wasm/rastic.ts";
import { type Verdict, verify } from "../../verifier-wasm/mod.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";
import { generateWith } from "./backend_generate.ts";

const PROMPT = [1, 72, 101, 108, 108, 111];
const OTHER_PROMPT = [1, 87, 111, 114, 108, 100, 33];
const JOB_ID = new Uint8Array(32).fill(0x5a);
const EOS = 2;
const K = 3;

interface World {
  dir: string;
  f16: Uint8Array;
  backends: Record<"wasm" | "onnx" | "llama", PrefillBackend>;
  lengthJob: JobRecord;
  stopJob: JobRecord;
  wasmJob: JobRecord;
  attacks: Record<string, JobRecord>;
  close(): Promise<void>;
}

async function llamaJob(
  path: string,
  gguf: Uint8Array,
  claimId: string,
  prompt: number[],
  seed: bigint,
  jobId = JOB_ID,
  maxTokens = 64,
  temperature = 0.8,
): Promise<JobRecord> {
  const model = await loadModel(path);
  try {
    const job = await generate(model, modelIdFromBytes(gguf), {
      promptTokens: prompt,
      maxTokens,
      threads: 1,
      sampling: { seed, jobId, temperature, topK: 0, topP: 1 },
    });
    return { ...job, modelId: claimId };
  } finally {
    await model.free();
  }
}

let worldPromise: Promise<World> | undefined;

function world(): Promise<World> {
  worldPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "camelid-attacks-" });
    const write = async (name: string, bytes: Uint8Array) => {
      await Deno.writeFile(`${dir}/${name}`, bytes);
      return `${dir}/${name}`;
    };
    const f16 = makeFixture({ size: "tiny", dtype: "f16", seed: 21n, eosBias: 1 });
    const q8 = makeFixture({ size: "tiny", dtype: "q8_0", seed: 21n, eosBias: 1 });
    const other = makeFixture({ size: "tiny", dtype: "f16", seed: 22n, eosBias: 1 });
    const f16Path = await write("f16.gguf", f16);
    const q8Path = await write("q8.gguf", q8);
    const otherPath = await write("other.gguf", other);
    const id = modelIdFromBytes(f16);
    // Seed 1 runs to the length limit, seed 11 stops with EOS after 31 tokens.
    const lengthJob = await llamaJob(f16Path, f16, id, PROMPT, 1n);
    const stopJob = await llamaJob(f16Path, f16, id, PROMPT, 11n);
    assert.equal(lengthJob.finishReason, "length");
    assert.equal(stopJob.finishReason, "stop");
    assert.ok(stopJob.outputTokens.length > 20);
    const wasm = await WasmBackend.create(f16);
    const onnx = await OnnxBackend.create(f16);
    const llama = await LlamaBackend.create(f16Path);
    const wasmJob = await generateWith(wasm, {
      modelId: id,
      promptTokens: PROMPT,
      seed: 5n,
      jobId: JOB_ID,
      temperature: 0.8,
      topK: 40,
      topP: 0.95,
      maxTokens: 48,
      endTokens: new Set([EOS]),
    });
    const n = lengthJob.outputTokens.length;
    const changed = (p: number): JobRecord => {
      const out = [...lengthJob.outputTokens];
      out[p] = out[p] === 150 ? 151 : 150;
      return { ...lengthJob, outputTokens: out };
    };
    const s = stopJob.outputTokens;
    const half = lengthJob.outputTokens.slice(0, n / 2);
    const ab = [lengthJob.outputTokens[0], lengthJob.outputTokens[1]];
    const attacks: Record<string, JobRecord> = {
      "token changed early (position 1)": changed(1),
      "token changed mid": changed(Math.floor(n / 2)),
      "token changed late (position n-2)": changed(n - 2),
      'end token removed, still "stop"': { ...stopJob, outputTokens: s.slice(0, -1) },
      'output cut short, EOS appended, "stop"': {
        ...lengthJob,
        outputTokens: [...half, EOS],
        finishReason: "stop",
      },
      'output cut short, "stop"': { ...lengthJob, outputTokens: half, finishReason: "stop" },
      "extra tokens after the end": { ...stopJob, outputTokens: [...s, 40, 41, 42] },
      "different seed claimed": { ...lengthJob, seed: "2" },
      "different job id claimed": { ...lengthJob, jobId: "5b".repeat(32) },
      "prompt swapped": await llamaJob(f16Path, f16, id, OTHER_PROMPT, 1n).then((j) => ({
        ...j,
        promptTokens: PROMPT,
      })),
      "output of another model (fixture seed 22)": await llamaJob(otherPath, other, id, PROMPT, 1n),
      // Quantization noise only shows where the two models' choices part: this job (T = 1.5,
      // seed 2) has such positions; docs/verification.md gives the rate over many jobs.
      "q8_0 output claimed as the f16 model": await llamaJob(
        q8Path,
        q8,
        id,
        PROMPT,
        2n,
        JOB_ID,
        128,
        1.5,
      ),
      "repetitive pattern": {
        ...lengthJob,
        outputTokens: Array.from({ length: n }, (_, i) => ab[i % 2]),
      },
    };
    return {
      dir,
      f16,
      backends: { wasm, onnx, llama },
      lengthJob,
      stopJob,
      wasmJob,
      attacks,
      async close() {
        wasm.dispose();
        await onnx.dispose();
        await llama.dispose();
        await Deno.remove(dir, { recursive: true });
      },
    };
  })();
  return worldPromise;
}

function check(
  w: World,
  job: JobRecord,
  backend: "wasm" | "onnx" | "llama",
  generator: "llama" | "wasm" = "llama",
  positions: "all" | "sampled" = "all",
  secret = new Uint8Array([1]),
): Promise<Verdict> {
  return verify(job, { gguf: w.f16, backend: w.backends[backend] }, {
    backend,
    generator,
    positions,
    k: K,
    randomness: { secret },
  });
}

Deno.test("honest jobs are judged honest by every backend pair, in full and sampled modes", async () => {
  const w = await world();
  for (const job of [w.lengthJob, w.stopJob]) {
    for (const b of ["llama", "wasm", "onnx"] as const) {
      for (const mode of ["all", "sampled"] as const) {
        const v = await check(w, job, b, "llama", mode);
        assert.equal(v.verdict, "honest", `llama->${b} ${mode}: ${v.reasons.join("; ")}`);
        if (mode === "all") assert.equal(v.checked.length, job.outputTokens.length);
        else assert.equal(v.checked.length, job.finishReason === "stop" ? K + 2 : K + 1);
      }
    }
  }
  for (const b of ["wasm", "onnx"] as const) {
    const v = await check(w, w.wasmJob, b, "wasm");
    assert.equal(v.verdict, "honest", `wasm->${b}: ${v.reasons.join("; ")}`);
  }
});

Deno.test("every attack is judged fraud; sampled detection follows 1-(1-f)^k", async () => {
  const w = await world();
  const rows: string[] = [];
  for (const [name, job] of Object.entries(w.attacks)) {
    for (const b of ["wasm", "onnx", "llama"] as const) {
      const v = await check(w, job, b);
      assert.equal(v.verdict, "fraud", `${name} (${b}): ${v.verdict} ${v.reasons.join("; ")}`);
    }
    // Detection in sampled mode, from the full-mode per-position results and the real selector.
    const full = await check(w, job, "wasm");
    const n = job.outputTokens.length;
    const failing = new Set(
      full.checked.filter((c) => c.outcome === "fail").map((c) => c.position),
    );
    const recordOnly = full.checked.length === 0;
    const parsed = parseJobRecord(job);
    const commitment = outputCommitment(parsed.jobId, job.outputTokens, job.finishReason);
    let detected = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const secret = new Uint8Array([t & 255, t >> 8, 9]);
      const seed = selectionSeed({ secret }, commitment, parsed.jobId);
      const plan = choosePositions(n, job.finishReason, "sampled", K, seed);
      if (recordOnly || plan.positions.some((p) => failing.has(p))) detected++;
    }
    // Continuity (0) and, for "stop", truncation (n-1) are always checked; k of the rest are drawn.
    const fixed = job.finishReason === "stop" ? [0, n - 1] : [0];
    const interior = n - fixed.length;
    const fInterior = [...failing].filter((p) => !fixed.includes(p)).length / Math.max(1, interior);
    const expected = recordOnly || fixed.some((p) => failing.has(p)) ? 1 : 1 - (1 - fInterior) ** K;
    // A real sampled verification agrees with the simulation for one secret.
    const real = await check(w, job, "wasm", "llama", "sampled", new Uint8Array([0, 0, 9]));
    const simulated = recordOnly ||
      choosePositions(
        n,
        job.finishReason,
        "sampled",
        K,
        selectionSeed({ secret: new Uint8Array([0, 0, 9]) }, commitment, parsed.jobId),
      ).positions.some((p) => failing.has(p));
    assert.equal(real.verdict === "fraud", simulated, name);
    rows.push(
      `| ${name} | ${recordOnly ? "record" : `${failing.size}/${n}`} | ` +
        `${recordOnly ? "-" : fixed.some((p) => failing.has(p)) ? "yes" : "no"} | 1.000 | ` +
        `${(detected / trials).toFixed(3)} | ${expected.toFixed(3)} |`,
    );
  }
  console.log(
    "\n| attack | failing positions | fixed position fails | full | sampled k=3 (400 secrets) | " +
      "expected |\n|---|---:|---:|---:|---:|---:|\n" + rows.join("\n"),
  );
});

Deno.test("a backend error or a wrong model file is inconclusive, never honest", async () => {
  const w = await world();
  const broken: PrefillBackend = {
    name: "wasm",
    vocabSize: w.backends.wasm.vocabSize,
    logitsAt: () => Promise.reject(new Error("out of memory")),
  };
  const v = await verify(w.lengthJob, { gguf: w.f16, backend: broken }, { positions: "all" });
  assert.equal(v.verdict, "inconclusive");
  assert.match(v.reasons.join(), /backend error: Error: out of memory/);
  const nan: PrefillBackend = {
    name: "wasm",
    vocabSize: w.backends.wasm.vocabSize,
    logitsAt: (_t, p) => Promise.resolve(p.map(() => new Float32Array(260).fill(NaN))),
  };
  assert.equal((await verify(w.lengthJob, { gguf: w.f16, backend: nan })).verdict, "inconclusive");
  const short: PrefillBackend = {
    name: "wasm",
    vocabSize: w.backends.wasm.vocabSize,
    logitsAt: (_t, p) => Promise.resolve(p.map(() => new Float32Array(10))),
  };
  const s = await verify(w.lengthJob, { gguf: w.f16, backend: short }, { positions: "all" });
  assert.equal(s.verdict, "inconclusive");
  assert.equal(s.checked.length, 0);
  const other = makeFixture({ size: "tiny", dtype: "f16", seed: 22n, eosBias: 1 });
  const wrong = await verify(w.lengthJob, other, { backend: "wasm" });
  assert.equal(wrong.verdict, "inconclusive");
  assert.match(wrong.reasons[0], /model id mismatch/);
  await w.close();
});
