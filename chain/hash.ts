/**
 * @module Hash helpers: SHA-256, SHA-256d, HASH160 (RIPEMD160 of SHA-256). SHA-256 of inputs from
 * {@link NATIVE_SHA256_MIN} bytes up runs on the runtime's native `node:crypto` where there is one
 * (about 15x faster on a 1 MB block here); shorter inputs, and runtimes without it, use noble.
 * Both give the same bytes.
 */

import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { nodeCrypto } from "./native_crypto.ts";

/** Inputs at least this long are hashed natively (below it the native call costs more). */
export const NATIVE_SHA256_MIN = 256;

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  if (nodeCrypto && data.length >= NATIVE_SHA256_MIN) return nativeSha256(data, nodeCrypto);
  return nobleSha256(data);
}

/** SHA-256 of the concatenation of `parts`, without building it. */
export function sha256Concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  if (nodeCrypto && total >= NATIVE_SHA256_MIN) {
    const h = nodeCrypto.createHash("sha256");
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 through `node:crypto`, as a plain Uint8Array (exported for the cross-check test). */
export function nativeSha256(
  data: Uint8Array,
  crypto: typeof import("node:crypto"),
): Uint8Array {
  return new Uint8Array(crypto.createHash("sha256").update(data).digest());
}

/** Double SHA-256 (Bitcoin's hash for txids, block hashes and job ids). */
export function sha256d(data: Uint8Array): Uint8Array {
  return nobleSha256(sha256(data));
}

/** RIPEMD160(SHA256(data)): the 20-byte hash inside an address. */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(nobleSha256(data));
}
