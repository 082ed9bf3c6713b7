/**
 * @module One spender at a time per wallet file: an exclusive lock on `<wallet>.lock` held while a
 * process chooses coins and broadcasts the spend, so processes sharing a wallet never build two
 * spends of one coin (the next one sees the first spend in the mempool). The operating system drops
 * the lock when the holder exits or is killed, so it never outlives a process.
 */

/** Path of the lock file of a wallet file. */
export function walletLockPath(walletFile: string): string {
  return `${walletFile}.lock`;
}

/** A spend lock for the job client: runs `spend` holding the wallet's lock file exclusively. */
export function walletSpendLock(walletFile: string): <T>(spend: () => Promise<T>) => Promise<T> {
  return async <T>(spend: () => Promise<T>): Promise<T> => {
    const file = await Deno.open(walletLockPath(walletFile), { create: true, write: true });
    try {
      await file.lock(true);
      return await spend();
    } finally {
      file.close(); // closing releases the lock
    }
  };
}
