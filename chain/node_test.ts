import assert from "node:assert/strict";
import { ValidationError } from "./errors.ts";
import { COIN, networkParams } from "./params.ts";
import { decodeBlock, encodeBlock } from "./block.ts";
import {
  assertConserved,
  coinbaseOf,
  makeBlock,
  mine,
  newKey,
  openDevNode,
  solve,
  spend,
} from "../tests/chain_helpers.ts";
import { createBlockTemplate } from "./miner.ts";
import { ChainNode } from "./node.ts";
import { fromHex } from "./bytes.ts";

const SUBSIDY = 50n * COIN;

async function assertRejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${e}`);
    assert.equal(e.code, code);
    return true;
  });
}

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
    await assertRejects(node.processTx(pay.bytes), "tx/premature-coinbase-spend");
    await mine(node, alice, node.params.coinbaseMaturity - 1);
    assert.deepEqual(await node.processTx(pay.bytes), { txid: pay.id });
    await assertRejects(node.processTx(pay.bytes), "tx/duplicate");
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

Deno.test("mempool rejects double spends, bad signatures, overspends and low fees with named reasons", async () => {
  const { node, close } = await openDevNode();
  try {
    const alice = newKey();
    const mallory = newKey();
    const [first] = await mine(node, alice, 1);
    await mine(node, alice, node.params.coinbaseMaturity);
    const cb = await coinbaseOf(node, first);
    const coin = [{ txid: cb, vout: 0, value: SUBSIDY }];
    const a = spend(alice, coin, [{ value: 49n * COIN, script: alice.script }]);
    const b = spend(alice, coin, [{ value: 48n * COIN, script: mallory.script }]);
    await node.processTx(a.bytes);
    await assertRejects(node.processTx(b.bytes), "mempool/conflict");
    const stolen = spend(mallory, coin, [{ value: 49n * COIN, script: mallory.script }]);
    await assertRejects(node.processTx(stolen.bytes), "mempool/conflict");
    node.mempool.remove(a.id);
    await assertRejects(node.processTx(stolen.bytes), "tx/wrong-key");
    const tampered = spend(alice, coin, [{ value: 49n * COIN, script: alice.script }]);
    tampered.tx.outputs[0].value = 49n * COIN + 1n;
    const { encodeTransaction } = await import("./tx.ts");
    await assertRejects(node.processTx(encodeTransaction(tampered.tx)), "tx/bad-signature");
    await assertRejects(
      node.processTx(spend(alice, coin, [{ value: 51n * COIN, script: alice.script }]).bytes),
      "tx/in-below-out",
    );
    await assertRejects(
      node.processTx(spend(alice, coin, [{ value: SUBSIDY, script: alice.script }]).bytes),
      "tx/fee-too-low",
    );
    await assertRejects(
      node.processTx(
        spend(alice, [{ txid: "ab".repeat(32), vout: 0, value: SUBSIDY }], [{
          value: COIN,
          script: alice.script,
        }]).bytes,
      ),
      "tx/missing-inputs",
    );
    await assertRejects(
      node.processTx(
        spend(alice, [...coin, ...coin], [{ value: COIN, script: alice.script }]).bytes,
      ),
      "tx/duplicate-inputs",
    );
    await assertRejects(
      node.processTx(
        spend(alice, coin, [{ value: 21_000_001n * COIN, script: alice.script }]).bytes,
      ),
      "tx/output-too-large",
    );
    await assertRejects(
      node.processTx(
        spend(alice, coin, [{ value: 20_000_000n * COIN, script: alice.script }, {
          value: 20_000_000n * COIN,
          script: alice.script,
        }]).bytes,
      ),
      "tx/value-overflow",
    );
    await assertRejects(
      node.processTx(
        spend(alice, coin, [{ value: COIN, script: new Uint8Array([9, 1, 2]) }]).bytes,
      ),
      "tx/bad-output-script",
    );
    assert.equal(node.mempool.size, 0, "nothing entered the mempool");
  } finally {
    close();
  }
});

Deno.test("blocks breaking consensus rules are rejected with named reasons and change nothing", async () => {
  const { node, close } = await openDevNode();
  try {
    const miner = newKey();
    await mine(node, miner, 3);
    const before = node.tip();
    const cases: [string, (b: ReturnType<typeof decodeBlock>) => void][] = [
      ["block/bad-cb-amount", (b) => b.txs[0].outputs[0].value += 1n],
      ["block/time-too-new", (b) => b.header.time = Math.floor(Date.now() / 1000) + 3 * 3600],
      [
        "block/time-too-old",
        (b) => b.header.time = node.medianTimePast(node.entry(node.tip().hash)!),
      ],
      ["block/bad-diffbits", (b) => b.header.bits = 0x207ffffe],
      ["block/multiple-coinbase", (b) => {
        const second = structuredClone(b.txs[0]);
        second.inputs[0].scriptSig = new Uint8Array([1, 2, 3, 4, 5]);
        b.txs.push(second);
      }],
      ["block/first-not-coinbase", (b) => b.txs[0].inputs[0].prevout.vout = 0],
      ["block/bad-cb-height", (b) => b.txs[0].inputs[0].scriptSig[0] ^= 1],
    ];
    for (const [code, edit] of cases) {
      const block = createBlockTemplate(node, miner.script, 7);
      edit(block);
      const bytes = solve(block);
      await assert.rejects(node.processBlock(bytes), (e: unknown) => {
        if (!(e instanceof ValidationError)) throw new Error(`case ${code}: ${e}`);
        assert.equal(
          (e as ValidationError).code,
          code,
          `case ${code}: got ${(e as Error).message}`,
        );
        return true;
      });
    }
    // Bad Merkle root: solve, then change the root (PoW recomputed so only the root is wrong).
    const bad = createBlockTemplate(node, miner.script, 8);
    solve(bad);
    bad.header.merkleRoot = new Uint8Array(32).fill(1);
    const { searchNoncesTs } = await import("./miner.ts");
    const { encodeHeader } = await import("./block.ts");
    const { bitsToTarget, targetToBytes } = await import("./pow.ts");
    bad.header.nonce = searchNoncesTs(
      encodeHeader(bad.header),
      targetToBytes(bitsToTarget(bad.header.bits)),
      0,
      1 << 20,
    )!;
    await assert.rejects(node.processBlock(encodeBlock(bad)), { code: "block/bad-merkle-root" });
    // Bad proof of work: a nonce that misses the target.
    const weak = decodeBlock(makeBlock(node, miner));
    const { headerHashBytes } = await import("./block.ts");
    for (let n = 0;; n++) {
      weak.header.nonce = n;
      if (headerHashBytes(weak.header)[0] >= 0x80) break;
    }
    await assert.rejects(node.processBlock(encodeBlock(weak)), { code: "block/high-hash" });
    assert.deepEqual(node.tip(), before, "tip unchanged");
  } finally {
    close();
  }
});

Deno.test("a block duplicating its last transaction pair (CVE-2012-2459) is rejected as mutated", async () => {
  const { node, close } = await openDevNode();
  try {
    const alice = newKey();
    const [first] = await mine(node, alice, 1);
    await mine(node, alice, node.params.coinbaseMaturity);
    const cb = await coinbaseOf(node, first);
    const pay = spend(alice, [{ txid: cb, vout: 0, value: SUBSIDY }], [{
      value: 49n * COIN,
      script: alice.script,
    }]);
    await node.processTx(pay.bytes);
    const block = createBlockTemplate(node, alice.script);
    // 3 txs -> the last is paired with itself; appending a copy keeps the root identical.
    const pay2 = spend(alice, [{ txid: pay.id, vout: 0, value: 49n * COIN }], [{
      value: 48n * COIN,
      script: alice.script,
    }]);
    block.txs.push(pay2.tx);
    const good = solve(block);
    const mutated = decodeBlock(good);
    mutated.txs.push(mutated.txs[2]);
    await assert.rejects(node.processBlock(encodeBlock(mutated)), { code: "block/mutated" });
    assert.equal(
      (await node.processBlock(good)).status,
      "connected",
      "the honest block still connects",
    );
  } finally {
    close();
  }
});

Deno.test("the most-work branch wins a reorg and the losing branch's transactions return to the mempool", async () => {
  const a = await openDevNode();
  const b = await openDevNode();
  try {
    const alice = newKey();
    const bob = newKey();
    const shared = await mine(a.node, alice, 7);
    for (const h of shared) await b.node.processBlock((await a.node.getBlockBytes(h))!);
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
    for (const h of branchB) await a.node.processBlock((await b.node.getBlockBytes(h))!);
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
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("orphan blocks are held until their parent arrives, then connected", async () => {
  const a = await openDevNode();
  const b = await openDevNode();
  try {
    const k = newKey();
    const hashes = await mine(a.node, k, 4);
    const blocks = await Promise.all(hashes.map((h) => a.node.getBlockBytes(h)));
    for (const bytes of blocks.slice(1).reverse()) {
      assert.equal((await b.node.processBlock(bytes!)).status, "orphan");
    }
    assert.equal((await b.node.processBlock(blocks[0]!)).status, "connected");
    assert.equal(b.node.tip().hash, hashes[3]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a block whose outputs need several KV commits connects and survives a reopen", async () => {
  const { node, kv, dir, close } = await openDevNode();
  const alice = newKey();
  const [first] = await mine(node, alice, 1);
  await mine(node, alice, node.params.coinbaseMaturity);
  const cb = await coinbaseOf(node, first);
  const outs = Array.from({ length: 600 }, () => ({ value: 8_000_000n, script: alice.script }));
  const fan = spend(alice, [{ txid: cb, vout: 0, value: SUBSIDY }], outs);
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
  void fromHex;
});

Deno.test("the mempool is saved when a node stops and restored when it starts again", async () => {
  const { node, dir, close } = await openDevNode();
  const alice = newKey();
  const [first] = await mine(node, alice, 1);
  await mine(node, alice, node.params.coinbaseMaturity);
  const pay = spend(alice, [{ txid: await coinbaseOf(node, first), vout: 0, value: SUBSIDY }], [{
    value: 49n * COIN,
    script: alice.script,
  }]);
  await node.processTx(pay.bytes);
  await node.saveMempool();
  close();
  const again = await openDevNode(dir);
  try {
    assert.ok(again.node.mempool.has(pay.id), "the unconfirmed payment survived the restart");
    const left = [];
    for await (const e of again.kv.list({ prefix: ["mempool"] })) left.push(e.key);
    assert.deepEqual(left, [], "the saved copy is consumed");
  } finally {
    again.close();
  }
});
