/** @module readGGUFCached: reuse only for the same array with the same header bytes. */

import assert from "node:assert/strict";
import { makeFixture } from "../../compute/fixture.ts";
import { readGGUF } from "../../verifier-wasm/gguf.ts";
import { readGGUFCached } from "../../verifier-wasm/gguf_cache.ts";

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("readGGUFCached reuses a parse only while the header bytes are unchanged", () => {
  const a = makeFixture({ size: "tiny", dtype: "f16", seed: 1n });
  const first = readGGUFCached(a);
  assert.deepEqual(first.metadata, readGGUF(a).metadata);
  assert.equal(readGGUFCached(a), first, "same array, same header: the same parse");
  assert.notEqual(readGGUFCached(a.slice()), first, "another array is parsed on its own");
  // A changed metadata byte: general.architecture "llama" -> "llamb".
  const enc = new TextEncoder();
  const key = indexOf(a, enc.encode("general.architecture"));
  const value = indexOf(a, enc.encode("llama"), key + 20);
  assert.ok(key > 0 && value > key && value < first.dataOffset);
  a[value + 4] = "b".charCodeAt(0);
  const again = readGGUFCached(a);
  assert.notEqual(again, first);
  assert.equal(again.metadata.get("general.architecture")?.value, "llamb");
  // A changed tensor byte (past the header) keeps the parse, whose tensor views read the array.
  a[first.dataOffset] ^= 0xff;
  assert.equal(readGGUFCached(a), again);
  assert.equal(again.tensors[0].data.buffer, a.buffer);
});
