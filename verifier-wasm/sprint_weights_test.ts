/**
 * @module Tests of the sprint weight derivation on a real dev node: proofs proved on the sprint
 * model seeded by the chain, put on chain, judged alike: an honest proof earns its nonces, a padded
 * one nothing, a node's second proof and a proof included after the window do not count.
 */

import assert from "node:assert/strict";
import { NotFoundError } from "../chain/errors.ts";
import { toHex } from "../chain/bytes.ts";
import { COIN } from "../chain/params.ts";
import { publicKeyOf } from "../chain/keys.ts";
import { sprintNodeSeed } from "../chain/sprint.ts";
import { mine, newKey, openFundedDevNode, spend, type TestKey } from "../tests/chain_helpers.ts";
import { submitProof } from "../tests/sprint_helpers.ts";
import { proveSprint } from "../compute/sprint_prover.ts";
import { SprintModel } from "./sprint_model.ts";
import { sprintSeedAt, sprintWeights } from "./sprint_weights.ts";

Deno.test("sprint weights are derived from chain data: honest counted, forged and late not", async () => {
  const { node, close, owner, coin } = await openFundedDevNode();
  try {
    const p = node.params.sprint;
    const b = newKey(), c = newKey();
    const fund = spend(owner, [coin], [
      { value: 10n * COIN, script: b.script },
      { value: 10n * COIN, script: c.script },
      { value: coin.value - 20n * COIN - 10_000n, script: owner.script },
    ]);
    await node.processTx(fund.bytes);
    await mine(node, owner, p.interval - node.tip().height); // the tip is sprint 1's start
    await assert.rejects(
      sprintWeights(node, 2),
      (e) => e instanceof NotFoundError && e.code === "sprint/not-started",
    );
    const model = await SprintModel.create(p, sprintSeedAt(node, 1));
    const seedOf = (k: TestKey) => sprintNodeSeed(publicKeyOf(k.secret));
    const honest = (await proveSprint(model, seedOf(owner), { count: 600 })).nonces;
    const bHonest = (await proveSprint(model, seedOf(b), { count: 300 })).nonces;
    const bad: number[] = [];
    for (let n = 300; bad.length < 3 * bHonest.length; n++) {
      if (model.distance(seedOf(b), n) >= p.threshold) bad.push(n);
    }
    const padded = [...bHonest, ...bad].sort((x, y) => x - y);
    const late = (await proveSprint(model, seedOf(c), { count: 300 })).nonces;
    model.free();

    await submitProof(node, owner, 1, honest);
    await submitProof(node, b, 1, padded);
    await mine(node, owner, 1); // height start + 1
    await submitProof(node, owner, 1, [honest[0]]); // a second proof of the owner
    await mine(node, owner, p.window); // past the window
    await submitProof(node, c, 1, late);
    await mine(node, owner, 1);
    assert.equal((await node.store.sprintProofs(1)).length, 4);

    const weights = await sprintWeights(node, 1);
    const byKey = new Map(weights.map((w) => [w.nodeKey, w]));
    assert.equal(weights.length, 2);
    const a = byKey.get(toHex(publicKeyOf(owner.secret)))!;
    assert.equal(a.verdict.accepted, true);
    assert.equal(a.weight, honest.length);
    assert.equal(a.proof.height, p.interval + 1);
    const forged = byKey.get(toHex(publicKeyOf(b.secret)))!;
    assert.equal(forged.verdict.accepted, false);
    assert.equal(forged.weight, 0);
    assert.equal(byKey.has(toHex(publicKeyOf(c.secret))), false);
    // Every node derives the same weights: a second derivation agrees.
    assert.deepEqual(await sprintWeights(node, 1), weights);
  } finally {
    close();
  }
});
