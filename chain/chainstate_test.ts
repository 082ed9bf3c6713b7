import assert from "node:assert/strict";
import { COIN, networkParams } from "./params.ts";
import { ChainNode } from "./node.ts";
import { blockSubsidy } from "./validation.ts";
import {
  assertConserved,
  assertRejectsWithCode,
  coinbaseOf,
  makeBlock,
  mine,
  newKey,
  openFundedDevNode,
  relayBlocks,
  spend,
  withTwoDevNodes,
} from "../tests/chain_helpers.ts";

const SUBSIDY = 50n * COIN;

Deno.test("the most-work branch wins a reorg and the losing branch's transactions return to the mempool", async () => {
  await withTwoDevNodes(async (a, b) => {
    const alice = newKey();
    const bob = newKey();
    const shared = await mine(a.node, alice, 7);
    await relayBlocks(a.node, b.node, shared);
    const cb = await coinbaseOf(a.node, shared[0]);
    const pay = spend(alice, [{ txid: cb, vout: 0, value: SUBSIDY }], [{
      value: 20n * COIN,
      script: bob.script,
    }, {
      value: 29n * COIN,
      script: alice.script,
    }]);
    await a.node.processTx(pay.bytes);
    const branchA = await mine(a.node, alice, 1);
    assert.equal(a.node.mempool.size, 0);
    const branchB = await mine(b.node, bob, 2);
    await relayBlocks(b.node, a.node, branchB);
    assert.equal(a.node.tip().hash, branchB[1], "node A switched to the longer branch");
    assert.equal(a.node.isActive(branchA[0]), false);
    assert.ok(a.node.mempool.has(pay.id), "the payment is back in the mempool");
    assert.equal(await a.node.getTransaction(pay.id).then((l) => l?.blockHash), null);
    const bobCoins = await a.node.getAddressCoins(
      (await import("./script.ts")).scriptAddress(bob.script)!,
    );
    assert.equal(bobCoins.length, 2, "bob holds the two coinbases of branch B");
    await assertConserved(a.node);
    // Mining on A now confirms the returned payment on the winning branch.
    await mine(a.node, alice, 1);
    assert.equal(a.node.mempool.size, 0);
    assert.ok((await a.node.getTransaction(pay.id))?.blockHash);
    await assertConserved(a.node);
  });
});

Deno.test("a block whose outputs need several KV commits connects and survives a reopen", async () => {
  const { node, kv, dir, close, owner: alice, coin } = await openFundedDevNode();
  const outs = Array.from({ length: 600 }, () => ({ value: 8_000_000n, script: alice.script }));
  const fan = spend(alice, [coin], outs);
  await node.processTx(fan.bytes);
  await mine(node, alice, 1);
  const totals = await node.utxoTotals();
  assert.equal(totals.count, 1 + 600 + node.params.coinbaseMaturity);
  await assertConserved(node);
  close();
  const kv2 = await Deno.openKv(`${dir}/chain.kv`);
  const again = await ChainNode.open({ params: networkParams("dev"), kv: kv2 });
  assert.equal(again.tip().hash, node.tip().hash);
  assert.equal((await again.utxoTotals()).digest, totals.digest);
  kv2.close();
  void kv;
});

