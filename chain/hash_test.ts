import assert from "node:assert/strict";
import crypto from "node:crypto";
import { NATIVE_SHA256_MIN, nativeSha256, sha256, sha256Concat, sha256d } from "./hash.ts";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { toHex } from "./bytes.ts";

Deno.test("native and noble SHA-256 agree at every length around the switch and on 1 MB", () => {
  const data = crypto.getRandomValues(new Uint8Array(65536));
  const lengths = [0, 1, 55, 56, 63, 64, NATIVE_SHA256_MIN - 1, NATIVE_SHA256_MIN, 1000, 65536];
  for (const n of lengths) {
    const slice = data.subarray(0, n);
    assert.deepEqual(nativeSha256(slice, crypto), nobleSha256(slice), `length ${n}`);
    assert.deepEqual(sha256(slice), nobleSha256(slice), `length ${n}`);
  }
  const big = new Uint8Array(1 << 20).fill(0x61);
  assert.deepEqual(sha256(big), nobleSha256(big));
  assert.equal(Object.getPrototypeOf(sha256(big)), Uint8Array.prototype);
});

Deno.test("sha256Concat equals SHA-256 of the joined parts, natively and not", () => {
  const data = crypto.getRandomValues(new Uint8Array(5000));
  for (const cuts of [[0, 0], [3, 40], [100, 255], [0, 5000], [1, 4999], [2500, 2600]]) {
    const parts = [
      data.subarray(0, cuts[0]),
      data.subarray(cuts[0], cuts[1]),
      data.subarray(cuts[1]),
    ];
    for (const n of [60, 300, 5000]) {
      const clipped = parts.map((p) => p.subarray(0, n));
      const joined = Uint8Array.of(...clipped.flatMap((p) => [...p]));
      assert.deepEqual(sha256Concat(clipped), nobleSha256(joined), `${cuts} ${n}`);
    }
  }
});

Deno.test("SHA-256 and SHA-256d known answers", () => {
  assert.equal(
    toHex(sha256(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(sha256(new Uint8Array(1_000_000).fill(0x61))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
  assert.equal(
    toHex(sha256d(new TextEncoder().encode("hello"))),
    "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50",
  );
});
