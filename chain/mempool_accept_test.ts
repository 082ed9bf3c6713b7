import assert from "node:assert/strict";
import { BlockIndex } from "./block_index.ts";
import { ChainState } from "./chainstate.ts";
import { CoinWriteCounter } from "./coin_writes.ts";
import { Mempool } from "./mempool.ts";
import { prepareAdmission } from "./mempool_accept.ts";
import { COIN } from "./params.ts";
import { signatureCache } from "./sig_cache.ts";
import { signatureHashPreimage } from "./tx.ts";
import {
  assertConserved,
  assertRejectsWithCode,
  makeBlock,
  mine,
  newKey,
  openFundedDevNode,
  spend,
  type TestKey,
} from "../tests/chain_helpers.ts";

const SUBSIDY = 50n * COIN;

Deno.test("mempool rejects double spends, bad signatures, overspends and low fees with named reasons", async () => {
  const { node, close, owner: alice, coin: funded } = await openFundedDevNode();
  try {
    const mallory = newKey();
    const coin = [funded];
    const a = spend(alice, coin, [{ value: 49n * COIN, script: alice.script }]);
    const b = spend(alice, coin, [{ value: 48n * COIN, script: mallory.script }]);
    await node.processTx(a.bytes);
    await assertRejectsWithCode(node.processTx(b.bytes), "mempool/conflict");
    const stolen = spend(mallory, coin, [{ value: 49n * COIN, script: mallory.script }]);
    await assertRejectsWithCode(node.processTx(stolen.bytes), "mempool/conflict");
    node.mempool.remove(a.id);
    await assertRejectsWithCode(node.processTx(stolen.bytes), "tx/wrong-key");
    const tampered = spend(alice, coin, [{ value: 49n * COIN, script: alice.script }]);
    tampered.tx.outputs[0].value = 49n * COIN + 1n;
    const { encodeTransaction } = await import("./tx.ts");
    await assertRejectsWithCode(node.processTx(encodeTransaction(tampered.tx)), "tx/bad-signature");
    await assertRejectsWithCode(
      node.processTx(spend(alice, coin, [{ value: 51n * COIN, script: alice.script }]).bytes),
      "tx/in-below-out",
    );
    await assertRejectsWithCode(
      node.processTx(spend(alice, coin, [{ value: SUBSIDY, script: alice.script }]).bytes),
      "tx/fee-too-low",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, [{ ...funded, vout: 7 }], [{ value: COIN, script: alice.script }]).bytes,
      ),
      "tx/missing-inputs",
    );
    const unknownParent = spend(alice, [{ txid: "ab".repeat(32), vout: 0, value: SUBSIDY }], [{
      value: COIN,
      script: alice.script,
    }]);
    await assertRejectsWithCode(node.processTx(unknownParent.bytes), "tx/missing-inputs");
    assert.deepEqual(await node.processTx(unknownParent.bytes, "http:192.0.2.1"), {
      txid: unknownParent.id,
      status: "orphan",
      missingParents: ["ab".repeat(32)],
    });
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, [...coin, ...coin], [{ value: COIN, script: alice.script }]).bytes,
      ),
      "tx/duplicate-inputs",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, coin, [{ value: 21_000_001n * COIN, script: alice.script }]).bytes,
      ),
      "tx/output-too-large",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, coin, [{ value: 20_000_000n * COIN, script: alice.script }, {
          value: 20_000_000n * COIN,
          script: alice.script,
        }]).bytes,
      ),
      "tx/value-overflow",
    );
    await assertRejectsWithCode(
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

/** Fans the funded coin out to `n` confirmed coins of `owner` (one block). */
async function confirmedCoins(
  dev: Awaited<ReturnType<typeof openFundedDevNode>>,
  n: number,
): Promise<{ txid: string; vout: number; value: bigint }[]> {
  const value = 10n * COIN / BigInt(n);
  const fan = spend(
    dev.owner,
    [dev.coin],
    Array.from({ length: n }, () => ({
      value,
      script: dev.owner.script,
    })),
  );
  await dev.node.processTx(fan.bytes);
  await mine(dev.node, dev.owner, 1);
  return Array.from({ length: n }, (_, vout) => ({ txid: fan.id, vout, value }));
}

/** A one-input payment of `coin` to `to`, less `fee`. */
function payment(
  from: TestKey,
  coin: { txid: string; vout: number; value: bigint },
  to: TestKey,
  fee: bigint,
) {
  return spend(from, [coin], [{ value: coin.value - fee, script: to.script }]);
}

Deno.test("of conflicting spends submitted at once, exactly one per coin is admitted; the rest are mempool/conflict", async () => {
  const dev = await openFundedDevNode();
  try {
    const coins = await confirmedCoins(dev, 24);
    const bob = newKey();
    const carol = newKey();
    const pairs = coins.map((
      c,
    ) => [payment(dev.owner, c, bob, 10_000n), payment(dev.owner, c, carol, 20_000n)]);
    // Every submission starts (and reads its coin ahead of the lock) before any is admitted.
    const results = await Promise.allSettled(pairs.flat().map((p) => dev.node.processTx(p.bytes)));
    for (const [i, pair] of pairs.entries()) {
      const [a, b] = [results[2 * i], results[2 * i + 1]];
      assert.equal(
        [a, b].filter((r) => r.status === "fulfilled").length,
        1,
        `pair ${i}: one admitted`,
      );
      const refused = (a.status === "rejected" ? a : b) as PromiseRejectedResult;
      assert.equal(refused.reason.code, "mempool/conflict");
      assert.equal(
        pair.filter((p) => dev.node.mempool.has(p.id)).length,
        1,
        `pair ${i}: one pooled`,
      );
    }
    assert.equal(dev.node.mempool.size, coins.length);
    const [hash] = await mine(dev.node, dev.owner, 1);
    assert.equal(dev.node.mempool.size, 0, "the block took every admitted spend");
    assert.equal(dev.node.tip().hash, hash);
    await assertConserved(dev.node);
    await assertRejectsWithCode(dev.node.processTx(pairs[0][0].bytes), "tx/duplicate");
  } finally {
    dev.close();
  }
});

Deno.test("a coin read ahead of the lock and spent by a block connected before admission is read again (tx/missing-inputs)", async () => {
  const dev = await openFundedDevNode();
  try {
    const [coin] = await confirmedCoins(dev, 2);
    const bob = newKey();
    const mined = payment(dev.owner, coin, bob, 10_000n);
    const late = payment(dev.owner, coin, newKey(), 20_000n);
    await dev.node.processTx(mined.bytes);
    const block = makeBlock(dev.node, dev.owner);
    dev.node.mempool.remove(mined.id); // the block spends the coin; the pool no longer does
    let release!: () => void;
    const held = dev.node.readConsistent(() => new Promise<void>((r) => release = r));
    const connected = dev.node.processBlock(block);
    const admitted = dev.node.processTx(late.bytes);
    // Its coin was read (and its signature checked over it) while the lock was held.
    const preimage = signatureHashPreimage(late.tx, 0, {
      value: coin.value,
      scriptPubKey: dev.owner.script,
    });
    const sig = late.tx.inputs[0].scriptSig;
    while (!signatureCache.has(sig.subarray(0, 64), preimage, sig.subarray(64))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    release();
    await held;
    assert.equal((await connected).status, "connected");
    await assertRejectsWithCode(admitted, "tx/missing-inputs");
    assert.equal(dev.node.mempool.has(late.id), false);
    await assertConserved(dev.node);
  } finally {
    dev.close();
  }
});

/** A chain state over `dev`'s store, with an index loaded from it and a pool of its own. */
async function stateOver(dev: Awaited<ReturnType<typeof openFundedDevNode>>): Promise<ChainState> {
  const index = new BlockIndex();
  for (const e of await dev.node.store.loadIndex()) index.add(e);
  index.activate(index.get((await dev.node.store.getTip())!)!);
  return new ChainState({
    params: dev.node.params,
    store: dev.node.store,
    index,
    mempool: new Mempool(),
    events: new EventTarget(),
    minRelayFeeRate: dev.node.minRelayFeeRate,
  });
}

Deno.test("acceptTx takes the prepared record it is handed, and only for the store it was made for", async () => {
  const a = await openFundedDevNode();
  const b = await openFundedDevNode();
  try {
    const pay = payment(a.owner, a.coin, newKey(), 10_000n);
    const stateA = await stateOver(a);
    const stateB = await stateOver(b);
    const prepared = await prepareAdmission(
      stateA.store,
      stateA.mempool,
      pay.bytes,
      new CoinWriteCounter(),
    );
    assert.ok(prepared, "prepared");
    // Store B lacks the coin: handed A's record, B reads its own store and refuses.
    await assertRejectsWithCode(stateB.acceptTx(pay.bytes, prepared), "tx/missing-inputs");
    assert.equal(stateB.mempool.has(pay.id), false);
    // Into A, the record is used: the pool keeps its decoded transaction and its copy of the bytes.
    const entry = await stateA.acceptTx(pay.bytes, prepared);
    assert.equal(entry.tx, prepared.tx);
    assert.equal(entry.bytes, prepared.bytes);
    assert.deepEqual(entry.bytes, pay.bytes);
    // Already in the pool: no record, and admission refuses the duplicate.
    assert.equal(
      await prepareAdmission(stateA.store, stateA.mempool, pay.bytes, new CoinWriteCounter()),
      undefined,
    );
    await assertRejectsWithCode(stateA.acceptTx(pay.bytes), "tx/duplicate");
  } finally {
    a.close();
    b.close();
  }
});
