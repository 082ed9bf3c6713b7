/**
 * @module Tests of sprint proofs on chain: the 0x06 template's strict decode and builder, the
 * consensus check in the mempool and in blocks (real dev node, real KV), and the store's proof
 * records through connect and a reorg.
 */

import assert from "node:assert/strict";
import { DecodeError } from "./errors.ts";
import { COIN } from "./params.ts";
import {
  MAX_SPRINT_PROOF_NONCES,
  parseOutputScript,
  sprintProofScript,
  TEMPLATE_SPRINT_PROOF,
} from "./script.ts";
import { sprintProofOutput, sprintProofTx } from "./sprint_tx.ts";
import { publicKeyOf } from "./keys.ts";
import { blockSubsidy } from "./validation.ts";
import {
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

const KEY = publicKeyOf(newKey().secret);

Deno.test("sprint proof script: round trip and strict decode", () => {
  const s = sprintProofScript(7, KEY, [1, 5, 0xffffffff]);
  assert.equal(s[0], TEMPLATE_SPRINT_PROOF);
  assert.equal(s.length, 38 + 12);
  const p = parseOutputScript(s);
  assert.equal(p.type, "sprint-proof");
  if (p.type !== "sprint-proof") return;
  assert.equal(p.sprint, 7);
  assert.deepEqual(p.nodeKey, KEY);
  assert.deepEqual([...p.nonces], [1, 5, 0xffffffff]);
  const bad = (script: Uint8Array, code: string) =>
    assert.throws(
      () => parseOutputScript(script),
      (e) => e instanceof DecodeError && e.code === code,
    );
  bad(s.subarray(0, 38), "script/length"); // no nonce
  bad(s.subarray(0, 49), "script/length"); // a partial nonce
  const swapped = s.slice();
  swapped.set(s.subarray(42, 46), 38);
  swapped.set(s.subarray(38, 42), 42);
  bad(swapped, "script/sprint-nonces");
  const dup = s.slice();
  dup.set(s.subarray(38, 42), 42);
  bad(dup, "script/sprint-nonces");
  const many = Array.from({ length: MAX_SPRINT_PROOF_NONCES + 1 }, (_, i) => i);
  assert.throws(() => sprintProofScript(1, KEY, many), DecodeError);
  assert.throws(() => sprintProofScript(1, KEY.subarray(1), [1]), RangeError);
});

Deno.test("sprint proof transactions: authorised by the node key, value 0, one per tx, network cap", async () => {
  const { node, close, owner, coin } = await openFundedDevNode();
  try {
    const ownerKey = publicKeyOf(owner.secret);
    const change = (fee: bigint) => ({ value: coin.value - fee, script: owner.script });
    const proof = (key: Uint8Array, nonces: number[], value = 0n) => ({
      value,
      script: sprintProofOutput(1, key, nonces).scriptPubKey,
    });
    // Funded by the owner but naming another node's key.
    const stranger = spend(owner, [coin], [proof(KEY, [3]), change(1000n)]);
    await assertRejectsWithCode(node.processTx(stranger.bytes), "sprint/not-authorised");
    const valued = spend(owner, [coin], [proof(ownerKey, [3], 1n), change(1001n)]);
    await assertRejectsWithCode(node.processTx(valued.bytes), "sprint/proof-value");
    const two = spend(owner, [coin], [proof(ownerKey, [3]), proof(ownerKey, [4]), change(1000n)]);
    await assertRejectsWithCode(node.processTx(two.bytes), "sprint/several-proofs");
    const over = Array.from({ length: node.params.sprint.maxNonces + 1 }, (_, i) => i);
    const big = spend(owner, [coin], [proof(ownerKey, over), change(100_000n)]);
    await assertRejectsWithCode(node.processTx(big.bytes), "sprint/bad-nonces");
    // A block carrying the unauthorised proof is invalid too.
    const tip = node.tip().hash;
    await assertRejectsWithCode(
      node.processBlock(makeBlock(node, owner, (b) => b.txs.push(stranger.tx))),
      "sprint/not-authorised",
    );
    assert.equal(node.tip().hash, tip);
    // The builder's transaction is accepted, mined and recorded.
    const utxos = [{ ...coin, scriptPubKey: owner.script }];
    const ok = sprintProofTx(1, [3, 9], { utxos, secretKey: owner.secret, fee: 1000n });
    await node.processTx(ok.bytes);
    const [h] = await mine(node, owner, 1);
    const recs = await node.store.sprintProofs(1);
    assert.equal(recs.length, 1);
    assert.equal(recs[0].block, h);
    assert.equal(recs[0].height, node.tip().height);
    assert.equal(recs[0].position, 1);
    assert.equal(recs[0].vout, 0);
    assert.deepEqual(recs[0].script, ok.tx.outputs[0].scriptPubKey);
    assert.deepEqual(await node.store.sprintProofs(2), []);
    // The proof output is no coin: only the change is spendable.
    const coins = await node.getAddressCoins(
      (await import("./script.ts")).scriptAddress(owner.script)!,
    );
    assert.ok(coins.every((c) => c.coin.scriptPubKey[0] !== TEMPLATE_SPRINT_PROOF));
  } finally {
    close();
  }
});

Deno.test("a reorg removes the disconnected block's proof records", async () => {
  await withTwoDevNodes(async (a, b) => {
    const alice = newKey();
    const shared = await mine(a.node, alice, 6);
    await relayBlocks(a.node, b.node, shared);
    const cb = await coinbaseOf(a.node, shared[0]);
    const value = blockSubsidy(1, a.node.params);
    const tx = sprintProofTx(1, [1, 2], {
      utxos: [{ txid: cb, vout: 0, value, scriptPubKey: alice.script }],
      secretKey: alice.secret,
      fee: COIN / 1000n,
    });
    await a.node.processTx(tx.bytes);
    await mine(a.node, alice, 1);
    assert.equal((await a.node.store.sprintProofs(1)).length, 1);
    const branch = await mine(b.node, newKey(), 2);
    await relayBlocks(b.node, a.node, branch);
    assert.equal(a.node.tip().hash, branch[1]);
    assert.deepEqual(await a.node.store.sprintProofs(1), []);
    assert.ok(a.node.mempool.has((await import("./tx.ts")).txid(tx.tx)));
  });
});
