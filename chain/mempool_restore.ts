/**
 * @module Restoring the mempool saved at the last stop (Bitcoin's mempool.dat) in the background:
 * the saved transactions are re-admitted one at a time, each through the caller's admission (which
 * takes the chain lock), so the node serves while it restores; a stop cuts the restore short and
 * hands back what was not yet re-admitted, to be saved again.
 */

import { getLogger } from "@logtape/logtape";
import type { ChainStore } from "./store.ts";

const log = getLogger(["camelid", "chain"]);

/** One background restore of the saved mempool. */
export class MempoolRestore {
  /** Resolves when the restore has finished or stopped. */
  readonly done: Promise<void>;
  #running = true;
  #cancelled = false;
  #left: Uint8Array[] = [];

  /** Starts restoring from `store`, admitting each saved transaction with `admit`. */
  constructor(store: ChainStore, admit: (bytes: Uint8Array) => Promise<unknown>) {
    this.done = this.#run(store, admit)
      .catch((e) => log.error("Mempool restore failed: {error}", { error: String(e) }))
      .finally(() => this.#running = false);
  }

  /** True until every saved transaction was tried (or the restore stopped). */
  get running(): boolean {
    return this.#running;
  }

  async #run(store: ChainStore, admit: (bytes: Uint8Array) => Promise<unknown>): Promise<void> {
    const saved = await store.savedMempool();
    this.#left = saved.txs.slice();
    let back = 0;
    while (this.#left.length && !this.#cancelled) {
      if (await admit(this.#left.shift()!).then(() => true, () => false)) back++;
    }
    if (!this.#cancelled) await saved.forget();
    if (saved.txs.length) {
      log.info("Restored {back} of {n} mempool transactions", { back, n: saved.txs.length });
    }
  }

  /** Stops after the transaction in progress; returns those not yet re-admitted, oldest first. */
  async stop(): Promise<Uint8Array[]> {
    this.#cancelled = true;
    await this.done;
    return this.#left;
  }
}
