import assert from "node:assert/strict";
import { DecodeError, ValidationError } from "./errors.ts";
import { COIN, MAX_BLOCK_SIZE } from "./params.ts";
import { decodeBlock, encodeBlock } from "./block.ts";
import { createBlockTemplate } from "./miner.ts";
import { txid } from "./tx.ts";
import { checkBlock } from "./validation.ts";
import {
  makeBlock,
  mine,
  newKey,
  openDevNode,
  openFundedDevNode,
  solve,
  spend,
} from "../tests/chain_helpers.ts";

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
  const { node, close, owner: alice, coin } = await openFundedDevNode();
  try {
    const pay = spend(alice, [coin], [{
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

Deno.test("checkBlock takes the block's size from the bytes it came in, refusing over MAX_BLOCK_SIZE as before", async () => {
  const { node, close } = await openDevNode();
  try {
    const miner = newKey();
    await mine(node, miner, 1);
    const bytes = makeBlock(node, miner);
    const block = decodeBlock(bytes);
    const ids = block.txs.map(txid);
    // The received length and the encode path agree (strict decoding), and the txids come back.
    assert.deepEqual(checkBlock(block, node.params, bytes.length), ids);
    assert.deepEqual(checkBlock(block, node.params), ids);
    // A size claim over the limit is refused, as the encoded size was.
    assert.throws(() => checkBlock(block, node.params, MAX_BLOCK_SIZE + 1), {
      code: "block/oversize",
    });
    // Bytes whose length disagrees with the block's encoding never reach checkBlock: decoding
    // refuses trailing bytes and a non-minimal transaction count, so the received length is the
    // encoding's length.
    const trailing = new Uint8Array(bytes.length + 1);
    trailing.set(bytes);
    await assert.rejects(node.processBlock(trailing), DecodeError);
    const padded = new Uint8Array(bytes.length + 2);
    padded.set(bytes.subarray(0, 80));
    padded.set([0xfd, block.txs.length, 0], 80); // the count as a 3-byte varint
    padded.set(bytes.subarray(81), 83);
    assert.equal(bytes[80], block.txs.length, "one-byte count in the honest encoding");
    await assert.rejects(node.processBlock(padded), DecodeError);
    assert.equal((await node.processBlock(bytes)).status, "connected", "the honest bytes connect");
  } finally {
    close();
  }
});
