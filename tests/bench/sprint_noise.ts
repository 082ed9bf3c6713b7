/**
 * @module Measures the float noise between llama.cpp and the WASM kernel on a sprint model (one
 * thread each): per nonce the distance on both, the largest and mean difference, how many nonces
 * flip between proof and non-proof, and the share of proof nonces lying within the largest
 * difference of the threshold (an upper estimate of the honest mismatch rate p0). Also the time per
 * nonce of each backend. Usage: deno run -A tests/bench/sprint_noise.ts [main|dev] [nonces]
 */

import { networkParams } from "../../chain/params.ts";
import { sha256 } from "../../chain/hash.ts";
import { sprintNodeSeed } from "../../chain/sprint.ts";
import { SprintModel } from "../../verifier-wasm/sprint_model.ts";
import { LlamaSprintModel } from "../../compute/sprint_llama.ts";

const net = Deno.args[0] ?? "main";
const count = Number(Deno.args[1] ?? 3000);
const p = networkParams(net).sprint;
const seed = sha256(new TextEncoder().encode("sprint noise"));
const node = sprintNodeSeed(new Uint8Array(33).fill(9));
const wasm = await SprintModel.create(p, seed);
const llama = await LlamaSprintModel.create(p, seed);
const dw: number[] = [], dl: number[] = [];
let tw = 0, tl = 0;
for (let n = 0; n < count; n++) {
  let t = performance.now();
  dw.push(wasm.distance(node, n));
  tw += performance.now() - t;
  t = performance.now();
  dl.push(await llama.distance(node, n));
  tl += performance.now() - t;
}
const diffs = dw.map((d, i) => Math.abs(d - dl[i]));
const max = Math.max(...diffs);
const mean = diffs.reduce((s, x) => s + x, 0) / count;
const proofsW = dw.filter((d) => d < p.threshold).length;
const proofsL = dl.filter((d) => d < p.threshold).length;
const flips = dw.filter((d, i) => (d < p.threshold) !== (dl[i] < p.threshold)).length;
const band = dw.filter((d) => Math.abs(d - p.threshold) <= max).length;
console.log(JSON.stringify({
  net,
  nonces: count,
  wasmMsPerNonce: +(tw / count).toFixed(3),
  llamaMsPerNonce: +(tl / count).toFixed(3),
  maxDiff: max,
  meanDiff: mean,
  proofsWasm: proofsW,
  proofsLlama: proofsL,
  flips,
  noncesWithinMaxDiffOfThreshold: band,
  bandPerProofNonce: proofsW ? band / proofsW : null,
}));
wasm.free();
await llama.free();
