import assert from "node:assert/strict";
import { sha256 } from "./hash.ts";
import { toHex } from "./bytes.ts";
import { publicKeyOf, signPreimage } from "./keys.ts";
import { SignatureCache, signatureCache, verifySignatureCached } from "./sig_cache.ts";
import {
  prevalidateBlockSignatures,
  prevalidateTxSignatures,
  transactionChecks,
  warmSignatureCache,
} from "./sig_batch.ts";
import { VerifyPool } from "./verify_pool.ts";
import { COIN } from "./params.ts";
import { coinbaseOf, makeBlock, mine, newKey, openDevNode, spend } from "../tests/chain_helpers.ts";
import { signatureHashPreimage, txid } from "./tx.ts";

const secret = sha256(new TextEncoder().encode("cache key"));
const publicKey = publicKeyOf(secret);
const preimage = sha256(new TextEncoder().encode("cache message"));
const signature = signPreimage(preimage, secret);

Deno.test("only valid signatures are cached, and a hit needs the exact bytes", () => {
  const cache = new SignatureCache(10);
  const wrong = sha256(preimage);
  assert.equal(verifySignatureCached(signature, wrong, publicKey, cache), false);
  assert.equal(cache.size, 0);
  assert.equal(verifySignatureCached(signature, preimage, publicKey, cache), true);
  assert.equal(cache.size, 1);
  assert.ok(cache.has(signature, preimage, publicKey));
  assert.ok(!cache.has(signature, wrong, publicKey));
  assert.ok(!cache.has(signature, preimage, publicKeyOf(sha256(secret))));
  // The same bytes split differently between signature and preimage are another entry.
  const shifted = Uint8Array.of(...signature.subarray(1), preimage[0]);
  assert.ok(!cache.has(Uint8Array.of(...signature, preimage[0]), preimage.subarray(1), publicKey));
  assert.ok(!cache.has(shifted, preimage, publicKey));
  assert.equal(verifySignatureCached(signature, preimage, publicKey, cache), true);
  assert.deepEqual(cache.stats, { hits: 2, misses: 6 });
});

Deno.test("a preimage longer than one key chunk is keyed by all its bytes", () => {
  const cache = new SignatureCache(10);
  const long = new Uint8Array(20_000).map((_, i) => i * 7);
  const sig = signPreimage(long, secret);
  assert.equal(verifySignatureCached(sig, long, publicKey, cache), true);
  assert.ok(cache.has(sig, long, publicKey));
  for (const at of [0, 8191, 8192, 16384, 19_999]) {
    const other = long.slice();
    other[at] ^= 1;
    assert.ok(!cache.has(sig, other, publicKey), `byte ${at} changed`);
    assert.equal(verifySignatureCached(sig, other, publicKey, cache), false, `byte ${at} changed`);
  }
  assert.equal(cache.size, 1);
});

Deno.test("a full cache evicts its oldest entry", () => {
  const cache = new SignatureCache(2);
  const entries = [1, 2, 3].map((i) => {
    const p = sha256(Uint8Array.of(i));
    return { p, s: signPreimage(p, secret) };
  });
  for (const e of entries) cache.add(e.s, e.p, publicKey);
  assert.equal(cache.size, 2);
  assert.ok(!cache.has(entries[0].s, entries[0].p, publicKey));
  assert.ok(cache.has(entries[2].s, entries[2].p, publicKey));
  assert.throws(() => new SignatureCache(0), RangeError);
});

