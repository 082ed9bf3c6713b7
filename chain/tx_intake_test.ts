import assert from "node:assert/strict";
import { COIN } from "./params.ts";
import { makeBlock, openDevNode, openFundedDevNode, spend } from "../tests/chain_helpers.ts";

Deno.test("a chain of payments posted children first is held as orphans and admitted, recursively, when its root arrives", async () => {
  const { node, close, owner: alice, coin } = await openFundedDevNode();
  try {
    const announced: string[] = [];
    node.events.addEventListener("tx", (e) => announced.push((e as CustomEvent).detail.txid));
    let prev = coin;
    const chain = [];
    for (let i = 0; i < 5; i++) {
      const t = spend(alice, [prev], [{ value: prev.value - 10_000n, script: alice.script }]);
      chain.push(t);
      prev = { txid: t.id, vout: 0, value: prev.value - 10_000n };
    }
    for (const t of chain.slice(1).reverse()) {
      const r = await node.processTx(t.bytes, "http:10.0.0.1");
      assert.equal(r.status, "orphan", "held, not refused with tx/missing-inputs");
      assert.equal(node.txWhereabouts(t.id)?.reason, "orphan");
    }
    assert.equal(node.mempool.size, 0);
    assert.deepEqual(announced, [], "orphans are not relayed");
    assert.deepEqual(await node.processTx(chain[0].bytes), {
      txid: chain[0].id,
      status: "mempool",
    });
    assert.deepEqual(chain.map((t) => node.mempool.has(t.id)), [true, true, true, true, true]);
    assert.deepEqual(
      announced,
      chain.map((t) => t.id),
      "each admitted orphan is announced, in order",
    );
    assert.equal(node.mempoolStatus().orphans.count, 0);
  } finally {
    close();
  }
});

Deno.test("an orphan whose parent arrives in a block is admitted; one conflicting with a block is dropped", async () => {
  const { node, close, owner: alice, coin } = await openFundedDevNode();
  try {
    const parent = spend(alice, [coin], [{ value: 40n * COIN, script: alice.script }, {
      value: 9n * COIN,
      script: alice.script,
    }]);
    const child = spend(alice, [{ txid: parent.id, vout: 0, value: 40n * COIN }], [{
      value: 39n * COIN,
      script: alice.script,
    }]);
    const rival = spend(alice, [{ txid: parent.id, vout: 1, value: 9n * COIN }], [{
      value: 8n * COIN,
      script: alice.script,
    }]);
    const rivalInBlock = spend(alice, [{ txid: parent.id, vout: 1, value: 9n * COIN }], [{
      value: 7n * COIN,
      script: alice.script,
    }]);
    assert.equal((await node.processTx(child.bytes, "peer:b")).status, "orphan");
    assert.equal((await node.processTx(rival.bytes, "peer:b")).status, "orphan");
    // Another node mined the parent and a different spend of its second output.
    const block = makeBlock(node, alice, (b) => {
      b.txs.push(parent.tx, rivalInBlock.tx);
    });
    assert.equal((await node.processBlock(block)).status, "connected");
    assert.ok(node.mempool.has(child.id), "the orphan entered once its parent was mined");
    assert.equal(node.txWhereabouts(rival.id), null, "the conflicting orphan is gone");
    assert.equal(node.mempoolStatus().orphans.count, 0);
  } finally {
    close();
  }
});

Deno.test("an orphan posted while the saved mempool is restored enters with its restored parent", async () => {
  const { node, dir, close, owner: alice, coin } = await openFundedDevNode();
  const parent = spend(alice, [coin], [{ value: 49n * COIN, script: alice.script }]);
  const child = spend(alice, [{ txid: parent.id, vout: 0, value: 49n * COIN }], [{
    value: 48n * COIN,
    script: alice.script,
  }]);
  await node.processTx(parent.bytes);
  await node.saveMempool();
  close();
  const again = await openDevNode(dir);
  try {
    assert.equal((await again.node.processTx(child.bytes, "http:192.0.2.7")).status, "orphan");
    await again.node.mempoolRestored;
    assert.ok(again.node.mempool.has(parent.id), "the saved parent is back");
    assert.ok(again.node.mempool.has(child.id), "and the orphan entered with it");
  } finally {
    again.close();
  }
});
