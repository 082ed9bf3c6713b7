import assert from "node:assert/strict";
import { COIN, networkParams } from "./params.ts";
import { decodeBlock } from "./block.ts";
import { MEMPOOL_PREFIX } from "./store.ts";
import {
  assertConserved,
  assertRejectsWithCode,
  coinbaseOf,
  mine,
  newKey,
  openDevNode,
  openFundedDevNode,
  spend,
  withTwoDevNodes,
} from "../tests/chain_helpers.ts";

const SUBSIDY = 50n * COIN;

Deno.test("mined coins mature, can be spent, and fees go to the next miner", async () => {
  const { node, close } = await openDevNode();
  try {
    const alice = newKey();
    const bob = newKey();
    const [first] = await mine(node, alice, 1);
    const cb = await coinbaseOf(node, first);
    const pay = spend(alice, [{ txid: cb, vout: 0, value: SUBSIDY }], [{
      value: 10n * COIN,
      script: bob.script,
    }, {
      value: 39n * COIN,
      script: alice.script,
    }]);
    await assertRejectsWithCode(node.processTx(pay.bytes), "tx/premature-coinbase-spend");
    await mine(node, alice, node.params.coinbaseMaturity - 1);
    assert.deepEqual(await node.processTx(pay.bytes), { txid: pay.id, status: "mempool" });
    await assertRejectsWithCode(node.processTx(pay.bytes), "tx/duplicate");
    const [withPay] = await mine(node, bob, 1);
    assert.equal(node.mempool.size, 0);
    const block = decodeBlock((await node.getBlockBytes(withPay))!);
    assert.equal(block.txs.length, 2);
    assert.equal(
      block.txs[0].outputs[0].value,
      SUBSIDY + COIN,
      "coinbase claims subsidy + 1 coin fee",
    );
    const loc = await node.getTransaction(pay.id);
    assert.equal(loc?.blockHash, withPay);
    await assertConserved(node);
  } finally {
    close();
  }
});

Deno.test("orphan blocks are held until their parent arrives, then connected", async () => {
  await withTwoDevNodes(async (a, b) => {
    const k = newKey();
    const hashes = await mine(a.node, k, 4);
    const blocks = await Promise.all(hashes.map((h) => a.node.getBlockBytes(h)));
    for (const bytes of blocks.slice(1).reverse()) {
      assert.equal((await b.node.processBlock(bytes!)).status, "orphan");
    }
    assert.equal((await b.node.processBlock(blocks[0]!)).status, "connected");
    assert.equal(b.node.tip().hash, hashes[3]);
  });
});

Deno.test("genesis blocks of every network carry valid proof of work", async () => {
  const { genesisBlock, headerHashBytes } = await import("./block.ts");
  const { checkProofOfWork } = await import("./pow.ts");
  for (const n of ["main", "test", "dev"]) {
    const p = networkParams(n);
    assert.ok(
      checkProofOfWork(headerHashBytes(genesisBlock(p).header), p.genesis.bits, p.powLimitBits),
      n,
    );
  }
});

Deno.test("the mempool is saved when a node stops and restored when it starts again", async () => {
  const { node, dir, close, owner: alice, coin } = await openFundedDevNode();
  const pay = spend(alice, [coin], [{
    value: 49n * COIN,
    script: alice.script,
  }]);
  await node.processTx(pay.bytes);
  await node.saveMempool();
  close();
  const again = await openDevNode(dir);
  try {
    await again.node.mempoolRestored;
    assert.ok(again.node.mempool.has(pay.id), "the unconfirmed payment survived the restart");
    const left = [];
    for await (const e of again.kv.list({ prefix: MEMPOOL_PREFIX })) left.push(e.key);
    assert.deepEqual(left, [], "the saved copy is consumed");
  } finally {
    again.close();
  }
});
