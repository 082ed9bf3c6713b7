/**
 * @module Tests of proving a sprint on llama.cpp (real library, the sprint GGUF): its distances
 * agree with the WASM kernel's to float noise, and its proofs pass the kernel-side validator.
 */

import assert from "node:assert/strict";
import { networkParams } from "../chain/params.ts";
import { sha256 } from "../chain/hash.ts";
import { sprintNodeSeed } from "../chain/sprint.ts";
import { SprintModel } from "../verifier-wasm/sprint_model.ts";
import { validateSprintProof } from "../verifier-wasm/sprint_validate.ts";
import { LlamaSprintModel } from "./sprint_llama.ts";
import { proveSprint } from "./sprint_prover.ts";

const dev = networkParams("dev").sprint;
const seed = sha256(new TextEncoder().encode("sprint on llama.cpp"));
const node = sprintNodeSeed(new Uint8Array(33).fill(5));

Deno.test("llama.cpp sprint distances match the WASM kernel's; its proofs are accepted", async () => {
  const llama = await LlamaSprintModel.create(dev, seed);
  const wasm = await SprintModel.create(dev, seed);
  try {
    let worst = 0;
    for (let n = 0; n < 300; n++) {
      worst = Math.max(worst, Math.abs((await llama.distance(node, n)) - wasm.distance(node, n)));
    }
    assert.ok(worst < 1e-4, `largest distance difference ${worst}`);
    const proof = (await proveSprint(llama, node, { count: 600 })).nonces;
    assert.ok(proof.length >= dev.sampleSize, `${proof.length} proof nonces`);
    for (let i = 0; i < 4; i++) {
      const v = validateSprintProof(wasm, node, proof, sha256(new Uint8Array([i])));
      assert.equal(v.accepted, true);
      assert.ok(v.mismatches <= v.limit);
    }
  } finally {
    await llama.free();
    wasm.free();
  }
});
