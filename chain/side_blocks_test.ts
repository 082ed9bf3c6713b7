import assert from "node:assert/strict";
import { ChainNode } from "./node.ts";
import { networkParams } from "./params.ts";
import { fromHex, toHex } from "./bytes.ts";
import { blockHash, decodeBlock } from "./block.ts";
import type { Transaction } from "./tx.ts";
import { DEFAULT_SIDE_BLOCK_BYTES } from "./side_blocks.ts";
import { createApp } from "../relay/app.ts";
import { assertRejectsWithCode, mine, newKey, type TestKey } from "../tests/chain_helpers.ts";
import { blockOn as junkBlockOn, junkTx } from "../tests/junk_blocks.ts";

/** A solved block on `parentHash` (a block `node` knows) paying `to`, carrying `txs`. */
function blockOn(node: ChainNode, parentHash: string, to: TestKey, txs: Transaction[], n: number) {
  const parent = node.entry(parentHash)!;
  return junkBlockOn(
    node.params,
    {
      hash: fromHex(parentHash, 32),
      height: parent.height,
      bits: node.nextBits(parent),
      minTime: node.medianTimePast(parent) + 1,
    },
    to,
    txs,
    n,
  );
}

async function kvFileBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const f of Deno.readDir(dir)) n += (await Deno.stat(`${dir}/${f.name}`)).size;
  return n;
}

async function withNode(fn: (node: ChainNode, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-side-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  try {
    await fn(await ChainNode.open({ params: networkParams("dev"), kv }), dir);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("30 side blocks of ~1 MB forking at height 1, spending coins that do not exist, leave bounded storage", async () => {
  await withNode(async (node, dir) => {
    const miner = newKey();
    await mine(node, miner, 10);
    const active = await node.store.storedBlockBytes();
    const fileBefore = await kvFileBytes(dir);
    const fork = node.hashAtHeight(1)!;
    /** Sends 30 side blocks; returns their outcomes and the KV files' size after. */
    const attack = async (round: number) => {
      const statuses: Record<string, number> = {};
      let sent = 0;
      const started = performance.now();
      for (let i = 0; i < 30; i++) {
        const txs = Array.from({ length: 10 }, junkTx);
        const bytes = blockOn(node, fork, newKey(), txs, round * 30 + i);
        sent += bytes.length;
        const r = await node.processBlock(bytes);
        const key = r.reason ?? r.status;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      const ms = performance.now() - started;
      const side = (await node.store.storedBlockBytes()).bytes - active.bytes;
      const file = await kvFileBytes(dir);
      console.log(
        `round ${round}: sent ${sent} bytes in 30 side blocks (${ms.toFixed(0)} ms): ` +
          `${JSON.stringify(statuses)}; side bytes stored ${side}; KV files ${file} bytes`,
      );
      assert.ok(sent > 29_000_000, "the attack sends about 30 MB");
      assert.ok(side <= DEFAULT_SIDE_BLOCK_BYTES, `side blocks within the budget (${side})`);
      return { statuses, file };
    };
    const first = await attack(0);
    assert.equal(
      first.statuses["block/side-full"],
      14,
      "blocks past the 16 MB budget are not kept",
    );
    const second = await attack(1);
    assert.equal(
      second.statuses["block/side-full"],
      30,
      "a full budget keeps no equal-work newcomer",
    );
    console.log(`KV files before the attack: ${fileBefore} bytes`);
    assert.ok(
      second.file - first.file < 4_000_000,
      `30 MB more of side blocks leave the KV files about as large (${first.file} -> ${second.file})`,
    );
    const [next] = await mine(node, miner, 1);
    assert.equal(node.tip().hash, next, "the node goes on");
  });
});

Deno.test("an invalid side branch is pruned and refused again; a block 144 blocks' work below the tip is not stored", async () => {
  await withNode(async (node) => {
    const miner = newKey();
    await mine(node, miner, 10);
    const active = await node.store.storedBlockBytes();
    // A branch from height 1 that overtakes the tip, its first block spending coins that do not exist.
    let parent = node.hashAtHeight(1)!;
    const branch: string[] = [];
    let bad: Uint8Array | undefined;
    for (let i = 0; i < 10; i++) {
      const bytes = blockOn(node, parent, miner, i === 0 ? [junkTx()] : [], 100 + i);
      bad ??= bytes;
      const r = await node.processBlock(bytes).catch((e) => ({ status: e.code, hash: "" }));
      branch.push(r.status);
      if (r.hash) parent = r.hash;
    }
    assert.deepEqual(
      branch,
      [...Array(9).fill("side"), "block/bad-prevblk"],
      "refused: its branch is invalid",
    );
    assert.equal(node.tip().height, 10, "the invalid branch did not win");
    assert.deepEqual(await node.store.storedBlockBytes(), active, "the invalid branch is pruned");
    await assertRejectsWithCode(node.processBlock(bad!), "block/known-invalid");

    await mine(node, miner, 140);
    const low = blockOn(node, node.hashAtHeight(1)!, miner, [], 999);
    assert.deepEqual(await node.processBlock(low), {
      status: "ignored",
      hash: blockHash(decodeBlock(low).header),
      reason: "block/low-work",
    });
    assert.deepEqual(await node.store.storedBlockBytes(), await activeBytes(node), "not stored");
    const res = await createApp({ chain: node }).request("/v1/blocks", {
      method: "POST",
      body: toHex(low),
    });
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, "block/low-work");
  });
});

/** Bytes and count of the active chain's blocks. */
async function activeBytes(node: ChainNode): Promise<{ bytes: number; blocks: number }> {
  let bytes = 0;
  for (let h = 0; h <= node.tip().height; h++) {
    bytes += (await node.getBlockBytes(node.hashAtHeight(h)!))!.length;
  }
  return { bytes, blocks: node.tip().height + 1 };
}

Deno.test("a branch a reorg left is pruned once it falls 144 blocks' work behind", async () => {
  await withNode(async (node) => {
    const miner = newKey();
    const [, ...oldBranch] = await mine(node, miner, 5);
    let parent = node.hashAtHeight(1)!;
    for (let i = 0; i < 5; i++) {
      parent = (await node.processBlock(blockOn(node, parent, newKey(), [], 200 + i))).hash;
    }
    assert.equal(node.tip().hash, parent, "the longer branch won");
    assert.ok(
      oldBranch.every((h) => node.entry(h) && !node.isActive(h)),
      "the old branch is stored",
    );
    await mine(node, miner, 143);
    assert.ok(oldBranch.every((h) => node.entry(h)), "kept while within 144 blocks' work");
    await mine(node, miner, 2);
    assert.ok(oldBranch.every((h) => !node.entry(h)), "pruned once it can no longer matter");
    assert.deepEqual(await node.store.storedBlockBytes(), await activeBytes(node));
  });
});
