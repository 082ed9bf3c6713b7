import assert from "node:assert/strict";
import { Mempool, type MempoolEntry } from "./mempool.ts";
import { NO_JOB, type Transaction } from "./tx.ts";
import { ValidationError } from "./errors.ts";
import { toHex } from "./bytes.ts";

function entry(
  id: string,
  feeRate: number,
  spends: { txid: string; vout: number }[],
  size = 100,
): MempoolEntry {
  const tx: Transaction = {
    version: 1,
    inputs: spends.map((s) => ({
      prevout: {
        txid: Uint8Array.from(s.txid.match(/../g)!.map((h) => parseInt(h, 16))),
        vout: s.vout,
      },
      scriptSig: new Uint8Array(0),
      sequence: 0,
    })),
    outputs: [{ value: 1n, scriptPubKey: new Uint8Array(21) }],
    lockTime: 0,
    jobId: NO_JOB,
  };
  return {
    txid: id,
    tx,
    bytes: new Uint8Array(size),
    fee: BigInt(feeRate * size),
    feeRate,
    added: Date.now(),
  };
}

const id = (n: number) => toHex(new Uint8Array(32).fill(n));

Deno.test("mempool: double spends conflict, selection follows fee rate and puts parents first", () => {
  const pool = new Mempool(10_000);
  pool.add(entry(id(1), 5, [{ txid: id(100), vout: 0 }]));
  assert.throws(
    () => pool.add(entry(id(2), 50, [{ txid: id(100), vout: 0 }])),
    (e: unknown) => (e as ValidationError).code === "mempool/conflict",
  );
  pool.add(entry(id(3), 20, [{ txid: id(101), vout: 0 }]));
  pool.add(entry(id(4), 90, [{ txid: id(1), vout: 0 }])); // child of a low-fee parent
  assert.deepEqual(pool.select(10_000).map((e) => e.txid), [id(3), id(1), id(4)]);
  assert.deepEqual(pool.select(150).map((e) => e.txid), [id(3)], "size bound respected");
});

Deno.test("mempool: over its size bound it evicts the lowest fee rate with its descendants", () => {
  const pool = new Mempool(300);
  pool.add(entry(id(1), 1, [{ txid: id(100), vout: 0 }]));
  // The package of 1 and its child pays (100 + 800) / 200 = 4.5 per byte: below entry 3's 5.
  pool.add(entry(id(2), 8, [{ txid: id(1), vout: 0 }]));
  pool.add(entry(id(3), 5, [{ txid: id(101), vout: 0 }]));
  pool.add(entry(id(4), 7, [{ txid: id(102), vout: 0 }]));
  assert.equal(pool.has(id(1)), false, "lowest fee rate evicted");
  assert.equal(pool.has(id(2)), false, "its child left with it");
  assert.deepEqual([pool.has(id(3)), pool.has(id(4))], [true, true]);
  assert.equal(pool.bytes, 200);
  assert.throws(
    () => pool.add(entry(id(5), 2, [{ txid: id(103), vout: 0 }], 200)),
    (e: unknown) => (e as ValidationError).code === "mempool/min-fee",
  );
  assert.equal(pool.has(id(5)), false);
  assert.throws(
    () => pool.add(entry(id(5), 6, [{ txid: id(103), vout: 0 }], 300)),
    (e: unknown) => (e as ValidationError).code === "mempool/full",
  );
  assert.equal(pool.has(id(5)), false);
  assert.deepEqual([pool.has(id(3)), pool.has(id(4))], [true, true], "a refusal evicts nothing");
  assert.equal(pool.spender(id(103), 0), undefined, "a refused entry leaves no spend behind");
});

Deno.test("mempool: a newcomer at the same fee rate never evicts accepted transactions", () => {
  const pool = new Mempool(300);
  for (let i = 1; i <= 3; i++) pool.add(entry(id(i), 5, [{ txid: id(100 + i), vout: 0 }]));
  assert.throws(
    () => pool.add(entry(id(4), 5, [{ txid: id(104), vout: 0 }])),
    (e: unknown) => (e as ValidationError).code === "mempool/full",
  );
  assert.deepEqual([1, 2, 3, 4].map((i) => pool.has(id(i))), [true, true, true, false]);
  assert.equal(pool.minFeeRate(), 0, "nothing was evicted, the floor did not move");
});

Deno.test("mempool: eviction raises a fee floor above what left; it decays after a block", () => {
  let now = 1_000_000;
  const pool = new Mempool({ maxBytes: 300, floorHalfLifeMs: 60_000, now: () => now });
  for (let i = 1; i <= 3; i++) pool.add(entry(id(i), 5, [{ txid: id(100 + i), vout: 0 }]));
  pool.add(entry(id(4), 9, [{ txid: id(104), vout: 0 }]));
  assert.equal(pool.has(id(3)), false, "the newest of the lowest rate left");
  assert.deepEqual(pool.fates.get(id(3)), { reason: "evicted", at: now, feeRate: 5 });
  assert.equal(pool.minFeeRate(), 6, "evicted rate 5 + incremental 1");
  assert.throws(
    () => pool.add(entry(id(5), 5.5, [{ txid: id(105), vout: 0 }])),
    (e: unknown) => (e as ValidationError).code === "mempool/min-fee",
  );
  now += 10 * 60_000;
  assert.equal(pool.minFeeRate(), 6, "no decay before a block");
  pool.remove(id(4), false);
  pool.blockConnected();
  now += 60_000; // one half-life, pool at 2/3: 6 -> 3
  assert.equal(pool.minFeeRate(), 3);
  now += 60_000 * 10;
  assert.equal(pool.minFeeRate(), 0, "below half the incremental rate the floor is gone");
  pool.add(entry(id(5), 5.5, [{ txid: id(105), vout: 0 }]));
  pool.remove(id(1), false);
  pool.add(entry(id(3), 5, [{ txid: id(103), vout: 0 }]));
  assert.equal(pool.fates.get(id(3)), undefined, "back in the pool: no longer evicted");
});
