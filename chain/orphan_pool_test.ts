import assert from "node:assert/strict";
import { OrphanPool } from "./orphan_pool.ts";
import { fromHex, toHex } from "./bytes.ts";
import { NO_JOB, type Transaction } from "./tx.ts";

const id = (n: number) => toHex(new Uint8Array(32).fill(n));

function tx(parent: string): Transaction {
  return {
    version: 1,
    inputs: [{
      prevout: { txid: fromHex(parent, 32), vout: 0 },
      scriptSig: new Uint8Array(0),
      sequence: 0,
    }],
    outputs: [{ value: 1n, scriptPubKey: new Uint8Array(21) }],
    lockTime: 0,
    jobId: NO_JOB,
  };
}

Deno.test("orphan pool: bounded per source and overall (count and bytes), a source's excess evicts its own", () => {
  const pool = new OrphanPool({
    maxCount: 6,
    maxBytes: 10_000,
    perSourceCount: 3,
    perSourceBytes: 2_500,
  });
  for (let i = 1; i <= 5; i++) {
    assert.equal(pool.add(id(i), tx(id(100 + i)), new Uint8Array(100), [id(100 + i)], "a"), true);
  }
  assert.equal(pool.size, 3, "source a keeps its 3 newest");
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => pool.get(id(i)) !== undefined), [
    false,
    false,
    true,
    true,
    true,
  ]);
  pool.add(id(10), tx(id(110)), new Uint8Array(2_000), [id(110)], "b");
  pool.add(id(11), tx(id(111)), new Uint8Array(1_000), [id(111)], "b");
  assert.equal(pool.get(id(10)), undefined, "b over its 2,500 bytes drops its oldest");
  assert.equal(pool.bytes, 300 + 1_000);
  for (let i = 20; i < 23; i++) {
    pool.add(id(i), tx(id(i + 100)), new Uint8Array(100), [id(i + 100)], "c");
  }
  pool.add(id(30), tx(id(130)), new Uint8Array(100), [id(130)], "d");
  assert.ok(pool.size <= 6, "overall count bound");
  assert.equal(
    pool.get(id(11)),
    undefined,
    "overall, the largest source (b, by bytes) lost its oldest",
  );
  assert.ok(pool.get(id(30)), "the newcomer is held");
});

Deno.test("orphan pool: children by parent, removal by spent outpoint, expiry by age", () => {
  const pool = new OrphanPool({ ttlMs: 50 });
  pool.add(id(1), tx(id(9)), new Uint8Array(10), [id(9)], "a");
  pool.add(id(2), tx(id(9)), new Uint8Array(10), [id(9)], "a");
  assert.deepEqual(pool.childrenOf(id(9)).map((o) => o.txid), [id(1), id(2)]);
  assert.deepEqual(
    pool.removeSpending([`${id(9)}:0`]).map((o) => o.txid),
    [id(2)],
    "one spender per outpoint: the last held",
  );
  assert.equal(pool.expire(Date.now() + 100), 1);
  assert.equal(pool.size, 0);
  assert.equal(pool.bytes, 0);
  assert.deepEqual(pool.childrenOf(id(9)), []);
});
