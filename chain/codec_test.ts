import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteReader, ByteWriter, fromHex, toHex } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import {
  decodeTransaction,
  encodeTransaction,
  signatureHash,
  signatureHashPreimage,
  signPayToAddressInput,
  type Transaction,
  txid,
} from "./tx.ts";
import { availableBackends, verifyWithBackend } from "./signature.ts";
import {
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeHeader,
  genesisBlock,
  merkleRoot,
} from "./block.ts";
import {
  addressFromPublicKey,
  decodeAddress,
  publicKeyOf,
  signDigest,
  signPreimage,
  verifySignature,
} from "./keys.ts";
import { sha256 } from "./hash.ts";
import { bitsToTarget, targetToBits } from "./pow.ts";
import { networkParams } from "./params.ts";
import { formatCoins, parseCoins } from "./amount.ts";
import vectors from "../tests/vectors/codecs.json" with { type: "json" };

function decodeVarint(hex: string): number {
  const r = new ByteReader(fromHex(hex), "varint");
  const v = r.varint(Number.MAX_SAFE_INTEGER);
  r.end();
  return v;
}

function assertDecodeError(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(
      e instanceof DecodeError || e instanceof RangeError,
      `expected DecodeError/RangeError, got ${e}`,
    );
    if (code) assert.equal((e as DecodeError).code, code);
    return true;
  });
}

Deno.test("varints: valid vectors round-trip, non-minimal and truncated ones are rejected", () => {
  for (const v of vectors.varint.valid) {
    assert.equal(decodeVarint(v.hex), v.value, v.hex);
    assert.equal(toHex(new ByteWriter().varint(v.value).finish()), v.hex);
  }
  for (const v of vectors.varint.invalid) assertDecodeError(() => decodeVarint(v.hex), v.code);
  assertDecodeError(() => new ByteReader(fromHex("fe00000010")).varint(), "decode/too-large");
});

Deno.test("transactions: vectors decode to their txids and invalid encodings are rejected", () => {
  for (const v of vectors.transaction.valid) {
    const tx = decodeTransaction(fromHex(v.hex));
    assert.equal(txid(tx), v.txid);
    assert.equal(toHex(encodeTransaction(tx)), v.hex);
  }
  for (const v of vectors.transaction.invalid) {
    assertDecodeError(() => decodeTransaction(fromHex(v.hex)), v.code);
  }
  assertDecodeError(() => decodeTransaction(new Uint8Array(100_001)), "decode/too-large");
});

Deno.test("block headers and blocks: exact 80 bytes, no trailing bytes, genesis round-trips", () => {
  const g = genesisBlock(networkParams("dev"));
  const header = encodeHeader(g.header);
  assert.equal(header.length, 80);
  assert.deepEqual(decodeHeader(header), g.header);
  assertDecodeError(() => decodeHeader(header.subarray(0, 79)), "decode/truncated");
  assertDecodeError(() => decodeHeader(new Uint8Array([...header, 0])), "decode/trailing-bytes");
  const bytes = encodeBlock(g);
  assert.deepEqual(encodeBlock(decodeBlock(bytes)), bytes);
  assertDecodeError(() => decodeBlock(new Uint8Array([...bytes, 1])), "decode/trailing-bytes");
  assertDecodeError(() => decodeBlock(bytes.subarray(0, bytes.length - 1)), "decode/truncated");
  const nonMinimal = new Uint8Array([...header, 0xfd, 0x01, 0x00, ...bytes.subarray(81)]);
  assertDecodeError(() => decodeBlock(nonMinimal), "decode/non-minimal-varint");
});

Deno.test("Merkle root flags the duplicated-last-pair mutation", () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const c = new Uint8Array(32).fill(3);
  const three = merkleRoot([a, b, c]);
  const four = merkleRoot([a, b, c, c]);
  assert.deepEqual(three.root, four.root, "same root: the attack surface");
  assert.equal(three.mutated, false);
  assert.equal(four.mutated, true);
});

Deno.test("addresses match Bitcoin P2PKH vectors and bad addresses get typed errors", () => {
  for (const v of vectors.address.valid) {
    const sk = fromHex(v.secretKey, 32);
    assert.equal(addressFromPublicKey(publicKeyOf(sk)), v.address);
    assert.equal(toHex(decodeAddress(v.address)).length, 40);
  }
  for (const v of vectors.address.invalid) {
    assertDecodeError(() => decodeAddress(v.address), v.code);
  }
  assert.throws(() => addressFromPublicKey(new Uint8Array(65)), RangeError);
});

