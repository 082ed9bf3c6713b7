/**
 * @module Chain benchmarks: codecs, block connection and the TS miner, each beside its raw baseline
 * (signature checks: tests/bench/signature_bench.ts).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import crypto from "node:crypto";
import { decodeTransaction, encodeTransaction, signatureHashPreimage } from "../../chain/tx.ts";
import { SPKI_PREFIX } from "../../chain/secp/backends.ts";
import { signatureCache } from "../../chain/sig_cache.ts";
import { prevalidateBlockSignatures, prevalidateTxSignatures } from "../../chain/sig_batch.ts";
import { VerifyPool } from "../../chain/verify_pool.ts";
import { COIN } from "../../chain/params.ts";
import { searchNoncesTs } from "../../chain/miner.ts";
import { coinbaseOf, makeBlock, mine, newKey, openDevNode, spend } from "../chain_helpers.ts";
import { decodeBlock } from "../../chain/block.ts";

const alice = newKey();
const sample = spend(alice, [{ txid: "ab".repeat(32), vout: 0, value: 50n * COIN }, {
  txid: "cd".repeat(32),
  vout: 1,
  value: COIN,
}], [
  { value: 10n * COIN, script: alice.script },
  { value: 40n * COIN, script: alice.script },
]);
const sampleBytes = sample.bytes;

Deno.bench({
  name: "tx decode (2 in, 2 out)",
  group: "tx codec",
  baseline: true,
  fn: () => void decodeTransaction(sampleBytes),
});
Deno.bench({
  name: "tx encode (2 in, 2 out)",
  group: "tx codec",
  fn: () => void encodeTransaction(sample.tx),
});
Deno.bench({
  name: "raw copy of the same bytes (baseline floor)",
  group: "tx codec",
  fn: () => void sampleBytes.slice(),
});

const header = new Uint8Array(80);
const hardTarget = new Uint8Array(32);
Deno.bench({
  name: "TS miner: 10k nonces (searchNoncesTs)",
  group: "mining",
  fn: () => void searchNoncesTs(header, hardTarget, 0, 10_000),
});
Deno.bench({
  name: "raw noble sha256(sha256(header)) x 10k",
  group: "mining",
  baseline: true,
  fn: () => {
    const h = header.slice();
    const v = new DataView(h.buffer);
    for (let i = 0; i < 10_000; i++) {
      v.setUint32(76, i, true);
      sha256(sha256(h));
    }
  },
});

// A full-ish block: 400 one-input payments, connected on a fresh store each iteration.
const TXS = 400;
const setup = await openDevNode();
const owner = newKey();
const [first] = await mine(setup.node, owner, 1);
await mine(setup.node, owner, setup.node.params.coinbaseMaturity);
const fan = spend(owner, [{
  txid: await coinbaseOf(setup.node, first),
  vout: 0,
  value: 50n * COIN,
}], Array.from({ length: TXS }, () => ({ value: 10_000_000n, script: owner.script })));
await setup.node.processTx(fan.bytes);
await mine(setup.node, owner, 1);
for (let i = 0; i < TXS; i++) {
  await setup.node.processTx(
    spend(owner, [{ txid: fan.id, vout: i, value: 10_000_000n }], [{
      value: 9_990_000n,
      script: owner.script,
    }]).bytes,
  );
}
const fullBlock = makeBlock(setup.node, owner);
const prefix: Uint8Array[] = [];
for (let h = 1; h <= setup.node.tip().height; h++) {
  prefix.push((await setup.node.getBlockBytes(setup.node.hashAtHeight(h)!))!);
}
const inputs = decodeBlock(fullBlock).txs.slice(1).map((tx) => ({
  tx,
  preimage: signatureHashPreimage(tx, 0, { value: 10_000_000n, scriptPubKey: owner.script }),
}));
setup.close();

/** A dev node on a fresh KV with the chain up to the full block's parent, and no signature seen. */
async function freshNodeAtPrefix(): Promise<Awaited<ReturnType<typeof openDevNode>>> {
  const fresh = await openDevNode();
  for (const p of prefix) await fresh.node.processBlock(p);
  signatureCache.clear();
  return fresh;
}

const pool = new VerifyPool();
const CACHE_MODES = {
  cold: "cold signature cache (none seen)",
  warm: "warm signature cache (all seen in the mempool)",
  pool: `cold cache, signatures checked ahead on a verify pool of ${pool.size}`,
} as const;
for (const [mode, label] of Object.entries(CACHE_MODES)) {
  Deno.bench({
    name: `connect a ${TXS}-tx block (${
      (fullBlock.length / 1000).toFixed(0)
    } kB), fresh KV, ${label}`,
    group: "block connect",
    n: 5,
    warmup: 1,
    async fn(b) {
      const fresh = await freshNodeAtPrefix();
      if (mode === "warm") {
        for (const tx of decodeBlock(fullBlock).txs.slice(1)) {
          await fresh.node.processTx(encodeTransaction(tx));
        }
      }
      b.start();
      if (mode === "pool") {
        await prevalidateBlockSignatures(fullBlock, (o) => fresh.node.store.getCoins(o), {
          pool,
          minWorkers: 1,
        });
      }
      await fresh.node.processBlock(fullBlock);
      b.end();
      fresh.close();
    },
  });
}
Deno.bench({
  name: `raw: ${TXS} bare node:crypto signature verifications of the same inputs`,
  group: "block connect",
  baseline: true,
  n: 5,
  warmup: 1,
  fn() {
    for (const { tx, preimage } of inputs) {
      const s = tx.inputs[0].scriptSig;
      const spki = new Uint8Array(SPKI_PREFIX.length + 33);
      spki.set(SPKI_PREFIX);
      spki.set(s.subarray(64), SPKI_PREFIX.length);
      const key = crypto.createPublicKey({ key: spki as never, format: "der", type: "spki" });
      const ok = crypto.verify(
        "sha256",
        preimage,
        { key, dsaEncoding: "ieee-p1363" },
        s.subarray(0, 64),
      );
      if (!ok) throw new Error("bad signature");
    }
  },
});

// Mempool admission of the same 400 transactions from 8 concurrent submitters, with and without
// their signatures checked ahead (outside the node's lock, single checks batched).
const spends = decodeBlock(fullBlock).txs.slice(1).map((tx) => encodeTransaction(tx));
for (const ahead of [false, true]) {
  Deno.bench({
    name: `admit ${TXS} txs from 8 concurrent submitters${
      ahead ? ", prevalidateTxSignatures first" : ""
    }`,
    group: "mempool admission",
    baseline: !ahead,
    n: 5,
    warmup: 1,
    async fn(b) {
      const fresh = await freshNodeAtPrefix();
      const read = (o: { txid: string; vout: number }[]) => fresh.node.store.getCoins(o);
      let next = 0;
      b.start();
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < spends.length) {
          const bytes = spends[next++];
          if (ahead) await prevalidateTxSignatures(bytes, read);
          await fresh.node.processTx(bytes);
        }
      }));
      b.end();
      fresh.close();
    },
  });
}
