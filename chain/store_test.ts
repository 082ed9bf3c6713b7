import assert from "node:assert/strict";
import type { Block } from "./block.ts";
import { indexEntry } from "./block_index.ts";
import { fromHex, toHex } from "./bytes.ts";
import { CamelidError, DecodeError } from "./errors.ts";
import {
  jobEscrowScript,
  payToHashScript,
  scriptAddress,
  stakeNoticeScript,
  TEMPLATE_JOB_CLAIM,
} from "./script.ts";
import * as store from "./store.ts";
import { ChainStore, coinMutations, decodeUndo, encodeUndo } from "./store.ts";
import { type Transaction, txid } from "./tx.ts";
import { coinbaseTransaction } from "./miner.ts";
import { newKey, spend } from "../tests/chain_helpers.ts";
import type { Coin } from "./validation.ts";

const alice = payToHashScript(new Uint8Array(20).fill(0xa1));
const bob = payToHashScript(new Uint8Array(20).fill(0xb0));
const JOB = new Uint8Array(32).fill(7);

const signer = newKey();

/** A transaction spending `spends` into 5-unit outputs (the store checks no script). */
function tx(spends: { txid: string; vout: number }[], outputs: Uint8Array[]): Transaction {
  const prevouts = spends.map((o) => ({ ...o, value: 5n }));
  return spend(signer, prevouts, outputs.map((script) => ({ value: 5n, script }))).tx;
}

function block(txs: Transaction[]): Block {
  const header = {
    version: 1,
    prevHash: new Uint8Array(32),
    merkleRoot: new Uint8Array(32),
    time: 0,
    bits: 0x207fffff,
    nonce: 0,
  };
  return { header, txs };
}

const header = block([]).header;

Deno.test("store: undo data round-trips and rejects corrupt bytes with typed errors", () => {
  const coins: Coin[] = [
    { value: 5n, scriptPubKey: alice, height: 3, coinbase: true },
    { value: 21_000_000n * 100_000_000n, scriptPubKey: bob, height: 0, coinbase: false },
  ];
  assert.deepEqual(decodeUndo(encodeUndo(coins)), coins);
  const bad = encodeUndo(coins.slice(0, 1));
  bad[bad.length - 1] = 2;
  assert.throws(() => decodeUndo(bad), (e: unknown) => {
    assert.ok(e instanceof CamelidError);
    assert.equal(e.code, "store/corrupt");
    return true;
  });
  assert.throws(() => decodeUndo(new Uint8Array([...encodeUndo(coins), 0])), DecodeError);
});

Deno.test("store: every key prefix is distinct", () => {
  const firsts = Object.values(store).flatMap((v) =>
    typeof v === "string" ? [v] : Array.isArray(v) ? [v[0]] : []
  );
  assert.ok(firsts.length >= 12);
  assert.equal(new Set(firsts).size, firsts.length - 1, "MEMPOOL_PREFIX repeats MEMPOOL only");
});

Deno.test("store: connecting a block moves coins and indexes, idempotently; disconnecting restores the set", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const s = new ChainStore(kv);
    const b1 = block([coinbaseTransaction(1, 50n, alice, 0)]);
    const e1 = indexEntry("e1".repeat(32), header, indexEntry("e0".repeat(32), header, null, 1), 1);
    await s.apply(coinMutations(b1, [], e1));
    const before = await s.utxoTotals();
    const p = { txid: txid(b1.txs[0]), vout: 0 };
    const stake = { txid: "5a".repeat(32), vout: 1 };
    const pay = tx([p], [bob, jobEscrowScript(JOB, new Uint8Array(20), 99)]);
    const respend = tx([{ txid: txid(pay), vout: 0 }], [
      alice,
      stakeNoticeScript(TEMPLATE_JOB_CLAIM, fromHex(stake.txid, 32), stake.vout),
    ]);
    const b2 = block([coinbaseTransaction(2, 50n, bob, 0), pay, respend]);
    const e2 = indexEntry("e2".repeat(32), header, e1, 1);
    const undo: Coin[] = [
      (await s.getCoin(p.txid, p.vout))!,
      { value: 5n, scriptPubKey: bob, height: e2.height, coinbase: false },
    ];
    await s.apply(coinMutations(b2, undo, e2));
    const after = await s.utxoTotals();
    assert.deepEqual([after.count, after.total], [3, 50n + 5n + 5n], "coinbase, escrow, respend");
    const addr = (script: Uint8Array) => scriptAddress(script)!;
    assert.deepEqual((await s.addressCoins(addr(bob))).map((c) => c.txid), [txid(b2.txs[0])]);
    assert.deepEqual((await s.addressCoins(addr(alice))).map((c) => c.txid), [txid(respend)]);
    assert.deepEqual((await s.jobCoins(toHex(JOB))).map((c) => c.vout), [1]);
    assert.deepEqual(await s.notices(`${stake.txid}:${stake.vout}`), [
      { kind: "claim", txid: txid(respend), height: e2.height },
    ]);
    assert.deepEqual(await s.notice(`${stake.txid}:${stake.vout}`), {
      claimHeight: e2.height,
      answerHeight: null,
    });
    assert.deepEqual(await s.txLocation(txid(respend)), { block: e2.hash, index: 2 });

    await s.apply(coinMutations(b2, undo, e2));
    assert.deepEqual(
      await s.utxoTotals(),
      after,
      "connecting again (crash recovery) changes nothing",
    );

    await s.apply(coinMutations(b2, undo, null));
    assert.deepEqual(
      await s.utxoTotals(),
      before,
      "disconnecting restores the set before the block",
    );
    assert.deepEqual((await s.addressCoins(addr(alice))).map((c) => c.txid), [p.txid]);
    assert.deepEqual(await s.addressCoins(addr(bob)), []);
    assert.deepEqual(await s.jobCoins(toHex(JOB)), []);
    assert.deepEqual(await s.notices(`${stake.txid}:${stake.vout}`), []);
    assert.equal(await s.txLocation(txid(pay)), null);
  } finally {
    kv.close();
  }
});

Deno.test("store: the saved mempool is read oldest first and forgotten only when asked", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const s = new ChainStore(kv);
    const txs = [new Uint8Array([1]), new Uint8Array([2, 2]), new Uint8Array([3])];
    await s.saveMempool(txs);
    assert.deepEqual((await s.savedMempool()).txs, txs);
    const saved = await s.savedMempool();
    await saved.forget();
    assert.deepEqual((await s.savedMempool()).txs, []);
  } finally {
    kv.close();
  }
});
