/**
 * @module Encrypted keystore: a secp256k1 secret key sealed with a passphrase (scrypt key derivation,
 * AES-256-GCM). The address and public key stay readable so a node can mine to a locked wallet.
 */

import { scryptAsync } from "@noble/hashes/scrypt.js";
import { fromHex, toHex } from "./bytes.ts";
import { CamelidError } from "./errors.ts";
import { addressFromPublicKey, generateSecretKey, isValidPublicKey, publicKeyOf } from "./keys.ts";

/** The JSON form of a keystore file. */
export interface KeystoreFile {
  /** Format version (1). */
  version: 1;
  /** Address of the key. */
  address: string;
  /** Compressed public key, hex. */
  publicKey: string;
  /** Key derivation parameters. */
  kdf: { name: "scrypt"; N: number; r: number; p: number; salt: string };
  /** AES-256-GCM nonce, hex. */
  iv: string;
  /** Encrypted secret key with the GCM tag, hex. */
  ciphertext: string;
}

/**
 * Raised for a wrong passphrase or a damaged keystore: `keystore/malformed`, `keystore/bad-kdf`,
 * `keystore/bad-passphrase`, `keystore/mismatch`.
 */
export class KeystoreError extends CamelidError {}

const DEFAULT_N = 1 << 15;

/**
 * The scrypt parameters a keystore may carry. We write N = 2^15, r = 8, p = 1; a file is read with
 * N a power of two from 2^14 to 2^16 (16 to 64 MiB, well under a second), r = 8 and p = 1, so an
 * edited or hostile file cannot make unlocking take gigabytes or hours.
 */
export const KDF_LIMITS = { minLog2N: 14, maxLog2N: 16, r: 8, p: 1, saltBytes: 16 } as const;

/** Throws `KeystoreError` `keystore/bad-kdf` unless `kdf` is within {@link KDF_LIMITS}. */
export function checkKdfParams(kdf: { N: number; r: number; p: number }): void {
  const { minLog2N, maxLog2N, r, p } = KDF_LIMITS;
  const log2N = Math.log2(kdf.N);
  if (!Number.isInteger(log2N) || log2N < minLog2N || log2N > maxLog2N) {
    throw new KeystoreError(
      "keystore/bad-kdf",
      `keystore scrypt N = ${kdf.N} is not allowed (a power of two from 2^${minLog2N} to 2^${maxLog2N})`,
    );
  }
  if (kdf.r !== r || kdf.p !== p) {
    throw new KeystoreError(
      "keystore/bad-kdf",
      `keystore scrypt r = ${kdf.r}, p = ${kdf.p} are not allowed (r must be ${r}, p must be ${p})`,
    );
  }
}

async function deriveKey(passphrase: string, kdf: KeystoreFile["kdf"]): Promise<CryptoKey> {
  const raw = await scryptAsync(new TextEncoder().encode(passphrase), fromHex(kdf.salt), {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    dkLen: 32,
  });
  return crypto.subtle.importKey("raw", new Uint8Array(raw), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Seals `secretKey` (a new random one by default) under `passphrase`. */
export async function createKeystore(
  passphrase: string,
  secretKey: Uint8Array = generateSecretKey(),
  N = DEFAULT_N,
): Promise<KeystoreFile> {
  if (typeof passphrase !== "string") throw new TypeError("passphrase must be a string");
  checkKdfParams({ N, r: KDF_LIMITS.r, p: KDF_LIMITS.p });
  const publicKey = publicKeyOf(secretKey);
  const kdf = {
    name: "scrypt" as const,
    N,
    r: 8,
    p: 1,
    salt: toHex(crypto.getRandomValues(new Uint8Array(16))),
  };
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, kdf);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(secretKey)),
  );
  return {
    version: 1,
    address: addressFromPublicKey(publicKey),
    publicKey: toHex(publicKey),
    kdf,
    iv: toHex(iv),
    ciphertext: toHex(ct),
  };
}

const isHex = (v: unknown, bytes: number) =>
  typeof v === "string" && v.length === bytes * 2 && /^[0-9a-f]*$/.test(v);

/**
 * Checks a parsed keystore file: its shape, hex field lengths, that the address is the public key's,
 * and the KDF parameters. Throws `KeystoreError` `keystore/malformed` or `keystore/bad-kdf`.
 */
export function parseKeystore(json: unknown): KeystoreFile {
  const malformed = (what: string) =>
    new KeystoreError(
      "keystore/malformed",
      `keystore file is not a CamelidCoin keystore (version 1): ${what}`,
    );
  const k = json as KeystoreFile;
  if (!k || typeof k !== "object" || k.version !== 1) throw malformed("no version 1");
  if (
    !isHex(k.publicKey, 33) || !isValidPublicKey(fromHex(k.publicKey)) ||
    k.address !== addressFromPublicKey(fromHex(k.publicKey))
  ) {
    throw malformed("the address and public key do not belong together");
  }
  const kdf = k.kdf;
  if (
    !kdf || typeof kdf !== "object" || kdf.name !== "scrypt" ||
    !isHex(kdf.salt, KDF_LIMITS.saltBytes) ||
    ![kdf.N, kdf.r, kdf.p].every((v) => typeof v === "number")
  ) {
    throw malformed("bad kdf section");
  }
  checkKdfParams(kdf);
  if (!isHex(k.iv, 12) || !isHex(k.ciphertext, 32 + 16)) throw malformed("bad iv or ciphertext");
  return k;
}

/** Opens a keystore: returns the secret key, or throws `KeystoreError` (`keystore/bad-passphrase`). */
export async function unlockKeystore(file: KeystoreFile, passphrase: string): Promise<Uint8Array> {
  checkKdfParams(file.kdf);
  const key = await deriveKey(passphrase, file.kdf);
  let secret: Uint8Array;
  try {
    secret = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: new Uint8Array(fromHex(file.iv)) },
        key,
        new Uint8Array(fromHex(file.ciphertext)),
      ),
    );
  } catch {
    throw new KeystoreError(
      "keystore/bad-passphrase",
      "wrong passphrase (or the keystore is damaged)",
    );
  }
  if (toHex(publicKeyOf(secret)) !== file.publicKey) {
    throw new KeystoreError("keystore/mismatch", "keystore secret does not match its public key");
  }
  return secret;
}