Deno.test("a connect cut off between its commits is finished on reopen, ending where a replay ends", async () => {
  const source = await openFundedDevNode();
  const alice = source.owner;
  const outs = Array.from({ length: 600 }, () => ({ value: 8_000_000n, script: alice.script }));
  await source.node.processTx(spend(alice, [source.coin], outs).bytes);
  const [big] = await mine(source.node, alice, 1);
  const want = await source.node.utxoTotals();
  const blocks: Uint8Array[] = [];
  for (let h = 1; h <= source.node.tip().height; h++) {
    blocks.push((await source.node.getBlockBytes(source.node.hashAtHeight(h)!))!);
  }
  source.close();

  const dir = await Deno.makeTempDir({ prefix: "camelid-chain-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const steps: string[] = [];
  const crashing = await ChainNode.open({
    params: networkParams("dev"),
    kv,
    onCommitStep: (step) => {
      steps.push(step);
      if (step === "connect:batch") throw new Error("power cut");
    },
  });
  for (const b of blocks.slice(0, -1)) await crashing.processBlock(b);
  await assert.rejects(crashing.processBlock(blocks.at(-1)!), /power cut/);
  assert.deepEqual(steps, ["connect:marked", "connect:batch"], "cut after the first batch");
  kv.close();

  const kv2 = await Deno.openKv(`${dir}/chain.kv`);
  try {
    const recovered = await ChainNode.open({ params: networkParams("dev"), kv: kv2 });
    assert.equal(recovered.tip().hash, big);
    assert.deepEqual(await recovered.utxoTotals(), want);
  } finally {
    kv2.close();
  }
});

Deno.test("a block's coins are read in one batch: spends of outputs made earlier in the block resolve in memory, later ones and double spends are refused, the undo data lists each spent coin", async () => {
  const { node, close, owner, coin } = await openFundedDevNode();
  try {
    const cents = (n: number) => BigInt(n) * 1_000_000n;
    const fan = spend(owner, [coin], [
      ...[100, 200, 300, 400].map((n) => ({ value: cents(n), script: owner.script })),
      { value: coin.value - cents(1_100), script: owner.script },
    ]);
    await node.processTx(fan.bytes);
    await mine(node, owner, 1);
    const f = (vout: number) => ({ txid: fan.id, vout, value: cents(100 * (vout + 1)) });
    const pay = (value: number) => [{ value: cents(value), script: owner.script }];
    const t1 = spend(owner, [f(2), f(0)], pay(390)); // two stored coins, out of order
    const t2 = spend(owner, [{ txid: t1.id, vout: 0, value: cents(390) }, f(3)], pay(780));
    const t3 = spend(owner, [f(1)], pay(190));
    const t3again = spend(owner, [f(1)], pay(180));
    const t2again = spend(owner, [{ txid: t1.id, vout: 0, value: cents(390) }], pay(380));
    const blockOf = (...txs: typeof t1[]) =>
      makeBlock(node, owner, (b) => b.txs.push(...txs.map((t) => t.tx)));

    const before = await node.utxoTotals();
    const tip = node.tip().hash;
    for (const refused of [blockOf(t2, t1), blockOf(t1, t3, t3again), blockOf(t1, t2, t2again)]) {
      await assertRejectsWithCode(node.processBlock(refused), "tx/missing-inputs");
      assert.equal(node.tip().hash, tip);
      assert.deepEqual(
        await node.utxoTotals(),
        before,
        "a refused block leaves the coins as they were",
      );
    }

    const good = await node.processBlock(blockOf(t1, t2, t3));
    assert.equal(good.status, "connected");
    const height = node.tip().height;
    const undo = await node.store.readUndo(good.hash);
    assert.deepEqual(undo.map((c) => c.value), [300, 100, 390, 400, 200].map(cents));
    assert.ok(
      undo.every((c) => !c.coinbase && c.scriptPubKey.every((b, i) => b === owner.script[i])),
    );
    assert.deepEqual(undo.map((c) => c.height), [
      height - 1,
      height - 1,
      height,
      height - 1,
      height - 1,
    ]);
    const coins = await node.store.getCoins([
      ...[0, 1, 2, 3, 4].map((vout) => ({ txid: fan.id, vout })),
      { txid: t1.id, vout: 0 },
      { txid: t2.id, vout: 0 },
      { txid: t3.id, vout: 0 },
    ]);
    assert.deepEqual(
      coins.map((c) => c?.value),
      [
        undefined,
        undefined,
        undefined,
        undefined,
        coin.value - cents(1_100),
        undefined,
        cents(780),
        cents(190),
      ],
    );
    assert.ok(coins.slice(6).every((c) => c?.height === height));
    const burned = cents(30); // the three spends' fees, which this block's coinbase leaves unclaimed
    assert.equal(
      (await node.utxoTotals()).total,
      before.total + blockSubsidy(height, node.params) - burned,
    );
  } finally {
    close();
  }
});
