import assert from "node:assert/strict";
import { sha256 } from "./hash.ts";
import { toHex } from "./bytes.ts";
import {
  chunkLeafHash,
  chunkLeafHashes,
  merkleAuditPath,
  merkleNode,
  merkleTreeHash,
  MODEL_CHUNK_SIZE,
  modelIdFromBytes,
  ModelIdHasher,
  verifyChunk,
} from "./model_id.ts";

const MiB = MODEL_CHUNK_SIZE;

function bytes(n: number, salt = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = salt;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

Deno.test("empty file id is SHA-256 of the empty string (RFC 6962 MTH of no leaves)", () => {
  assert.equal(
    modelIdFromBytes(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("a file below 1 MiB is one leaf: SHA-256(0x00 || bytes)", () => {
  const abc = new TextEncoder().encode("abc");
  assert.equal(modelIdFromBytes(abc), toHex(sha256(Uint8Array.of(0, 97, 98, 99))));
});

Deno.test("chunks split at 1 MiB and the tree splits at the largest power of two below n", () => {
  const data = bytes(4 * MiB + 5);
  const l = [0, 1, 2, 3, 4].map((i) => chunkLeafHash(data.subarray(i * MiB, (i + 1) * MiB)));
  assert.equal(l[4].length, 32);
  const expected = merkleNode(merkleNode(merkleNode(l[0], l[1]), merkleNode(l[2], l[3])), l[4]);
  assert.equal(modelIdFromBytes(data), toHex(expected));
  const three = data.subarray(0, 2 * MiB + 1);
  assert.equal(
    modelIdFromBytes(three),
    toHex(merkleNode(merkleNode(l[0], l[1]), chunkLeafHash(data.subarray(2 * MiB, 2 * MiB + 1)))),
  );
  // Exactly 2 MiB is two leaves, not three.
  assert.equal(modelIdFromBytes(data.subarray(0, 2 * MiB)), toHex(merkleNode(l[0], l[1])));
});

Deno.test("streaming in arbitrary pieces gives the same id as hashing in one go", () => {
  const data = bytes(3 * MiB + 777, 9);
  const reference = toHex(merkleTreeHash(chunkLeafHashes(data)));
  for (const piece of [1000, 65536, MiB, MiB + 1, 3 * MiB + 777]) {
    const h = new ModelIdHasher();
    for (let o = 0; o < data.length; o += piece) h.update(data.subarray(o, o + piece));
    assert.equal(h.digest(), reference, `piece ${piece}`);
    assert.equal(h.chunkCount, 4);
  }
  assert.equal(modelIdFromBytes(data), reference);
  const h = new ModelIdHasher();
  h.digest();
  assert.throws(() => h.update(new Uint8Array(1)), TypeError);
});

Deno.test("audit paths verify every chunk of trees of 1..13 leaves and reject tampering", () => {
  for (let n = 1; n <= 13; n++) {
    const chunks = Array.from({ length: n }, (_, i) => bytes(17 + i, i + 1));
    const leaves = chunks.map(chunkLeafHash);
    const root = merkleTreeHash(leaves);
    for (let i = 0; i < n; i++) {
      const path = merkleAuditPath(leaves, i);
      assert.ok(verifyChunk(root, i, n, chunks[i], path), `n=${n} i=${i}`);
      const bad = chunks[i].slice();
      bad[0] ^= 1;
      assert.ok(!verifyChunk(root, i, n, bad, path));
      if (n > 1) assert.ok(!verifyChunk(root, (i + 1) % n, n, chunks[i], path));
    }
  }
  assert.throws(() => merkleAuditPath([], 0), RangeError);
});
