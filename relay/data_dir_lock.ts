/**
 * @module One process per data directory: an exclusive advisory lock (flock) on `<data-dir>/.lock`,
 * like bitcoind's. The kernel drops the lock when the process dies, so it never outlives a killed
 * node; the pid written into the file is only for the message a second process prints.
 */

import { CamelidError } from "../chain/errors.ts";

/** Raised when another process holds the data directory (`datadir/locked`). */
export class DataDirLockError extends CamelidError {}

/** A held data-directory lock. */
export interface DataDirLock {
  /** Path of the lock file. */
  path: string;
  /** Releases the lock (the process exiting releases it too). */
  release(): void;
}

/** Path of the lock file of a data directory. */
export function lockPathOf(dataDir: string): string {
  return `${dataDir}/.lock`;
}

/**
 * Takes the exclusive lock of `dataDir` (created when missing), or throws `DataDirLockError`
 * `datadir/locked` naming the process that holds it. Never waits.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await Deno.mkdir(dataDir, { recursive: true });
  const path = lockPathOf(dataDir);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let locked = false;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw e;
  }
  if (!locked) {
    let holder = "";
    try {
      const pid = (await Deno.readTextFile(path)).trim();
      if (/^\d+$/.test(pid)) holder = ` (process ${pid})`;
    } catch { /* unreadable: name no process */ }
    file.close();
    throw new DataDirLockError(
      "datadir/locked",
      `data directory ${dataDir} is in use by another CamelidCoin process${holder}; stop it or use another --data-dir`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  return {
    path,
    release: () => {
      if (released) return;
      released = true;
      file.close(); // closing the descriptor drops the flock
    },
  };
}