Deno.test("a block's pay-to-address signatures warm the cache through the pool; bad ones stay out", async () => {
  const alice = newKey();
  const funding = Array.from({ length: 40 }, (_, i) => ({
    txid: toHex(sha256(Uint8Array.of(i))),
    vout: i,
    value: 2n * COIN,
  }));
  const txs = funding.map((f) => spend(alice, [f], [{ value: COIN, script: alice.script }]).tx);
  // A transaction spending an output created earlier in the list.
  const first = spend(alice, [funding[0]], [{ value: COIN, script: alice.script }]);
  txs[0] = first.tx;
  txs.push(
    spend(alice, [{ txid: first.id, vout: 0, value: COIN }], [{
      value: COIN / 2n,
      script: alice.script,
    }]).tx,
  );
  txs[5].inputs[0].scriptSig[3] ^= 1; // a broken signature
  const reads: number[] = [];
  const checks = await transactionChecks(txs, (outpoints) => {
    reads.push(outpoints.length);
    return Promise.resolve(outpoints.map((o) => {
      const f = funding.find((f) => f.txid === o.txid && f.vout === o.vout);
      return f && { value: f.value, scriptPubKey: alice.script };
    }));
  });
  assert.deepEqual(reads, [40], "one read for the outputs not created in the list");
  assert.equal(checks.length, 41);
  const fakeRead = (o: unknown[]) => (reads.push(o.length), Promise.resolve([]));
  assert.deepEqual(await transactionChecks(txs, fakeRead, () => true), []);
  assert.deepEqual(reads, [40], "nothing read when every transaction is skipped");
  const skipped = new Set(txs.slice(0, 30).map((tx) => txid(tx)));
  const rest = await transactionChecks(txs, (o) => {
    reads.push(o.length);
    return Promise.resolve(o.map(() => ({ value: 2n * COIN, scriptPubKey: alice.script })));
  }, (id) => skipped.has(id));
  assert.deepEqual(reads, [40, 10], "only the spent outputs of the transactions not skipped");
  assert.deepEqual(rest.map((c) => c.signature), checks.slice(30).map((c) => c.signature));
  assert.deepEqual(
    checks[40].preimage,
    signatureHashPreimage(txs[40], 0, { value: COIN, scriptPubKey: alice.script }),
  );
  const cache = new SignatureCache();
  const pool = new VerifyPool({ size: 2 });
  try {
    assert.equal(await warmSignatureCache(checks, pool, cache), 41);
    assert.equal(cache.size, 40);
    assert.ok(!cache.has(checks[5].signature, checks[5].preimage, checks[5].publicKey));
    assert.equal(await warmSignatureCache(checks, pool, cache), 1, "only the uncached one again");
  } finally {
    await pool.close();
  }
});

Deno.test("outside the lock: a transaction's and a block's signatures are verified ahead and cached", async () => {
  const setup = await openDevNode();
  try {
    const { node } = setup;
    const owner = newKey();
    const [first] = await mine(node, owner, 1);
    await mine(node, owner, node.params.coinbaseMaturity);
    const read = (o: { txid: string; vout: number }[]) => node.store.getCoins(o);
    const pay = spend(
      owner,
      [{ txid: await coinbaseOf(node, first), vout: 0, value: 50n * COIN }],
      [
        { value: 49n * COIN, script: owner.script },
      ],
    );
    const sig = pay.tx.inputs[0].scriptSig;
    const preimage = signatureHashPreimage(pay.tx, 0, {
      value: 50n * COIN,
      scriptPubKey: owner.script,
    });
    signatureCache.clear();
    await prevalidateTxSignatures(new Uint8Array([1, 2, 3]), read); // malformed: left to validation
    await prevalidateTxSignatures(pay.bytes, read);
    assert.ok(signatureCache.has(sig.subarray(0, 64), preimage, sig.subarray(64)));
    await node.processTx(pay.bytes);
    const block = makeBlock(node, owner);
    signatureCache.clear();
    const small = new VerifyPool({ size: 1 });
    await prevalidateBlockSignatures(block, read, { pool: small });
    assert.ok(
      !signatureCache.has(sig.subarray(0, 64), preimage, sig.subarray(64)),
      "too few workers",
    );
    await prevalidateBlockSignatures(block, read, { pool: small, minWorkers: 1, skip: () => true });
    assert.ok(!signatureCache.has(sig.subarray(0, 64), preimage, sig.subarray(64)), "skipped");
    await prevalidateBlockSignatures(block.subarray(0, 50), read, { pool: small, minWorkers: 1 });
    await prevalidateBlockSignatures(block, read, { pool: small, minWorkers: 1 });
    await small.close();
    assert.ok(signatureCache.has(sig.subarray(0, 64), preimage, sig.subarray(64)));
    assert.equal((await node.processBlock(block)).status, "connected");
  } finally {
    setup.close();
  }
});
