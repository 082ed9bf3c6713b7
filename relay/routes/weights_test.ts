/** @module Tests of `GET /v1/weights` on a real dev node (proof proved, mined, derived, served). */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { sprintNodeSeed } from "../../chain/sprint.ts";
import { proveSprint } from "../../compute/sprint_prover.ts";
import { SprintModel } from "../../verifier-wasm/sprint_model.ts";
import { sprintSeedAt } from "../../verifier-wasm/sprint_weights.ts";
import { mine, openFundedDevNode } from "../../tests/chain_helpers.ts";
import { submitProof } from "../../tests/sprint_helpers.ts";
import { createApp } from "../app.ts";

Deno.test("GET /v1/weights serves the latest closed sprint's weights", async () => {
  const { node, close, owner } = await openFundedDevNode();
  try {
    const app = createApp({ chain: node });
    const get = async (q = "") => {
      const res = await app.request(`/v1/weights${q}`);
      return { status: res.status, body: await res.json() };
    };
    const p = node.params.sprint;
    let r = await get();
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, "sprint/none-closed");
    assert.equal((await get("?sprint=0")).body.error.code, "request/bad-sprint");
    assert.equal((await get("?sprint=x")).status, 400);
    r = await get("?sprint=1");
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, "sprint/not-started");

    await mine(node, owner, p.interval - node.tip().height);
    const key = publicKeyOf(owner.secret);
    const model = await SprintModel.create(p, sprintSeedAt(node, 1));
    const nonces = (await proveSprint(model, sprintNodeSeed(key), { count: 300 })).nonces;
    model.free();
    await submitProof(node, owner, 1, nonces);
    await mine(node, owner, 1);
    r = await get("?sprint=1");
    assert.equal(r.status, 200);
    assert.equal(r.body.closed, false, "the window is still open");
    await mine(node, owner, p.window);
    r = await get();
    assert.equal(r.status, 200);
    assert.equal(r.body.sprint, 1);
    assert.equal(r.body.closed, true);
    assert.equal(r.body.seed, node.hashAtHeight(p.interval));
    assert.equal(r.body.total, nonces.length);
    assert.equal(r.body.weights.length, 1);
    const w = r.body.weights[0];
    assert.equal(w.nodeKey, toHex(key));
    assert.equal(w.address, addressFromPublicKey(key));
    assert.equal(w.weight, nonces.length);
    assert.equal(w.share, 1);
    assert.equal(w.accepted, true);
    assert.equal(w.proof.height, p.interval + 1);
  } finally {
    close();
  }
});
