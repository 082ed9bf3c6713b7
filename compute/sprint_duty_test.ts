/**
 * @module Tests of the compute node's sprint duty on a real dev chain (Deno KV, WASM kernel threads):
 * it proves a sprint by itself, its proof is mined and served by `GET /v1/weights`; a throttled
 * node tries proportionally fewer nonces; `compute --help` lists the options.
 */

import assert from "node:assert/strict";
import { toHex } from "../chain/bytes.ts";
import { publicKeyOf } from "../chain/keys.ts";
import type { ChainNode } from "../chain/node.ts";
import { createApp } from "../relay/app.ts";
import { mine, newKey, openFundedDevNode, spend } from "../tests/chain_helpers.ts";
import { runCli } from "../tests/process_helpers.ts";
import { inProcessSpendLock } from "./jobs/wallet_coins.ts";
import { provingBlocks, SprintDuty, type SprintReport } from "./sprint_duty.ts";

/** The duty's next sprint report. */
function nextReport(duty: SprintDuty): Promise<SprintReport> {
  return new Promise((resolve) =>
    duty.events.addEventListener(
      "sprint",
      (e) => resolve((e as CustomEvent<SprintReport>).detail),
      { once: true },
    )
  );
}

/** Waits (polling) until `ok()`; fails after `ms`. */
async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The weights route's answer for `sprint` on `chain`. */
async function weights(chain: ChainNode, sprint: number) {
  const res = await createApp({ chain }).request(`/v1/weights?sprint=${sprint}`);
  assert.equal(res.status, 200);
  return await res.json() as {
    closed: boolean;
    weights: { nodeKey: string; weight: number; accepted: boolean; proof: { txid: string } }[];
  };
}

Deno.test("a compute node proves a sprint by itself; its proof is mined and weighs in /v1/weights", async () => {
  const { node, close, owner } = await openFundedDevNode();
  const duty = new SprintDuty({
    chain: node,
    secretKey: owner.secret,
    spendLock: inProcessSpendLock(),
  });
  try {
    const p = node.params.sprint;
    duty.start();
    const reported = nextReport(duty);
    await mine(node, owner, p.interval - node.tip().height); // the sprint's start block
    // (maxNonces found first, it publishes at once)
    await until("proof nonces", () => (duty.proving()?.found ?? 0) >= 8 || !!duty.reports.length);
    await mine(node, owner, provingBlocks(p)); // the last proving block: the duty publishes
    const report = await reported;
    assert.equal(report.sprint, 1);
    assert.equal(report.skipped, null);
    assert.ok(report.found >= 8 && report.tried >= report.found, JSON.stringify(report));
    assert.ok(node.mempool.get(report.txid!), "the proof waits in the mempool");
    await mine(node, owner, p.window - provingBlocks(p)); // the window's last block
    const height = (await node.getTransaction(report.txid!))?.height ?? 0;
    assert.ok(height > p.interval && height <= p.interval + p.window, `mined at ${height}`);
    const w = await weights(node, 1);
    assert.equal(w.closed, true);
    assert.equal(w.weights.length, 1);
    assert.equal(w.weights[0].nodeKey, toHex(publicKeyOf(owner.secret)));
    assert.equal(w.weights[0].proof.txid, report.txid);
    assert.equal(w.weights[0].accepted, true);
    assert.equal(w.weights[0].weight, report.found, "every proof nonce checks out");
    // The next sprint is proved again, once.
    await mine(node, owner, 2 * p.interval - node.tip().height);
    const second = nextReport(duty);
    await until("sprint 2", () => duty.proving()?.sprint === 2 || duty.reports.length === 2);
    await mine(node, owner, provingBlocks(p));
    assert.equal((await second).sprint, 2);
  } finally {
    await duty.stop();
    close();
  }
});

