/**
 * @module secp256k1 keys, compact low-S signing (deterministic RFC 6979 nonces, in JavaScript) and
 * Base58Check addresses (Bitcoin P2PKH form). Verification lives in chain/signature.ts.
 */

import * as secp from "@noble/secp256k1";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import bs58check from "bs58check";
import { hash160, sha256 } from "./hash.ts";
import { DecodeError } from "./errors.ts";
import { equalBytes } from "./bytes.ts";

secp.hashes.sha256 = nobleSha256;
secp.hashes.hmacSha256 = (key: Uint8Array, msg: Uint8Array) => hmac(nobleSha256, key, msg);

/** Version byte of an address: 0x00, as Bitcoin mainnet P2PKH. */
export const ADDRESS_VERSION = 0x00;

/** A fresh random 32-byte secret key. */
export function generateSecretKey(): Uint8Array {
  return secp.utils.randomSecretKey();
}

/** The 33-byte compressed SEC1 public key of `secretKey`. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  assertLength(secretKey, 32, "secret key");
  return secp.getPublicKey(secretKey, true);
}

/** Signs a 32-byte digest: compact 64-byte low-S ECDSA with RFC 6979 nonces. */
export function signDigest(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertLength(digest, 32, "digest");
  assertLength(secretKey, 32, "secret key");
  return secp.sign(digest, secretKey, { prehash: false, lowS: true });
}

/**
 * Signs SHA-256(`preimage`), the form every protocol digest takes so that verifiers can be handed
 * the preimage (see chain/signature.ts): compact 64-byte low-S ECDSA with RFC 6979 nonces.
 */
export function signPreimage(preimage: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return signDigest(sha256(preimage), secretKey);
}

export { verifySignature } from "./signature.ts";

/** True when `publicKey` is a valid 33-byte compressed point. */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 33) return false;
  try {
    secp.Point.fromBytes(publicKey);
    return true;
  } catch {
    return false;
  }
}

/** The address of a compressed public key: Base58Check(0x00 || RIPEMD160(SHA256(pubkey))). */
export function addressFromPublicKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError("publicKey must be a Uint8Array");
  if (publicKey.length !== 33 || (publicKey[0] !== 2 && publicKey[0] !== 3)) {
    throw new RangeError(
      `publicKey must be a 33-byte compressed key, got ${publicKey.length} bytes`,
    );
  }
  return addressFromHash(hash160(publicKey));
}

/** The address of a 20-byte public key hash. */
export function addressFromHash(pubKeyHash: Uint8Array): string {
  assertLength(pubKeyHash, 20, "public key hash");
  const payload = new Uint8Array(21);
  payload[0] = ADDRESS_VERSION;
  payload.set(pubKeyHash, 1);
  return bs58check.encode(payload);
}

/**
 * Decodes an address to its 20-byte public key hash. Throws `DecodeError` with code
 * `address/invalid` (bad Base58 or checksum), `address/length` or `address/version`.
 */
export function decodeAddress(address: string): Uint8Array {
  if (typeof address !== "string") throw new TypeError("address must be a string");
  let payload: Uint8Array;
  try {
    payload = bs58check.decode(address);
  } catch {
    throw new DecodeError(
      "address/invalid",
      `not a valid Base58Check address: "${address.slice(0, 64)}"`,
    );
  }
  if (payload.length !== 21) {
    throw new DecodeError(
      "address/length",
      `address payload must be 21 bytes, got ${payload.length}`,
    );
  }
  if (payload[0] !== ADDRESS_VERSION) {
    throw new DecodeError(
      "address/version",
      `unknown address version 0x${payload[0].toString(16)}`,
    );
  }
  return payload.slice(1);
}

/** True when `publicKey` hashes to `pubKeyHash`. */
export function publicKeyMatchesHash(publicKey: Uint8Array, pubKeyHash: Uint8Array): boolean {
  return equalBytes(hash160(publicKey), pubKeyHash);
}

function assertLength(bytes: Uint8Array, n: number, what: string): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (bytes.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${bytes.length}`);
}
