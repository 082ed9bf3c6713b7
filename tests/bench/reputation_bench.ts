/**
 * @module Reputation derivation (compute/weight/chain_reputation.ts) on a dev chain of 14 epochs,
 * each with 4 paid jobs and one sprint proof: the first derivation at a tip (the last 10 closed
 * epochs and the open one read from KV, sprint proofs validated), beside a derivation after one new
 * block (closed epochs and the open epoch's blocks kept) and a request at the same tip.
 */

import { hash160 } from "../../chain/hash.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { sprintNodeSeed } from "../../chain/sprint.ts";
import { proveSprint } from "../../compute/sprint_prover.ts";
import { ChainReputation, countedEpochs } from "../../compute/weight/chain_reputation.ts";
import { SprintModel } from "../../verifier-wasm/sprint_model.ts";
import { sprintSeedAt } from "../../verifier-wasm/sprint_weights.ts";
import { mine, newKey, openDevNode } from "../chain_helpers.ts";
import { closeEpoch, stakedJob } from "../paid_job_helpers.ts";
import { submitProof } from "../sprint_helpers.ts";

const EPOCHS = 14;
const JOBS_PER_EPOCH = 4;

const { node } = await openDevNode();
const interval = node.params.sprint.interval;
const clients = Array.from({ length: JOBS_PER_EPOCH }, newKey);
const computes = Array.from({ length: JOBS_PER_EPOCH }, newKey);
const miner = newKey();
for (const k of [...clients, ...computes]) await mine(node, k, 1);
await mine(node, miner, 2 * interval - node.tip().height); // the coinbases mature
for (let k = 2; k < 2 + EPOCHS; k++) {
  const model = await SprintModel.create(node.params.sprint, sprintSeedAt(node, k));
  const key = publicKeyOf(computes[0].secret);
  const nonces = (await proveSprint(model, sprintNodeSeed(key), { count: 200 })).nonces;
  model.free();
  await submitProof(node, computes[0], k, nonces);
  await mine(node, miner, 1);
  const jobs = [];
  for (let i = 0; i < JOBS_PER_EPOCH; i++) {
    jobs.push(await stakedJob(node, clients[i], computes[i]));
  }
  await mine(node, miner, node.params.jobs.disputeWindow + 1);
  for (const j of jobs) await j.pay();
  await closeEpoch(node, miner, k);
}
const p = new ChainReputation(node).snapshot();
const blocksRead = ((await p).epochsCounted + 1) * interval;
const nodeHash = hash160(publicKeyOf(computes[1].secret));
console.log(
  `chain: ${node.tip().height} blocks; a derivation replays ${countedEpochs((await p).params)} ` +
    `closed epochs (${blocksRead} blocks with the open one); computes[1] reputation ` +
    `${(await p).node(nodeHash).reputation}`,
);

Deno.bench({
  name: `first derivation at a tip (${blocksRead} blocks read)`,
  group: "reputation",
  baseline: true,
  fn: async () => {
    (await new ChainReputation(node).snapshot()).node(nodeHash);
  },
});

const warm = new ChainReputation(node);
await warm.snapshot();
Deno.bench({
  name: "derivation after one new block (kept epochs)",
  group: "reputation",
  fn: async (b) => {
    await mine(node, miner, 1);
    b.start();
    (await warm.snapshot()).node(nodeHash);
    b.end();
  },
});

Deno.bench({
  name: "request at the same tip",
  group: "reputation",
  fn: async () => {
    (await warm.snapshot()).node(nodeHash);
  },
});
