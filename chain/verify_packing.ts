/**
 * @module One buffer for a batch of signature checks, so a batch crosses to a worker thread as a
 * single transfer: per check `signature 64 | public key 33 | preimage length u32 LE | preimage`.
 */

/** One signature to verify: a compact signature by a compressed key over SHA-256(preimage). */
export interface SignatureCheck {
  /** 64-byte compact signature r || s. */
  signature: Uint8Array;
  /** The preimage p of the signed digest SHA-256(p). */
  preimage: Uint8Array;
  /** 33-byte compressed public key. */
  publicKey: Uint8Array;
}

/** True when a check has the lengths packing needs (64-byte signature, 33-byte key). */
export function isPackable(check: SignatureCheck): boolean {
  return check.signature instanceof Uint8Array && check.signature.length === 64 &&
    check.publicKey instanceof Uint8Array && check.publicKey.length === 33 &&
    check.preimage instanceof Uint8Array;
}

/** Packs checks that pass {@link isPackable} into one buffer. */
export function packChecks(checks: readonly SignatureCheck[]): Uint8Array {
  let size = 0;
  for (const c of checks) size += 64 + 33 + 4 + c.preimage.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of checks) {
    out.set(c.signature, at);
    out.set(c.publicKey, at + 64);
    view.setUint32(at + 97, c.preimage.length, true);
    out.set(c.preimage, at + 101);
    at += 101 + c.preimage.length;
  }
  return out;
}

/** The checks in a buffer made by {@link packChecks} (views into it, no copies). */
export function unpackChecks(packed: Uint8Array): SignatureCheck[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const checks: SignatureCheck[] = [];
  let at = 0;
  while (at < packed.length) {
    const length = view.getUint32(at + 97, true);
    checks.push({
      signature: packed.subarray(at, at + 64),
      publicKey: packed.subarray(at + 64, at + 97),
      preimage: packed.subarray(at + 101, at + 101 + length),
    });
    at += 101 + length;
  }
  return checks;
}
