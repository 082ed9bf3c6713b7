/**
 * @module Statistical flags from chain data (docs/protocol.md, "Validator rewards and on-chain
 * evidence"), on real dev chains (Deno KV) with real sprint proofs and chain-derived weights:
 * distributions of payments' validation pools carrying validation records of a weighted, eligible
 * validator with high exceeded counts flag the executor (reputation 0 at once, validation
 * probability 1.0, `lastFlag`); records with exceeded 0 do not; the same counts from a weightless
 * key, from a key whose draw is not eligible or from a sprint too old are refused by consensus
 * (`job/validator-ineligible`), so they never reach the chain; the route and the job client's line
 * show it; and a second node fed the same blocks, asked at other tips, derives the same.
 */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { type Job, jobIdBytes } from "../../chain/job.ts";
import { type JobCoin, payWithPoolTx, poolCoin } from "../../chain/job_tx.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { ChainNode } from "../../chain/node.ts";
import { networkParams } from "../../chain/params.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { signRecord, type ValidationRecord, verdictDetail } from "../../chain/validation_record.ts";
import { validationTicket } from "../../chain/validator_draw.ts";
import { recordIneligibility, type SprintWeights } from "../../client/record_eligibility.ts";
import { describeReputation, fetchReputation } from "../../client/phases/reputation.ts";
import { createApp } from "../../relay/app.ts";
import { NodeClient } from "../../relay/client.ts";
import { mine, newKey, relayBlocks, type TestKey } from "../../tests/chain_helpers.ts";
import { sampleJob } from "../../tests/job_spend_helpers.ts";
import { closeEpoch, stakedJob } from "../../tests/paid_job_helpers.ts";
import { proveAndSubmit } from "../../tests/sprint_helpers.ts";
import { distributeTx } from "../../chain/job_tx.ts";
import { expectCode, sent } from "../../tests/job_spend_helpers.ts";
import {
  heldBench,
  payWithPoolInEpochStart,
  proveWeights,
  signedRecord,
  stakedFixtureJob,
} from "../../tests/held_job_helpers.ts";
import { chainWeightsOracle } from "../../verifier-wasm/weights_oracle.ts";
import { sprintWeights } from "../../verifier-wasm/sprint_weights.ts";
import { reputationParamsFor } from "./chain_reputation.ts";
import { MARGIN_TEST } from "./margin_sprt.ts";

const addr = (k: TestKey) => addressFromPublicKey(publicKeyOf(k.secret));

/** What every staked job here commits to. */
const OUTPUT = { outputTokens: [5, 6], finishReason: "stop" as const };

/** Positions each record here checked. */
const POSITIONS = 24;

/** `validator`'s signed record of `jobId` under sprint `sprint`: `exceeded` of 24 positions. */
function recordBy(
  validator: TestKey,
  jobId: Uint8Array,
  sprint: number,
  exceeded: number,
): ValidationRecord {
  const ticket = validationTicket(jobId, validator.secret);
  const checked = Array.from({ length: POSITIONS }, (_, i) => ({
    position: i,
    outcome: "pass",
    margin: i < exceeded ? 0.5 : -1,
  }));
  return signRecord(
    jobId,
    outputCommitment(jobId, OUTPUT.outputTokens, OUTPUT.finishReason),
    {
      validatorKey: publicKeyOf(validator.secret),
      sprint,
      gamma: ticket.gamma,
      proof: ticket.proof,
      verdict: "honest",
      positions: POSITIONS,
      exceeded,
      detail: verdictDetail("00".repeat(16), checked),
    },
    validator.secret,
  );
}

/** The client's payment of a staked job with its validation pool; submitted, returns the pool. */
async function payWithPool(
  node: ChainNode,
  client: TestKey,
  job: Awaited<ReturnType<typeof stakedJob>>,
): Promise<JobCoin> {
  const tx = payWithPoolTx(job.escrow, job.stake, 20_000n, job.jobId, client.secret);
  await node.processTx(encodeTransaction(tx));
  return poolCoin(txid(tx), tx.outputs)!;
}

/** The client's distribution of `pool` to `records` (in order). */
const distribution = (client: TestKey, pool: JobCoin, records: ValidationRecord[]) =>
  distributeTx({ pool, records, secretKey: client.secret, fee: 2_000n });

