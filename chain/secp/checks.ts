/**
 * @module The signature and key form rules that are ours, not a backend's: 64-byte compact
 * signatures with 1 <= r < n and 1 <= s <= n/2 (low-S), and 33-byte compressed keys (prefix 02/03,
 * x below the field prime). Every backend sees only inputs that pass them, so a backend's own
 * leniency or strictness on these points never decides a verdict.
 */

/** Group order n of secp256k1, 32 bytes big-endian. */
export const CURVE_ORDER: Uint8Array = hexBytes(
  "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
);
/** floor(n / 2): the largest s a low-S signature may carry. */
export const HALF_CURVE_ORDER: Uint8Array = hexBytes(
  "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
);
/** Field prime p of secp256k1, 32 bytes big-endian. */
export const FIELD_PRIME: Uint8Array = hexBytes(
  "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
);

/** Length of a compact signature (r || s). */
export const SIGNATURE_LENGTH = 64;
/** Length of a compressed public key. */
export const PUBLIC_KEY_LENGTH = 33;

/**
 * True when `signature` is 64 bytes with r in [1, n-1] and s in [1, n/2]. Both halves are read as
 * 32-byte big-endian integers and compared bytewise (no bigint on the hot path).
 */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  const r = signature.subarray(0, 32);
  const s = signature.subarray(32, 64);
  if (isZero(r) || isZero(s)) return false;
  return compare32(r, CURVE_ORDER) < 0 && compare32(s, HALF_CURVE_ORDER) <= 0;
}

/**
 * True when `publicKey` has the compressed form: 33 bytes, prefix 0x02 or 0x03, x < p. Whether x
 * is on the curve is left to the backend (each one rejects such keys; the cross-check test holds
 * them to it).
 */
export function isCompressedKeyForm(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (publicKey[0] !== 2 && publicKey[0] !== 3) return false;
  return compare32(publicKey.subarray(1), FIELD_PRIME) < 0;
}

/** Bytewise comparison of two 32-byte big-endian integers: negative, zero or positive. */
export function compare32(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}
