/**
 * @module Sampler benchmarks at vocabulary 32000: one position of `sampleToken` / `samplerScores`
 * (full vocabulary, and with top-k / top-p), side by side with the raw baseline of hashing the same
 * 4000 noise blocks with @noble/hashes' generic SHA-256; the last case runs `sampleToken` with the
 * WASM kernel's noise block hasher installed (it stays installed after it).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { createKernel } from "../../verifier-wasm/kernel_module.ts";
import { kernelNoiseBlockHasher } from "../../verifier-wasm/noise_kernel.ts";
import {
  samplerScores,
  sampleToken,
  samplingKey,
  useNoiseBlockHasher,
} from "../../verifier-wasm/sampler.ts";

const VOCAB = 32000;
const logits = new Float32Array(VOCAB).map((_, i) => Math.sin(i * 0.37) * 3 + Math.cos(i * 1.7));
// LLM-like logits: a few candidates far above a long tail, so most noise blocks are skipped.
const peaked = new Float32Array(VOCAB).map((_, i) =>
  i % 997 === 0 ? 5 + (i % 7) : -20 + Math.sin(i) * 3
);
const base = { seed: 1n, jobId: new Uint8Array(32), temperature: 1, topK: 0, topP: 1 };
let pos = 0;

Deno.bench({
  name: "raw: noble sha256 of 4000 noise blocks (key, counter)",
  group: "sampler",
  baseline: true,
  fn() {
    const key = samplingKey(1n, base.jobId, pos++);
    const msg = new Uint8Array(36);
    msg.set(key);
    const dv = new DataView(msg.buffer);
    for (let b = 0; b < VOCAB / 8; b++) {
      dv.setUint32(32, b, true);
      sha256(msg);
    }
  },
});
Deno.bench({
  name: "sampleToken, T=1, full vocabulary 32000",
  group: "sampler",
  fn() {
    sampleToken(logits, base, pos++);
  },
});
Deno.bench({
  name: "sampleToken, T=1, full vocabulary 32000, peaked (LLM-like) logits",
  group: "sampler",
  fn() {
    sampleToken(peaked, base, pos++);
  },
});
Deno.bench({
  name: "samplerScores, T=1, full vocabulary 32000",
  group: "sampler",
  fn() {
    samplerScores(logits, base, pos++);
  },
});
Deno.bench({
  name: "sampleToken, T=0.8, top-k 40, top-p 0.95",
  group: "sampler",
  fn() {
    sampleToken(logits, { ...base, temperature: 0.8, topK: 40, topP: 0.95 }, pos++);
  },
});
Deno.bench({
  name: "sampleToken, T=1, top-p 0.9 (no top-k)",
  group: "sampler",
  fn() {
    sampleToken(logits, { ...base, topP: 0.9 }, pos++);
  },
});
Deno.bench({
  name: "sampleToken, greedy (T=0)",
  group: "sampler",
  fn() {
    sampleToken(logits, { ...base, temperature: 0 }, pos++);
  },
});

const kernelHasher = kernelNoiseBlockHasher(await createKernel());
let installed = false;
Deno.bench({
  name: "sampleToken, T=1, full vocabulary 32000, WASM kernel noise hasher",
  group: "sampler",
  fn() {
    if (!installed) {
      useNoiseBlockHasher(kernelHasher);
      installed = true;
    }
    sampleToken(logits, base, pos++);
  },
});
