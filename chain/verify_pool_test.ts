import assert from "node:assert/strict";
import { sha256 } from "./hash.ts";
import { publicKeyOf, signPreimage } from "./keys.ts";
import { verifySignature } from "./signature.ts";
import { type SignatureCheck, VerifyPool } from "./verify_pool.ts";
import { SignatureBatcher } from "./verify_batcher.ts";
import { packChecks, unpackChecks } from "./verify_packing.ts";

/** Valid signatures with every fourth one spoiled in a different way. */
function mixedChecks(n: number): SignatureCheck[] {
  return Array.from({ length: n }, (_, i) => {
    const secret = sha256(new TextEncoder().encode(`pool key ${i % 7}`));
    const preimage = i % 5 === 0
      ? new TextEncoder().encode(`variable-length preimage ${i}`)
      : sha256(new TextEncoder().encode(`pool message ${i}`));
    const check = {
      signature: signPreimage(preimage, secret),
      preimage,
      publicKey: publicKeyOf(secret),
    };
    if (i % 4 !== 3) return check;
    switch (i % 16) {
      case 3:
        return { ...check, preimage: sha256(preimage) };
      case 7:
        return { ...check, signature: check.signature.subarray(0, 63) };
      case 11:
        return { ...check, publicKey: publicKeyOf(sha256(preimage)) };
      default:
        return { ...check, signature: new Uint8Array(64).fill(i) };
    }
  });
}

Deno.test("packing round-trips checks of any preimage length", () => {
  const checks = mixedChecks(20).filter((c) => c.signature.length === 64);
  assert.deepEqual(unpackChecks(packChecks(checks)), checks);
});

Deno.test("a pool's verdicts on a large batch are verifySignature's, from its worker threads", async () => {
  const pool = new VerifyPool({ size: 2 });
  try {
    const checks = mixedChecks(300);
    const expected = checks.map((c) => verifySignature(c.signature, c.preimage, c.publicKey));
    assert.ok(expected.includes(true) && expected.includes(false));
    assert.deepEqual(await pool.verifyBatch(checks), expected);
    assert.equal(await pool.running(), 2);
    const again = await Promise.all([pool.verifyBatch(checks), pool.verifyBatch(checks.slice(7))]);
    assert.deepEqual(again, [expected, expected.slice(7)]);
  } finally {
    await pool.close();
  }
  await assert.rejects(() => pool.verifyBatch([]), /closed/);
});

Deno.test("a small batch is verified inline with the same verdicts", async () => {
  const pool = new VerifyPool({ size: 2, minBatch: 32 });
  try {
    const checks = mixedChecks(12);
    const expected = checks.map((c) => verifySignature(c.signature, c.preimage, c.publicKey));
    assert.deepEqual(await pool.verifyBatch(checks), expected);
    assert.equal(await pool.running(), 0);
    assert.deepEqual(await pool.verifyBatch([]), []);
  } finally {
    await pool.close();
  }
});

Deno.test("pool size must be a positive integer", () => {
  assert.throws(() => new VerifyPool({ size: 0 }), RangeError);
});

Deno.test("a batcher gathers checks made in one tick into one pool batch, each caller its verdict", async () => {
  const pool = new VerifyPool({ size: 2 });
  try {
    const batcher = new SignatureBatcher(pool);
    const checks = mixedChecks(64);
    const expected = checks.map((c) => verifySignature(c.signature, c.preimage, c.publicKey));
    assert.deepEqual(await Promise.all(checks.map((c) => batcher.verify(c))), expected);
    assert.equal(batcher.batches, 1);
    assert.equal(await pool.running(), 2);
    assert.equal(await batcher.verify(checks[1]), expected[1]);
    assert.equal(batcher.batches, 2);
  } finally {
    await pool.close();
  }
});
