import assert from "node:assert/strict";
import { COIN, networkParams } from "./params.ts";
import { ChainNode } from "./node.ts";
import { CamelidError } from "./errors.ts";
import { coinValue, utxoKey } from "./store.ts";
import { UTXO_REPAIR_HINT } from "./utxo_check.ts";
import { coinbaseOf, mine, openFundedDevNode, spend } from "../tests/chain_helpers.ts";

/** A dev chain with a payment in its tip block; returns the data dir and the payment's spent coin. */
async function chainOnDisk() {
  const { node, dir, close, owner: alice, coin } = await openFundedDevNode();
  const pay = spend(alice, [coin], [{ value: 49n * COIN, script: alice.script }]);
  await node.processTx(pay.bytes);
  const [tip] = await mine(node, alice, 1);
  const tipCoinbase = await coinbaseOf(node, tip);
  const thirdCoinbase = await coinbaseOf(node, node.hashAtHeight(3)!);
  const secondCoinbase = await coinbaseOf(node, node.hashAtHeight(2)!);
  close();
  return { dir, alice, coin, pay, tipCoinbase, thirdCoinbase, secondCoinbase };
}

async function reopen(dir: string, corrupt: (kv: Deno.Kv) => Promise<unknown>): Promise<unknown> {
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  try {
    await corrupt(kv);
    await ChainNode.open({ params: networkParams("dev"), kv });
    return null;
  } catch (e) {
    return e;
  } finally {
    kv.close();
  }
}

function assertMismatch(e: unknown, what: RegExp): void {
  assert.ok(e instanceof CamelidError, `expected a refusal, got ${e}`);
  assert.equal(e.code, "store/utxo-mismatch");
  assert.match(e.message, what);
  assert.ok(e.message.includes(UTXO_REPAIR_HINT), "the refusal says how to repair");
}

Deno.test("a node refuses to start on a UTXO set that does not match its active chain, and says how to repair", async () => {
  const { dir, alice, coin, tipCoinbase, thirdCoinbase, secondCoinbase } = await chainOnDisk();
  try {
    assert.equal(await reopen(dir, () => Promise.resolve()), null, "an intact store opens");
    const phantom = (value: bigint, height: number) => (kv: Deno.Kv) =>
      kv.set(
        utxoKey("ee".repeat(32), 0),
        coinValue({ value, scriptPubKey: alice.script, height, coinbase: true }),
      );
    // Another process's fork left its coinbases: more coins than the chain paid out...
    assertMismatch(await reopen(dir, phantom(50n * COIN * 10n, 3)), /more than/);
    // ... or as many, but coinbases of blocks that are not on the active chain.
    const third = utxoKey(thirdCoinbase, 0);
    const moveThird = async (kv: Deno.Kv) => {
      await kv.set(utxoKey("ee".repeat(32), 0), (await kv.get(third)).value);
      await kv.delete(third);
    };
    assertMismatch(await reopen(dir, moveThird), /not the coinbase of active block 3/);
    await reopen(dir, async (kv) => {
      await kv.set(third, (await kv.get(utxoKey("ee".repeat(32), 0))).value);
    });
    await reopen(dir, (kv) => kv.delete(utxoKey("ee".repeat(32), 0)));
    assert.equal(
      await reopen(dir, () => Promise.resolve()),
      null,
      "repaired by hand, it opens again",
    );
    // The tip's coinbase output is missing.
    const cb = utxoKey(tipCoinbase, 0);
    let saved: unknown;
    assertMismatch(
      await reopen(dir, async (kv) => {
        saved = (await kv.get(cb)).value;
        await kv.delete(cb);
      }),
      /missing or altered/,
    );
    await reopen(dir, (kv) => kv.set(cb, saved));
    // A coin the tip block spent is unspent again (the total kept: another coin is gone).
    assertMismatch(
      await reopen(dir, async (kv) => {
        const spent = { value: coin.value, scriptPubKey: alice.script, height: 1, coinbase: true };
        await kv.set(utxoKey(coin.txid, coin.vout), coinValue(spent));
        await kv.delete(utxoKey(secondCoinbase, 0));
      }),
      /spent in block \d+ is still unspent/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
