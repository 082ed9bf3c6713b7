/**
 * @module Tests of the sprint model on the WASM kernel, the prover and the validator: every node
 * derives the same model, the hit rate follows the threshold, honest proofs are accepted and
 * padded, borrowed and stale proofs are rejected.
 */

import assert from "node:assert/strict";
import { networkParams } from "../../chain/params.ts";
import { referenceSprintWords, sprintNodeSeed } from "../../chain/sprint.ts";
import { sha256 } from "../../chain/hash.ts";
import { ValidationError } from "../../chain/errors.ts";
import {
  kernelSprintWords,
  SprintModel,
  sprintModelGGUF,
} from "../../verifier-wasm/sprint_model.ts";
import { validateSprintProof } from "../../verifier-wasm/sprint_validate.ts";
import { proveSprint } from "../../compute/sprint_prover.ts";

const dev = networkParams("dev").sprint;
const seedA = sha256(new TextEncoder().encode("sprint A"));
const seedB = sha256(new TextEncoder().encode("sprint B"));
const nodeA = sprintNodeSeed(new Uint8Array(33).fill(2));
const nodeB = sprintNodeSeed(new Uint8Array(33).fill(3));
const sampleSeeds = Array.from({ length: 12 }, (_, i) => sha256(new Uint8Array([i])));

Deno.test("sprint words on the kernel equal the reference SHA-256 words", async () => {
  const words = await kernelSprintWords();
  for (const n of [1, 8, 13, 1000]) {
    assert.deepEqual(words(seedA, n), referenceSprintWords(seedA, n));
  }
});

Deno.test("sprint model: same seed, same bytes and distances on separate instances", async () => {
  const words = await kernelSprintWords();
  const g1 = sprintModelGGUF(dev, seedA, words);
  assert.deepEqual(sprintModelGGUF(dev, seedA, referenceSprintWords), g1);
  assert.notDeepEqual(sprintModelGGUF(dev, seedB, words), g1);
  const m1 = await SprintModel.create(dev, seedA);
  const m2 = await SprintModel.create(dev, seedA);
  try {
    for (let n = 0; n < 20; n++) {
      const d = m1.distance(nodeA, n);
      assert.ok(d > 0 && d < 2);
      assert.equal(m2.distance(nodeA, n), d);
    }
    assert.notEqual(m1.distance(nodeB, 0), m1.distance(nodeA, 0));
  } finally {
    m1.free();
    m2.free();
  }
});

Deno.test("sprint hit rate follows the threshold (1 in odds)", async () => {
  const m = await SprintModel.create(dev, seedB);
  try {
    const run = await proveSprint(m, nodeB, { count: 2000 });
    assert.equal(run.tried, 2000);
    const expected = 2000 / dev.odds; // 125, standard deviation about 10.8
    assert.ok(Math.abs(run.nonces.length - expected) < 5 * 10.8, `${run.nonces.length} hits`);
    for (const n of run.nonces) assert.ok(m.distance(nodeB, n) < dev.threshold);
  } finally {
    m.free();
  }
});

Deno.test("sprint validation: honest accepted; padded, borrowed and stale rejected", async () => {
  const mA = await SprintModel.create(dev, seedA);
  const mB = await SprintModel.create(dev, seedB);
  try {
    const honest = (await proveSprint(mA, nodeA, { count: 600 })).nonces;
    assert.ok(honest.length >= dev.sampleSize, `${honest.length} proof nonces`);
    for (const s of sampleSeeds) {
      const v = validateSprintProof(mA, nodeA, honest, s);
      assert.equal(v.accepted, true);
      assert.equal(v.mismatches, 0);
      assert.equal(v.weight, honest.length);
      assert.equal(v.sampled.length, dev.sampleSize);
      assert.equal(v.limit, 3);
    }
    // Padded: the honest nonces plus three times as many non-proof nonces.
    const bad: number[] = [];
    for (let n = 600; bad.length < 3 * honest.length; n++) {
      if (mA.distance(nodeA, n) >= dev.threshold) bad.push(n);
    }
    const padded = [...honest, ...bad].sort((a, b) => a - b);
    // Another node's proof claimed by node A, and a proof of the previous sprint.
    const borrowed = (await proveSprint(mA, nodeB, { count: 600 })).nonces;
    const stale = (await proveSprint(mB, nodeA, { count: 600 })).nonces;
    for (const s of sampleSeeds) {
      for (const [what, nonces] of [["padded", padded], ["borrowed", borrowed], ["stale", stale]]) {
        const v = validateSprintProof(mA, nodeA, nonces as number[], s);
        assert.equal(v.accepted, false, `${what} accepted: ${v.mismatches} mismatches`);
        assert.equal(v.weight, 0);
      }
    }
    // A small proof is re-run whole; the weight counts only nonces that check out.
    const few = [honest[0], honest[1], bad[0]];
    const v = validateSprintProof(mA, nodeA, few, sampleSeeds[0]);
    assert.deepEqual(v.sampled, [0, 1, 2]);
    assert.equal(v.mismatches, 1);
    assert.equal(v.weight, 2);
    assert.throws(
      () => validateSprintProof(mA, nodeA, [5, 5], sampleSeeds[0]),
      (e) => e instanceof ValidationError && e.code === "sprint/bad-nonces",
    );
  } finally {
    mA.free();
    mB.free();
  }
});