Deno.test("a throttled compute node tries nonces at its rate; one with four times the rate tries more", async () => {
  const { node, close, owner, coin } = await openFundedDevNode();
  const other = newKey();
  const pay = spend(owner, [coin], [{ value: coin.value - 100_000n, script: other.script }]);
  await node.processTx(pay.bytes);
  await mine(node, owner, 1);
  const slowRate = 100;
  const lock = inProcessSpendLock(); // as in one node: two keys, one wallet lock is fine
  const slow = new SprintDuty({
    chain: node,
    secretKey: other.secret,
    spendLock: lock,
    rate: slowRate,
  });
  const fast = new SprintDuty({
    chain: node,
    secretKey: owner.secret,
    spendLock: lock,
    rate: 4 * slowRate,
    threads: 2,
  });
  try {
    const p = node.params.sprint;
    slow.start();
    fast.start();
    const reports = Promise.all([nextReport(slow), nextReport(fast)]);
    await mine(node, owner, p.interval - node.tip().height);
    // Both threads pools started (a loaded machine starts workers slowly) and ran a while.
    await until(
      "nonces of both",
      () =>
        (slow.proving()?.tried ?? 0) >= slowRate / 2 && (slow.proving()?.found ?? 0) >= 1 &&
        (fast.proving()?.tried ?? 0) >= 2 * slowRate && (fast.proving()?.found ?? 0) >= 1,
    );
    await mine(node, owner, provingBlocks(p));
    const [s, f] = await reports;
    for (const [r, rate] of [[s, slowRate], [f, 4 * slowRate]] as const) {
      assert.equal(r.skipped, null, JSON.stringify(r));
      // Nonce i of a thread starts at least i / rate seconds after its first (the throttle).
      assert.ok(r.tried <= Math.ceil(rate * r.provingMs / 1000) + 2, JSON.stringify(r));
    }
    // The fast node tried more than the slow node's rate would have let it in the same time.
    assert.ok(
      f.tried > Math.ceil(slowRate * f.provingMs / 1000) + 2,
      `fast ${JSON.stringify(f)} against slow ${JSON.stringify(s)}`,
    );
    await mine(node, owner, p.window - provingBlocks(p));
    const w = await weights(node, 1);
    const byKey = new Map(w.weights.map((x) => [x.nodeKey, x.weight]));
    assert.equal(byKey.get(toHex(publicKeyOf(other.secret))), s.found);
    assert.equal(byKey.get(toHex(publicKeyOf(owner.secret))), f.found);
  } finally {
    await Promise.all([slow.stop(), fast.stop()]);
    close();
  }
});

Deno.test("proving pauses while a job runs and resumes after it", async () => {
  const { node, close, owner } = await openFundedDevNode();
  let busy = false;
  const duty = new SprintDuty({
    chain: node,
    secretKey: owner.secret,
    spendLock: inProcessSpendLock(),
    rate: 200, // so that maxNonces is not found before the pause
    busy: () => busy,
  });
  try {
    const p = node.params.sprint;
    duty.start();
    const reported = nextReport(duty);
    await mine(node, owner, p.interval - node.tip().height);
    const tried = () => duty.proving()?.tried ?? -1;
    await until("nonces", () => tried() >= 20);
    busy = true;
    // Paused: the count stops (within the 100 ms poll and a nonce), and stays stopped.
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let still = false, end = Date.now() + 60_000; !still;) {
      const before = tried();
      await sleep(250);
      still = tried() === before;
      if (Date.now() > end) throw new Error("proving did not pause");
    }
    const paused = tried();
    await sleep(500);
    assert.equal(tried(), paused, "no nonce while the job runs");
    busy = false;
    await until("proving again", () => tried() > paused && (duty.proving()?.found ?? 0) >= 1);
    await mine(node, owner, provingBlocks(p));
    const report = await reported;
    assert.ok(report.pausedMs >= 500, JSON.stringify(report));
    assert.equal(report.skipped, null);
  } finally {
    await duty.stop();
    close();
  }
});

Deno.test("compute --help lists the sprint options", async () => {
  const r = await runCli(["compute", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /--sprint-threads <n>/);
  assert.match(r.stdout, /--sprint-rate <nonces\/s>/);
  assert.match(r.stdout, /--no-sprint/);
});
