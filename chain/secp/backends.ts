/**
 * @module The secp256k1 ECDSA verification backends: native `node:crypto` (Deno's Rust crypto,
 * Node's OpenSSL), `tiny-secp256k1` (libsecp256k1 compiled to WASM: browsers) and
 * `@noble/secp256k1` (pure JavaScript: the fallback). Each verifies a compact signature over SHA-256(preimage): node:crypto
 * has no raw-digest mode and hashes what it is given, so the protocol signs digests whose SHA-256
 * preimage the verifier holds. Backends apply no policy of their own that matters: callers go
 * through chain/signature.ts, which checks the form first.
 */

import * as noble from "@noble/secp256k1";
import { sha256 } from "../hash.ts";
import { nodeCrypto } from "../native_crypto.ts";

/** Names of the backends. */
export type BackendName = "native" | "tiny-secp256k1" | "noble";

/** One way to verify secp256k1 ECDSA. */
export interface SignatureBackend {
  /** Which implementation this is. */
  readonly name: BackendName;
  /**
   * Verifies a 64-byte compact signature by a 33-byte compressed key over SHA-256(`preimage`).
   * Returns false, never throws, for any input the backend refuses.
   */
  verify(signature: Uint8Array, preimage: Uint8Array, publicKey: Uint8Array): boolean;
}

/** DER prefix of a SubjectPublicKeyInfo holding a compressed secp256k1 point (id-ecPublicKey, secp256k1). */
export const SPKI_PREFIX: Uint8Array = Uint8Array.from(
  "3036301006072a8648ce3d020106052b8104000a032200".match(/../g)!,
  (h) => parseInt(h, 16),
);

/** Largest number of imported native keys kept (cleared whole when full). */
const NATIVE_KEY_CACHE_SIZE = 4096;

/** A known-good case every backend must accept before it is used: key of secret 1, preimage 32 x 0x01. */
const SELF_TEST = {
  preimage: new Uint8Array(32).fill(1),
  publicKey: hex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
  signature: hex(
    "5d2a4c2ef9b84a5d0ef6b59ac85714eac3c8c1e95689831171182ffc13b6fd81" +
      "382f31485f24e50d73b8404662c353e47c3b3147f2cd9611aee4389d1663ea9b",
  ),
};

/** The pure-JavaScript backend (`@noble/secp256k1`), available everywhere. */
export function nobleBackend(): SignatureBackend {
  return {
    name: "noble",
    verify(signature, preimage, publicKey) {
      try {
        return noble.verify(signature, sha256(preimage), publicKey, {
          prehash: false,
          lowS: true,
        });
      } catch {
        return false;
      }
    },
  };
}

/** The libsecp256k1-in-WASM backend (`tiny-secp256k1`), or undefined where it cannot load. */
export async function loadTinyBackend(): Promise<SignatureBackend | undefined> {
  let tiny: typeof import("tiny-secp256k1");
  try {
    tiny = await import("tiny-secp256k1");
  } catch {
    return undefined;
  }
  return selfTested({
    name: "tiny-secp256k1",
    verify(signature, preimage, publicKey) {
      try {
        return tiny.verify(sha256(preimage), publicKey, signature, true);
      } catch {
        return false;
      }
    },
  });
}

/** The native backend (`node:crypto`), or undefined where there is none or it lacks secp256k1. */
export function loadNativeBackend(): SignatureBackend | undefined {
  if (!nodeCrypto) return undefined;
  const native = nodeCrypto;
  const keys = new Map<string, import("node:crypto").KeyObject>();
  const keyObject = (publicKey: Uint8Array) => {
    const id = String.fromCharCode.apply(null, publicKey as unknown as number[]);
    let key = keys.get(id);
    if (!key) {
      const der = new Uint8Array(SPKI_PREFIX.length + publicKey.length);
      der.set(SPKI_PREFIX);
      der.set(publicKey, SPKI_PREFIX.length);
      key = native.createPublicKey({ key: der as never, format: "der", type: "spki" });
      if (keys.size >= NATIVE_KEY_CACHE_SIZE) keys.clear();
      keys.set(id, key);
    }
    return key;
  };
  return selfTested({
    name: "native",
    verify(signature, preimage, publicKey) {
      try {
        const key = keyObject(publicKey);
        return native.verify("sha256", preimage, { key, dsaEncoding: "ieee-p1363" }, signature);
      } catch {
        return false;
      }
    },
  });
}

/** The backend if it accepts the self-test signature and refuses it over another preimage. */
function selfTested(backend: SignatureBackend): SignatureBackend | undefined {
  const { signature, preimage, publicKey } = SELF_TEST;
  const ok = backend.verify(signature, preimage, publicKey) &&
    !backend.verify(signature, new Uint8Array(32), publicKey);
  return ok ? backend : undefined;
}

function hex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
}