/** A dev node on its own KV file whose consensus reads the chain-derived weights. */
async function openWeightedNode() {
  const dir = await Deno.makeTempDir({ prefix: "camelid-chain-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const node = await ChainNode.open({
    params: networkParams("dev"),
    kv,
    weightsOracle: chainWeightsOracle,
  });
  return { node, dir, close: () => kv.close() };
}

/** The weights of closed sprint `sprint` by address, as the derivation reads them. */
async function weightsOf(node: ChainNode, sprint: number): Promise<SprintWeights> {
  const byAddress = new Map<string, number>();
  for (const w of await sprintWeights(node, sprint)) {
    if (w.weight > 0) {
      byAddress.set(addressFromPublicKey(fromHex(w.nodeKey, 33)), w.weight);
    }
  }
  return { sprint, byAddress };
}

Deno.test("validators' records on chain flag a substituting executor: reputation 0 and validation 1.0 at once; exceeded 0 counts for nothing; weightless keys, ineligible draws and stale sprints are refused by consensus; every node derives the same", async () => {
  const a = await openWeightedNode();
  const b = await openWeightedNode();
  const app = createApp({ chain: a.node });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const appB = createApp({ chain: b.node });
  try {
    const node = a.node;
    const I = node.params.sprint.interval;
    const W = node.params.jobs.disputeWindow;
    const dev = reputationParamsFor("dev");
    const [client, x, y, z, u, t, v1, v2, w, miner] = Array.from({ length: 10 }, newKey);
    const get = async (k: TestKey) => await (await app.request(`/v1/reputation/${addr(k)}`)).json();
    const epochOf = (height: number) => Math.floor(height / I);

    await mine(node, client, 3);
    for (const k of [x, y, z, u, t, v1, v2]) await mine(node, k, 1);
    await mine(node, miner, node.params.coinbaseMaturity);

    // x earns reputation 1: an epoch of honest paid work, closed.
    const honest = await stakedJob(node, client, x);
    await mine(node, miner, 1 + W);
    await honest.pay();
    await mine(node, miner, 1);
    await closeEpoch(node, miner, epochOf(node.tip().height));
    assert.equal((await get(x)).reputation, 1);

    // Sprint proofs: v1 heavy (1,600 tries), v2 light (200); w proves nothing. Past the window the
    // weights of sprint s are those the records draw under. (The hits are random, about 100 and
    // 12.5: v2's share stays under 1/3, so some jobs' draws are not eligible, but for a chance
    // of (15/16)^200 = 2.5e-6 that v2 hits nothing.)
    const s = Math.ceil(node.tip().height / I);
    await mine(node, miner, s * I - node.tip().height);
    const heavy = await proveAndSubmit(node, v1, s, 1600);
    const light = await proveAndSubmit(node, v2, s, 200);
    await mine(node, miner, 1 + node.params.sprint.window);
    const weights = await weightsOf(node, s);
    assert.equal(weights.byAddress.get(addr(v1)), heavy);
    assert.equal(weights.byAddress.get(addr(v2)), light);
    assert.ok(3 * heavy >= heavy + light, "v1 is eligible for every job (3 x share >= 1)");
    assert.ok(3 * light < heavy + light, `v2's share ${light} / ${heavy + light} is under 1/3`);

    // Jobs: for z, one whose v2 draw is not eligible (found by trying job ids).
    let notDueFor: Job | null = null;
    for (let i = 0; i < 200 && !notDueFor; i++) {
      const job = { ...sampleJob(client, node.tip().height + 40), timestamp: 1_900_000_000 + i };
      const why = recordIneligibility(recordBy(v2, jobIdBytes(job), s, 3), weights, addr(z));
      if (why === "record/not-due") notDueFor = job;
    }
    assert.ok(notDueFor, "a job for which v2 is not due");
    /** Stakes a job of `compute` and mines it (each staking spends the client's coins). */
    const staked = async (compute: TestKey, job?: Job) => {
      const j = await stakedJob(node, client, compute, job, OUTPUT);
      await mine(node, miner, 1);
      return j;
    };
    const jobs = {
      x: await staked(x),
      y: await staked(y),
      z: await staked(z, notDueFor),
      u: await staked(u),
      t: await staked(t),
    };
    const records = {
      x: recordBy(v1, jobs.x.jobId, s, 3),
      y: recordBy(w, jobs.y.jobId, s, 3),
      z: recordBy(v2, jobs.z.jobId, s, 3),
      u: recordBy(v1, jobs.u.jobId, s, 0),
      t: recordBy(v1, jobs.t.jobId, s, 3),
    };
    assert.equal(recordIneligibility(records.x, weights, addr(x)), null);
    assert.equal(recordIneligibility(records.u, weights, addr(u)), null);
    assert.equal(recordIneligibility(records.t, weights, addr(t)), null, "eligible but for age");
    assert.equal(recordIneligibility(records.y, weights, addr(y)), "record/no-weight");
    assert.equal(recordIneligibility(records.z, weights, addr(z)), "record/not-due");
    await mine(node, miner, W);

    // All five are paid with a pool in one block. y's pool distributed to a weightless key, z's to
    // a key whose draw is not eligible, u's to v1 beside w's 3 of 24: refused by consensus (only a
    // distribution creates records, and it checks eligibility). u's to v1 alone (exceeded 0) is
    // mined.
    const flagEpoch = epochOf(node.tip().height + 1);
    const pools = {
      x: await payWithPool(node, client, jobs.x),
      y: await payWithPool(node, client, jobs.y),
      z: await payWithPool(node, client, jobs.z),
      u: await payWithPool(node, client, jobs.u),
    };
    await mine(node, miner, 1);
    const byKey = (r: ValidationRecord[]) =>
      r.sort((p, q) => toHex(p.validatorKey) < toHex(q.validatorKey) ? -1 : 1);
    const ineligible = [
      distribution(client, pools.y, [records.y]),
      distribution(client, pools.z, [records.z]),
      distribution(client, pools.u, byKey([records.u, recordBy(w, jobs.u.jobId, s, 3)])),
    ];
    for (const tx of ineligible) {
      await expectCode(node.processTx(encodeTransaction(tx)), "job/validator-ineligible");
    }
    await node.processTx(encodeTransaction(distribution(client, pools.u, [records.u])));
    await mine(node, miner, 1);
    assert.equal(epochOf(node.tip().height), flagEpoch);
    for (const k of [y, z]) {
      const r = await get(k);
      assert.equal(r.lastFlag, null, "the same counts from an ineligible record never reach it");
      assert.equal(r.chainEvidence.currentEpoch, null, "nothing counted");
      assert.equal(r.jobs.currentEpoch, 1, "still a paid job");
    }
    const honestU = await get(u);
    assert.equal(honestU.lastFlag, null);
    assert.deepEqual({ ...honestU.chainEvidence.currentEpoch, llr: 0 }, {
      epoch: flagEpoch,
      jobs: 1,
      positions: POSITIONS,
      exceeded: 0,
      llr: 0,
      flagged: false,
    });
    assert.ok(honestU.chainEvidence.currentEpoch.llr < 0);
    assert.deepEqual(honestU.chainEvidence.test, MARGIN_TEST);
    let r = await get(x);
    assert.equal(r.reputation, 1, "x is not flagged yet");
    assert.ok(r.validationProbability < 1, `${r.validationProbability}`);
    assert.equal(r.lastFlag, null);

    // x's pool is distributed to v1's record, 3 of 24 positions exceeding: flagged at once.
    const flagDistribution = distribution(client, pools.x, [records.x]);
    await node.processTx(encodeTransaction(flagDistribution));
    const flagTx = txid(flagDistribution);
    await mine(node, miner, 1);
    const flagHeight = node.tip().height;
    assert.equal(epochOf(flagHeight), flagEpoch);
    r = await get(x);
    assert.equal(r.reputation, 0, "reset at once, in the open epoch");
    assert.equal(r.validationProbability, 1);
    assert.equal(r.known, true);
    assert.equal(r.lastFraud, null, "a flag is not proven fraud");
    assert.deepEqual(r.lastFlag, {
      height: flagHeight,
      txid: flagTx,
      epoch: flagEpoch,
      jobs: 1,
      positions: POSITIONS,
      exceeded: 3,
    });
    const { p0, p1, alpha } = MARGIN_TEST;
    const llr = 3 * Math.log(p1 / p0) + (POSITIONS - 3) * Math.log((1 - p1) / (1 - p0));
    assert.ok(llr >= Math.log(1 / alpha));
    assert.ok(Math.abs(r.chainEvidence.currentEpoch.llr - llr) < 1e-9);
    assert.equal(r.chainEvidence.currentEpoch.flagged, true);
    const seen = await fetchReputation(
      new NodeClient(`http://127.0.0.1:${server.addr.port}`),
      addr(x),
    );
    assert.ok(!("unavailable" in seen));
    assert.deepEqual(seen.lastFlag, r.lastFlag);
    assert.match(
      describeReputation(seen),
      new RegExp(
        `reputation 0/${dev.maturityEpochs}, validation probability 100\\.0%; FLAGGED by validators' on-chain margin evidence in epoch ${flagEpoch} \\(3 of 24 positions exceed over 1 job\\(s\\), payment ${flagTx}\\)$`,
      ),
    );
    const atFlag = await Promise.all([x, y, z, u, t].map(get));

    // The flagged epoch closes: x's activity in it does not count; the others grow.
    await closeEpoch(node, miner, flagEpoch);
    r = await get(x);
    assert.equal(r.reputation, 0);
    assert.equal(r.chainEvidence.currentEpoch, null);
    assert.equal(r.chainEvidence.lastEpoch.flagged, true);
    assert.equal(r.lastFlag.txid, flagTx);
    for (const k of [y, z, u]) assert.equal((await get(k)).reputation, 1, addr(k));

    // t is paid with a pool once s is more than two closed sprints old: its distribution to v1's
    // record of sprint s is refused by consensus.
    await mine(node, miner, (s + 3) * I + node.params.sprint.window - node.tip().height);
    const poolT = await payWithPool(node, client, jobs.t);
    await mine(node, miner, 1);
    await expectCode(
      node.processTx(encodeTransaction(distribution(client, poolT, [records.t]))),
      "job/validator-ineligible",
    );
    const stale = await get(t);
    assert.equal(stale.lastFlag, null, "a stale sprint's record never reaches the chain");
    assert.equal(stale.chainEvidence.currentEpoch, null);
    assert.equal(stale.jobs.currentEpoch, 1);

    // A second node, asked first at the flag's tip, then at the end, derives the same.
    const hashes = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => node.hashAtHeight(from + i)!);
    await relayBlocks(node, b.node, hashes(1, flagHeight));
    const getB = async (k: TestKey) =>
      await (await appB.request(`/v1/reputation/${addr(k)}`)).json();
    assert.deepEqual(await Promise.all([x, y, z, u, t].map(getB)), atFlag);
    await relayBlocks(node, b.node, hashes(flagHeight + 1, node.tip().height));
    for (const k of [x, y, z, u, t, v1, v2, w]) {
      assert.deepEqual(await getB(k), await get(k), addr(k));
    }
  } finally {
    await server.shutdown();
    for (const n of [a, b]) {
      n.close();
      await Deno.remove(n.dir, { recursive: true });
    }
  }
});

