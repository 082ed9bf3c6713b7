/**
 * @module The page's IndexedDB (through `idb`): the wallet's keystore (encrypted; the secret key is
 * never stored in the clear) and the model chunks fetched for local verification (checked before
 * they are kept).
 */

import { type DBSchema, type IDBPDatabase, openDB } from "idb";
import type { KeystoreFile } from "../../chain/keystore.ts";

interface PageDb extends DBSchema {
  wallet: { key: string; value: KeystoreFile };
  chunks: { key: string; value: Uint8Array };
}

let db: Promise<IDBPDatabase<PageDb>> | null = null;

function open(): Promise<IDBPDatabase<PageDb>> {
  db ??= openDB<PageDb>("camelid-page", 1, {
    upgrade(d) {
      d.createObjectStore("wallet");
      d.createObjectStore("chunks");
    },
  });
  return db;
}

/** The stored keystore, if any. */
export async function loadKeystore(): Promise<KeystoreFile | undefined> {
  return (await open()).get("wallet", "main");
}

/** Stores `ks` as the page's wallet. */
export async function saveKeystore(ks: KeystoreFile): Promise<void> {
  await (await open()).put("wallet", ks, "main");
}

/** Forgets the page's wallet. */
export async function deleteKeystore(): Promise<void> {
  await (await open()).delete("wallet", "main");
}

/** A cached chunk of model `id`. */
export async function loadChunk(id: string, index: number): Promise<Uint8Array | undefined> {
  return (await open()).get("chunks", `${id}:${index}`);
}

/** Caches a checked chunk of model `id`. */
export async function saveChunk(id: string, index: number, bytes: Uint8Array): Promise<void> {
  await (await open()).put("chunks", bytes, `${id}:${index}`);
}
