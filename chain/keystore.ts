/**
 * @module Encrypted keystore: a secp256k1 secret key sealed with a passphrase (scrypt key derivation,
 * AES-256-GCM). The address and public key stay readable so a node can mine to a locked wallet.
 */

import { scryptAsync } from "@noble/hashes/scrypt.js";
import { fromHex, toHex } from "./bytes.ts";
import { CamelidError } from "./errors.ts";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "./keys.ts";

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

/** Raised for a wrong passphrase or a damaged keystore. */
export class KeystoreError extends CamelidError {}

const DEFAULT_N = 1 << 15;

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

/** Checks the shape of a parsed keystore file; throws `KeystoreError` (`keystore/malformed`). */
export function parseKeystore(json: unknown): KeystoreFile {
  const k = json as KeystoreFile;
  const ok = k && k.version === 1 && typeof k.address === "string" &&
    typeof k.publicKey === "string" &&
    k.kdf?.name === "scrypt" && Number.isInteger(k.kdf.N) && Number.isInteger(k.kdf.r) &&
    Number.isInteger(k.kdf.p) && typeof k.kdf.salt === "string" && typeof k.iv === "string" &&
    typeof k.ciphertext === "string";
  if (!ok) {
    throw new KeystoreError(
      "keystore/malformed",
      "keystore file is not a CamelidCoin keystore (version 1)",
    );
  }
  return k;
}

/** Opens a keystore: returns the secret key, or throws `KeystoreError` (`keystore/bad-passphrase`). */
export async function unlockKeystore(file: KeystoreFile, passphrase: string): Promise<Uint8Array> {
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