Deno.test("a validation pool's distribution counts its eligible records: 3 of 24 positions exceeding flag the executor, the distribution named", async () => {
  const b = await heldBench(chainWeightsOracle);
  const app = createApp({ chain: b.node });
  try {
    const { node, client, compute } = b;
    const miner = newKey();
    const I = node.params.sprint.interval;
    const get = async (k: TestKey) => await (await app.request(`/v1/reputation/${addr(k)}`)).json();
    const job = await stakedFixtureJob(b, false);
    const v1 = newKey();
    const sprint = await proveWeights(node, miner, [[v1, 1600]]);
    const { paid: [paid] } = await payWithPoolInEpochStart(b, [job]);
    const epoch = Math.floor(node.tip().height / I);
    let r = await get(compute);
    assert.equal(r.jobs.currentEpoch, 1, "the payment is a paid job");
    assert.equal(r.chainEvidence.currentEpoch, null, "a pool carries no record");

    const record = signedRecord(v1, job, sprint, { positions: POSITIONS, exceeded: 3 });
    const distribution = sent(distributeTx({
      pool: paid.pool,
      records: [record],
      secretKey: client.secret,
      fee: 2_000n,
    }));
    await node.processTx(distribution.bytes);
    await mine(node, miner, 1);
    const height = node.tip().height;
    assert.equal(Math.floor(height / I), epoch);
    r = await get(compute);
    assert.deepEqual(r.lastFlag, {
      height,
      txid: distribution.id,
      epoch,
      jobs: 1,
      positions: POSITIONS,
      exceeded: 3,
    });
    assert.equal(r.lastFraud, null, "a flag is not proven fraud");
    assert.equal(r.reputation, 0);
    assert.equal(r.validationProbability, 1);
    assert.equal(r.jobs.currentEpoch, 1, "a distribution is no second paid job");
    assert.deepEqual(
      { ...r.chainEvidence.currentEpoch, llr: 0 },
      { epoch, jobs: 1, positions: POSITIONS, exceeded: 3, llr: 0, flagged: true },
    );
  } finally {
    await b.close();
  }
});