Deno.test("signatures are compact, low-S and bound to key and preimage", () => {
  const sk = fromHex("11".repeat(32));
  const preimage = fromHex("22".repeat(32));
  const sig = signPreimage(preimage, sk);
  assert.deepEqual(sig, signDigest(sha256(preimage), sk), "signs SHA-256 of the preimage");
  assert.equal(sig.length, 64);
  assert.ok(verifySignature(sig, preimage, publicKeyOf(sk)));
  assert.ok(!verifySignature(sig, fromHex("23".repeat(32)), publicKeyOf(sk)));
  // High-S twin of the same signature must be refused.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt("0x" + toHex(sig.subarray(32)));
  const high = new Uint8Array(sig);
  high.set(fromHex((n - s).toString(16).padStart(64, "0")), 32);
  assert.ok(!verifySignature(high, preimage, publicKeyOf(sk)));
});

Deno.test("sighash vectors: preimage, digest = SHA-256(preimage), signed tx, and every backend verifies", async () => {
  const backends = await availableBackends();
  assert.equal(backends.length, 3);
  for (const v of vectors.signature.sighash) {
    const tx = decodeTransaction(fromHex(v.unsignedTx));
    const spent = { value: BigInt(v.spentValue), scriptPubKey: fromHex(v.spentScript) };
    const preimage = signatureHashPreimage(tx, v.index, spent);
    assert.equal(toHex(preimage), v.sighashPreimage);
    assert.equal(toHex(signatureHash(tx, v.index, spent)), v.sighash);
    assert.equal(toHex(sha256(preimage)), v.sighash);
    signPayToAddressInput(tx, v.index, spent, fromHex(v.secretKey));
    assert.equal(toHex(encodeTransaction(tx)), v.signedTx);
    assert.equal(txid(tx), v.txid);
    const scriptSig = tx.inputs[v.index].scriptSig;
    for (const b of backends) {
      assert.ok(verifyWithBackend(b, scriptSig.subarray(0, 64), preimage, scriptSig.subarray(64)));
    }
  }
});

Deno.test("compact bits match Bitcoin's vectors", () => {
  for (const v of vectors.bits.valid) {
    assert.equal(bitsToTarget(Number(v.bits)).toString(16), v.target);
    assert.equal(targetToBits(BigInt("0x" + v.target)), Number(v.bits));
  }
  for (const v of vectors.bits.invalid) {
    assertDecodeError(() => bitsToTarget(Number(v.bits)), "pow/bad-bits");
  }
});

Deno.test("coin amounts parse strictly and format without trailing zeros", () => {
  assert.equal(parseCoins("1.5"), 150_000_000n);
  assert.equal(parseCoins("0.00000001"), 1n);
  assert.equal(formatCoins(150_000_000n), "1.5");
  for (const bad of ["-1", "1.000000001", "abc", "", "21000001"]) {
    assert.throws(() => parseCoins(bad), RangeError, bad);
  }
});

const txArb = fc.record({
  version: fc.nat(0xffffffff),
  inputs: fc.array(
    fc.record({
      prevout: fc.record({
        txid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        vout: fc.nat(0xffffffff),
      }),
      scriptSig: fc.uint8Array({ maxLength: 300 }),
      sequence: fc.nat(0xffffffff),
    }),
    { maxLength: 5 },
  ),
  outputs: fc.array(
    fc.record({
      value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      scriptPubKey: fc.uint8Array({ maxLength: 300 }),
    }),
    { maxLength: 5 },
  ),
  lockTime: fc.nat(0xffffffff),
  jobId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

Deno.test("fuzz: any transaction round-trips, and random or mutated bytes only raise typed errors", () => {
  fc.assert(
    fc.property(txArb, (tx: Transaction) => {
      const bytes = encodeTransaction(tx);
      assert.deepEqual(encodeTransaction(decodeTransaction(bytes)), bytes);
    }),
    { seed: 42, numRuns: 300 },
  );
  fc.assert(
    fc.property(txArb, fc.nat(), fc.nat(255), (tx: Transaction, at: number, byte: number) => {
      const bytes = encodeTransaction(tx);
      bytes[at % bytes.length] = byte;
      try {
        decodeTransaction(bytes);
      } catch (e) {
        assert.ok(e instanceof DecodeError || e instanceof RangeError, String(e));
      }
      try {
        decodeBlock(bytes);
      } catch (e) {
        assert.ok(e instanceof DecodeError || e instanceof RangeError, String(e));
      }
    }),
    { seed: 7, numRuns: 500 },
  );
});
