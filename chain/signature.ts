/**
 * @module The one secp256k1 signature verification API. Every signed digest in the protocol is
 * d = SHA-256(p) for a preimage p the verifier holds (for SHA-256d digests, p is the single
 * SHA-256), and verifiers are handed p. The backend is chosen once, at load: native `node:crypto`
 * in Deno and Node, `tiny-secp256k1` (WASM) elsewhere, `@noble/secp256k1` as the fallback. The form
 * rules (64-byte r || s with 1 <= r < n, 1 <= s <= n/2; 33-byte compressed key, x < p) are checked
 * here for every backend, so a verdict never depends on which backend ran.
 */

import { isCanonicalSignature, isCompressedKeyForm } from "./secp/checks.ts";
import {
  loadNativeBackend,
  loadTinyBackend,
  nobleBackend,
  type SignatureBackend,
} from "./secp/backends.ts";

export type { BackendName, SignatureBackend } from "./secp/backends.ts";

/** The backend this process verifies with, chosen at load. */
export const signatureBackend: SignatureBackend = await chooseBackend();

/**
 * Verifies a compact 64-byte low-S signature by a compressed key over SHA-256(`preimage`). Returns
 * false, never throws, for a malformed, high-S or out-of-range signature, a malformed or off-curve
 * key, or a signature that does not verify.
 */
export function verifySignature(
  signature: Uint8Array,
  preimage: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  return verifyWithBackend(signatureBackend, signature, preimage, publicKey);
}

/** {@link verifySignature} through a given backend (the form rules apply alike). */
export function verifyWithBackend(
  backend: SignatureBackend,
  signature: Uint8Array,
  preimage: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (!(preimage instanceof Uint8Array)) return false;
  if (!isCanonicalSignature(signature) || !isCompressedKeyForm(publicKey)) return false;
  return backend.verify(signature, preimage, publicKey);
}

/** Every backend that loads here, native first (the cross-check test and the bench run them all). */
export async function availableBackends(): Promise<SignatureBackend[]> {
  const loaded = [loadNativeBackend(), await loadTinyBackend(), nobleBackend()];
  return loaded.filter((b): b is SignatureBackend => b !== undefined);
}

async function chooseBackend(): Promise<SignatureBackend> {
  return loadNativeBackend() ?? (await loadTinyBackend()) ?? nobleBackend();
}
