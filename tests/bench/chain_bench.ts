/**
 * @module Chain benchmarks: codecs, block connection and the TS miner, each beside its raw baseline
 * (signature checks: tests/bench/signature_bench.ts).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import crypto from "node:crypto";
import {
  decodeTransaction,
  encodeTransaction,
  signatureHashPreimage,
  type Transaction,
} from "../../chain/tx.ts";
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

/** A block of one-input payments, the chain before it, and each payment's signature check. */
interface ConnectFixture {
  /** The block's bytes. */
  block: Uint8Array;
  /** Its payments (the coinbase left out). */
  txs: Transaction[];
  /** Blocks 1.. of the chain the block extends. */
  prefix: Uint8Array[];
  /** Each payment's signature, key and sighash preimage (for the bare native baseline). */
  checks: { signature: Uint8Array; publicKey: Uint8Array; preimage: Uint8Array }[];
}

/**
 * Builds, on a dev chain, a block of `fans * 400` one-input payments (each fan transaction splits a
 * coinbase into 400 coins of 0.1 coin), or as many as fit in a block.
 */
async function connectFixture(fans: number): Promise<ConnectFixture> {
  const setup = await openDevNode();
  const owner = newKey();
  const coinbases = await mine(setup.node, owner, fans);
  await mine(setup.node, owner, setup.node.params.coinbaseMaturity);
  const coin = { value: 10_000_000n, scriptPubKey: owner.script };
  const splits = [];
  for (const hash of coinbases) {
    const split = spend(owner, [{
      txid: await coinbaseOf(setup.node, hash),
      vout: 0,
      value: 50n * COIN,
    }], Array.from({ length: 400 }, () => ({ value: coin.value, script: owner.script })));
    await setup.node.processTx(split.bytes);
    splits.push(split);
  }
  await mine(setup.node, owner, 1);
  for (const split of splits) {
    for (let i = 0; i < 400; i++) {
      await setup.node.processTx(
        spend(owner, [{ txid: split.id, vout: i, value: coin.value }], [{
          value: 9_990_000n,
          script: owner.script,
        }]).bytes,
      );
    }
  }
  const block = makeBlock(setup.node, owner);
  const prefix: Uint8Array[] = [];
  for (let h = 1; h <= setup.node.tip().height; h++) {
    prefix.push((await setup.node.getBlockBytes(setup.node.hashAtHeight(h)!))!);
  }
  setup.close();
  const txs = decodeBlock(block).txs.slice(1);
  const checks = txs.map((tx) => ({
    signature: tx.inputs[0].scriptSig.subarray(0, 64),
    publicKey: tx.inputs[0].scriptSig.subarray(64),
    preimage: signatureHashPreimage(tx, 0, coin),
  }));
  return { block, txs, prefix, checks };
}

/** A dev node on a fresh KV with the chain up to the fixture block's parent, and no signature seen. */
async function freshNodeAtPrefix(
  fixture: ConnectFixture,
): Promise<Awaited<ReturnType<typeof openDevNode>>> {
  const fresh = await openDevNode();
  for (const p of fixture.prefix) await fresh.node.processBlock(p);
  signatureCache.clear();
  return fresh;
}

/** Bare `node:crypto` verification of each check (SPKI import and verify per call), no cache. */
function bareNativeVerifies(checks: ConnectFixture["checks"]): void {
  for (const { signature, publicKey, preimage } of checks) {
    const spki = new Uint8Array(SPKI_PREFIX.length + 33);
    spki.set(SPKI_PREFIX);
    spki.set(publicKey, SPKI_PREFIX.length);
    const key = crypto.createPublicKey({ key: spki as never, format: "der", type: "spki" });
    const ok = crypto.verify("sha256", preimage, { key, dsaEncoding: "ieee-p1363" }, signature);
    if (!ok) throw new Error("bad signature");
  }
}

// A full-ish block: 400 one-input payments, connected on a fresh store each iteration.
const TXS = 400;
const full = await connectFixture(1);
const fullBlock = full.block;

const pool = new VerifyPool();
const CACHE_MODES = {
  cold: "cold signature cache (none seen)",
  warm: "warm signature cache (all seen in the mempool)",
  pool: `cold cache, signatures checked ahead on a verify pool of ${pool.size}`,
} as const;
for (const [mode, label] of Object.entries(CACHE_MODES)) {
  Deno.bench({
    name: `block connect: a ${TXS}-tx block (${
      (fullBlock.length / 1000).toFixed(0)
    } kB), fresh KV, ${label}`,
    group: "block connect",
    n: 5,
    warmup: 1,
    async fn(b) {
      const fresh = await freshNodeAtPrefix(full);
      if (mode === "warm") {
        for (const tx of full.txs) await fresh.node.processTx(encodeTransaction(tx));
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
  name: `block connect: raw ${TXS} bare node:crypto signature verifications of the same inputs`,
  group: "block connect",
  baseline: true,
  n: 5,
  warmup: 1,
  fn: () => bareNativeVerifies(full.checks),
});

// A 1 MB block: as many one-input payments as fit (12 fans of 400 coins offered, about 4,750 fit).
const mb = await connectFixture(12);
const MB_TXS = mb.txs.length;
for (const warm of [false, true]) {
  Deno.bench({
    name: `block connect: a 1 MB block (${MB_TXS} one-input txs, ${
      (mb.block.length / 1000).toFixed(0)
    } kB), fresh KV, ${warm ? CACHE_MODES.warm : CACHE_MODES.cold}`,
    group: "block connect 1 MB",
    n: 3,
    warmup: 1,
    async fn(b) {
      const fresh = await freshNodeAtPrefix(mb);
      if (warm) { for (const tx of mb.txs) await fresh.node.processTx(encodeTransaction(tx)); }
      b.start();
      const result = await fresh.node.processBlock(mb.block);
      b.end();
      fresh.close();
      if (result.status !== "connected") throw new Error(`1 MB block ${result.status}`);
    },
  });
}
Deno.bench({
  name: `block connect: raw ${MB_TXS} bare node:crypto verifications of the 1 MB block's inputs`,
  group: "block connect 1 MB",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: () => bareNativeVerifies(mb.checks),
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
      const fresh = await freshNodeAtPrefix(full);
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
