/**
 * @module Discrete-log-equality proofs (Chaum-Pedersen) on secp256k1, and the ECIES decryption they
 * enable. A client proves that a revealed point S = c·E uses the same secret c as its public key
 * C = c·G, without revealing c; anyone can then derive the ECIES key of a ciphertext whose ephemeral
 * key is E (eciesjs layout: E 65 || nonce 16 || tag 16 || data; key = HKDF-SHA256(E || S)) and decrypt it.
 */

import * as secp from "@noble/secp256k1";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "./bytes.ts";

const TAG = new TextEncoder().encode("camelid/dleq");
/** Length of a proof: R1 (33) || R2 (33) || z (32). */
export const DLEQ_PROOF_LENGTH = 98;
/** Length of an eciesjs ephemeral key (uncompressed). */
export const ECIES_EPHEMERAL_LENGTH = 65;

const N = secp.Point.CURVE().n;

function mod(a: bigint): bigint {
  const r = a % N;
  return r < 0n ? r + N : r;
}

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function to32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function challenge(
  C: Uint8Array,
  E: Uint8Array,
  S: Uint8Array,
  R1: Uint8Array,
  R2: Uint8Array,
): bigint {
  return mod(toBig(sha256(concatBytes(TAG, C, E, S, R1, R2))));
}

/** The shared point S = secret·E (65 bytes, uncompressed) and a proof that it matches secret·G. */
export function proveSharedPoint(
  secret: Uint8Array,
  ephemeral: Uint8Array,
): { shared: Uint8Array; proof: Uint8Array } {
  const c = toBig(secret);
  const E = secp.Point.fromBytes(ephemeral);
  const S = E.multiply(c);
  const C = secp.Point.BASE.multiply(c).toBytes(true);
  const k = mod(toBig(secp.utils.randomSecretKey()));
  const R1 = secp.Point.BASE.multiply(k).toBytes(true);
  const R2 = E.multiply(k).toBytes(true);
  const shared = S.toBytes(false);
  const e = challenge(C, E.toBytes(false), shared, R1, R2);
  const z = mod(k + e * c);
  return { shared, proof: concatBytes(R1, R2, to32(z)) };
}

/** True when `proof` shows log_G(publicKey) = log_E(shared). Malformed input gives false. */
export function verifySharedPoint(
  publicKey: Uint8Array,
  ephemeral: Uint8Array,
  shared: Uint8Array,
  proof: Uint8Array,
): boolean {
  try {
    if (proof.length !== DLEQ_PROOF_LENGTH || shared.length !== 65) return false;
    const C = secp.Point.fromBytes(publicKey);
    const E = secp.Point.fromBytes(ephemeral);
    const S = secp.Point.fromBytes(shared);
    const R1 = secp.Point.fromBytes(proof.subarray(0, 33));
    const R2 = secp.Point.fromBytes(proof.subarray(33, 66));
    const z = toBig(proof.subarray(66));
    if (z === 0n || z >= N) return false;
    const e = challenge(
      C.toBytes(true),
      E.toBytes(false),
      S.toBytes(false),
      R1.toBytes(true),
      R2.toBytes(true),
    );
    const left1 = secp.Point.BASE.multiply(z);
    const left2 = E.multiply(z);
    const right1 = e === 0n ? R1 : R1.add(C.multiply(e));
    const right2 = e === 0n ? R2 : R2.add(S.multiply(e));
    return left1.equals(right1) && left2.equals(right2);
  } catch {
    return false;
  }
}

/**
 * Decrypts an eciesjs ciphertext given the shared point instead of the receiver's secret. Resolves
 * the plaintext, or null when the ciphertext does not authenticate under that key.
 */
export async function decryptWithSharedPoint(
  ciphertext: Uint8Array,
  shared: Uint8Array,
): Promise<Uint8Array | null> {
  if (ciphertext.length < ECIES_EPHEMERAL_LENGTH + 32) return null;
  const ephemeral = ciphertext.subarray(0, ECIES_EPHEMERAL_LENGTH);
  const keyBytes = hkdf(sha256, concatBytes(ephemeral, shared), undefined, undefined, 32);
  const nonce = ciphertext.slice(ECIES_EPHEMERAL_LENGTH, ECIES_EPHEMERAL_LENGTH + 16);
  const tag = ciphertext.subarray(ECIES_EPHEMERAL_LENGTH + 16, ECIES_EPHEMERAL_LENGTH + 32);
  const data = ciphertext.subarray(ECIES_EPHEMERAL_LENGTH + 32);
  const key = await crypto.subtle.importKey("raw", new Uint8Array(keyBytes), "AES-GCM", false, [
    "decrypt",
  ]);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce },
        key,
        concatBytes(data, tag) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    return null;
  }
}
