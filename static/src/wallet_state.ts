/**
 * @module The page's wallet, shared by views: the keystore from IndexedDB, and unlocking it with a
 * passphrase each time something is signed (the secret key is dropped after use).
 */

import { useEffect, useState } from "preact/hooks";
import { type KeystoreFile, unlockKeystore } from "../../chain/keystore.ts";
import { loadKeystore } from "./store.ts";

let current: KeystoreFile | null | undefined = undefined;
const listeners = new Set<(k: KeystoreFile | null) => void>();

/** Sets the page's keystore (after create, import or delete) and tells every view. */
export function setKeystore(ks: KeystoreFile | null): void {
  current = ks;
  for (const l of listeners) l(ks);
}

/** The page's keystore: undefined while loading, null when there is none. */
export function useKeystore(): KeystoreFile | null | undefined {
  const [ks, setKs] = useState(current);
  useEffect(() => {
    listeners.add(setKs);
    if (current === undefined) {
      loadKeystore().then((k) => setKeystore(k ?? null), () => setKeystore(null));
    }
    return () => void listeners.delete(setKs);
  }, []);
  return ks;
}

/** Unlocks `ks` with `passphrase` (throws `keystore/bad-passphrase`). */
export function unlock(ks: KeystoreFile, passphrase: string): Promise<Uint8Array> {
  return unlockKeystore(ks, passphrase);
}
