/**
 * @module Measures the margin test (compute/weight/margin_sprt.ts) on real jobs: honest jobs
 * (llama.cpp generates with the f16 tiny fixture, the WASM kernel verifies every position with the
 * f16 model) and substitutions (q8_0 served as f16; f16 served as f32; an f16 copy with 1% noise on
 * every tensor served as f16), all positions' margins
 * recorded. Prints, per attack: positions, exceedance rate at the level, and the share of
 * substituting providers flagged after n jobs; and the false flags over the honest jobs, with p0 set
 * from the honest exceedance (rule of three upper bound). Usage:
 * deno run -A tests/bench/margin_detection.ts [honestJobs] [attackJobs]
 */

import { modelIdFromBytes } from "../../chain/model_id.ts";
import { type FixtureDtype, makeFixture } from "../../compute/fixture.ts";
import { generate } from "../../compute/generate.ts";
import { perturbedF16 } from "./perturbed_fixture.ts";
import { LlamaBackend } from "../../compute/llama_backend.ts";
import { verify } from "../../verifier-wasm/mod.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";
import { MarginEvidence } from "../../compute/weight/margin_sprt.ts";

const honestJobs = Number(Deno.args[0] ?? 1000);
const attackJobs = Number(Deno.args[1] ?? 400);
const SEED = 31n;
const LEVEL = 0; // a position exceeds when the verifier scores another token above the claim
const TEMPS = [0, 0.8, 1.2];
const dir = await Deno.makeTempDir({ prefix: "camelid-margins-" });

const fixture = (dtype: FixtureDtype) =>
  makeFixture({ size: "tiny", dtype, seed: SEED, eosBias: 1 });

/** Margins of every position of `n` jobs generated with `genBytes` and verified with `verBytes`. */
async function margins(genBytes: Uint8Array, verBytes: Uint8Array, n: number, salt: number) {
  const path = `${dir}/gen-${salt}.gguf`;
  await Deno.writeFile(path, genBytes);
  const gen = await LlamaBackend.create(path);
  const ver = await WasmBackend.create(verBytes);
  const id = modelIdFromBytes(verBytes);
  const out: number[][] = [];
  try {
    for (let j = 0; j < n; j++) {
      const prompt = [
        1,
        ...Array.from({ length: 4 + (j % 9) }, (_, i) => 3 + ((j * 31 + i * 7) % 256)),
      ];
      const job = await generate(gen.model, id, {
        promptTokens: prompt,
        maxTokens: 32,
        threads: 1,
        sampling: {
          seed: BigInt(j + salt * 100_000),
          jobId: new Uint8Array(32).fill(j & 255),
          temperature: TEMPS[j % TEMPS.length],
          topK: 0,
          topP: 1,
        },
      });
      const v = await verify(job, { gguf: verBytes, backend: ver }, {
        positions: "all",
        knownModelId: id,
      });
      out.push(v.checked.map((c) => c.margin));
    }
  } finally {
    await gen.dispose();
    ver.dispose();
  }
  return out;
}

const rate = (jobs: number[][]) => {
  let pos = 0, ex = 0;
  for (const m of jobs) for (const x of m) (pos++, x > LEVEL && ex++);
  return { positions: pos, exceeded: ex };
};

const honest = await margins(fixture("f16"), fixture("f16"), honestJobs, 1);
const h = rate(honest);
const p0 = Math.max(h.exceeded + 3, 3) / h.positions; // rule of three above the observed count
const result: Record<string, unknown> = { honest: { jobs: honestJobs, ...h, p0 } };
const attacks: [string, Uint8Array, Uint8Array][] = [
  ["q8_0-as-f16", fixture("q8_0"), fixture("f16")],
  ["f16-as-f32", fixture("f16"), fixture("f32")],
  ["perturbed-1%-as-f16", perturbedF16(fixture("f32")), fixture("f16")],
];
for (const [name, served, claimed] of attacks) {
  const jobs = await margins(served, claimed, attackJobs, 2);
  const a = rate(jobs);
  const p1 = a.exceeded / a.positions;
  const row: Record<string, unknown> = { jobs: attackJobs, ...a, p1 };
  if (p1 > p0) {
    const params = { p0, p1: Math.min(0.5, Math.max(p1, 2 * p0)), alpha: 1e-3 };
    // Providers: consecutive runs of the attack jobs, 20 jobs each, flagged after how many?
    const flaggedAfter: Record<string, number> = {};
    const providers = Math.floor(jobs.length / 20);
    for (const n of [1, 2, 5, 10, 20]) {
      let flagged = 0;
      for (let p = 0; p < providers; p++) {
        const test = new MarginEvidence(params);
        let hit = false;
        for (let j = 0; j < n; j++) hit = test.observe("x", jobs[p * 20 + j], LEVEL) || hit;
        if (hit) flagged++;
      }
      flaggedAfter[`${n} jobs`] = flagged / providers;
    }
    // The honest jobs under the same test: one provider per 10 jobs, all its jobs.
    const honestTest = new MarginEvidence(params);
    let falseFlags = 0;
    for (let p = 0; p * 10 < honest.length; p++) {
      for (let j = 0; j < 10 && p * 10 + j < honest.length; j++) {
        if (honestTest.observe(`h${p}`, honest[p * 10 + j], LEVEL)) falseFlags++;
      }
    }
    Object.assign(row, {
      params,
      flaggedAfter,
      honestProviders: Math.ceil(honest.length / 10),
      falseFlags,
    });
  }
  result[name] = row;
}
console.log(JSON.stringify(result, null, 1));
await Deno.remove(dir, { recursive: true });
