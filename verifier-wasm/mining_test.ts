/** @module Tests of the WASM SHA-256d mining kernel against chain/hash.ts and a plain TS loop. */

import assert from "node:assert/strict";
import { sha256d } from "../chain/hash.ts";
import { createMiner, type Miner } from "./mining.ts";

function header(seed: number): Uint8Array {
  const h = new Uint8Array(80);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < 80; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    h[i] = x & 0xff;
  }
  return h;
}

function withNonce(h: Uint8Array, nonce: number): Uint8Array {
  const c = h.slice();
  new DataView(c.buffer).setUint32(76, nonce, true);
  return c;
}

/** Digest (big-endian, digest byte order) <= target. */
function meets(digest: Uint8Array, target: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    if (digest[i] !== target[i]) return digest[i] < target[i];
  }
  return true;
}

function tsSearch(h: Uint8Array, target: Uint8Array, start: number, count: number): number | null {
  for (let n = start; n < start + count; n++) {
    if (meets(sha256d(withNonce(h, n)), target)) return n;
  }
  return null;
}

function targetWithLeadingByte(b: number): Uint8Array {
  const t = new Uint8Array(32).fill(0xff);
  t[0] = b;
  return t;
}

let minerP: Promise<Miner> | undefined;
const miner = () => (minerP ??= createMiner());

Deno.test("kernel sha256d of a header equals chain sha256d", async () => {
  const m = await miner();
  for (let s = 1; s <= 20; s++) {
    const h = header(s * 7919);
    assert.deepEqual(m.hashHeader(h), sha256d(h));
  }
});

Deno.test("searchNonces finds the same nonces as a plain TypeScript loop", async () => {
  const m = await miner();
  const h = header(42);
  const target = targetWithLeadingByte(0x0f); // about 1 in 16 nonces
  let start = 1000;
  const found: number[] = [];
  while (found.length < 12) {
    const before = m.hashCount;
    const w = m.searchNonces(h, target, start, 500);
    const t = tsSearch(h, target, start, 500);
    if (w !== null) assert.equal(m.hashCount - before, w - start + 1, "hashes up to the hit");
    assert.equal(w, t);
    assert.notEqual(w, null);
    assert.ok(meets(sha256d(withNonce(h, w!)), target), "found nonce meets the target");
    found.push(w!);
    start = w! + 1;
  }
  // Ranges of every length 1..9 around hits respect both ends.
  for (const hit of found.slice(0, 4)) {
    for (let s = hit - 4; s <= hit + 1; s++) {
      for (let c = 1; c <= 9; c++) {
        assert.equal(m.searchNonces(h, target, s, c), tsSearch(h, target, s, c), `[${s}, +${c})`);
      }
    }
  }
});

Deno.test("searchNonces compares the whole 256-bit digest, not just its first word", async () => {
  const m = await miner();
  const h = withNonce(header(9), 777);
  const d = sha256d(h);
  assert.equal(m.searchNonces(h, d, 777, 1), 777, "digest == target meets");
  const below = d.slice();
  let i = 31;
  while (below[i] === 0) below[i--] = 0xff;
  below[i]--;
  assert.equal(m.searchNonces(h, below, 777, 1), null, "target one below the digest fails");
  const above = d.slice();
  above[31] = Math.min(255, above[31] + 1);
  if (above[31] !== d[31]) assert.equal(m.searchNonces(h, above, 777, 1), 777);
});

Deno.test("searchNonces returns null when nothing meets the target and counts hashes", async () => {
  const m = await miner();
  const before = m.hashCount;
  assert.equal(m.searchNonces(header(5), new Uint8Array(32), 0, 1001), null);
  assert.equal(m.hashCount - before, 1001);
  assert.equal(m.searchNonces(header(5), new Uint8Array(32), 5, 0), null);
});

Deno.test("searchNonces reaches the top of the nonce space and rejects ranges past it", async () => {
  const m = await miner();
  const h = header(77);
  const target = targetWithLeadingByte(0x3f);
  const top = 2 ** 32 - 64;
  assert.equal(m.searchNonces(h, target, top, 64), tsSearch(h, target, top, 64));
  assert.equal(
    m.searchNonces(h, targetWithLeadingByte(0xff), 2 ** 32 - 1, 1),
    2 ** 32 - 1,
  );
  assert.throws(() => m.searchNonces(h, target, 2 ** 32 - 1, 2), RangeError);
  assert.throws(() => m.searchNonces(h, target, -1, 2), RangeError);
  assert.throws(() => m.searchNonces(h, target, 1.5, 2), RangeError);
});

Deno.test("searchNonces rejects a header or target of the wrong length", async () => {
  const m = await miner();
  assert.throws(() => m.searchNonces(new Uint8Array(79), new Uint8Array(32), 0, 1), TypeError);
  assert.throws(() => m.searchNonces(new Uint8Array(80), new Uint8Array(31), 0, 1), TypeError);
  assert.throws(() => m.hashHeader(new Uint8Array(81)), TypeError);
});
