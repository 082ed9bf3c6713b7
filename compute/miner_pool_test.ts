import assert from "node:assert/strict";
import { createMinerPool } from "./miner_pool.ts";
import { searchNoncesTs } from "../chain/miner.ts";
import { sha256d } from "../chain/hash.ts";
import { bitsToTarget, hashToBigInt, targetToBytes } from "../chain/pow.ts";

Deno.test("the WASM worker pool finds the same smallest nonce as the TypeScript loop", async () => {
  const pool = await createMinerPool(2);
  try {
    const header = new Uint8Array(80).map((_, i) => (i * 37) & 0xff);
    const target = targetToBytes(bitsToTarget(0x1f00ffff)); // about 1 in 65,536
    const ts = searchNoncesTs(header, target, 1000, 400_000);
    const wasm = await pool.search(header, target, 1000, 400_000);
    assert.notEqual(ts, null, "the range contains a solution");
    assert.equal(wasm, ts);
    const solved = header.slice();
    new DataView(solved.buffer).setUint32(76, wasm!, true);
    assert.ok(hashToBigInt(sha256d(solved)) <= hashToBigInt(target));
    assert.equal(
      await pool.search(header, new Uint8Array(32), 0, 50_000),
      null,
      "an impossible target finds nothing",
    );
  } finally {
    pool.close();
  }
});
