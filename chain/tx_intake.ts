/**
 * @module Transaction intake: admission to the mempool with orphan handling, after Bitcoin Core's
 * ProcessOrphanTx. A transaction whose parents are unknown is held in the orphan pool
 * (chain/orphan_pool.ts); each admitted transaction, and each connected block, brings its waiting
 * children in again, recursively.
 */

import type { Block } from "./block.ts";
import { toHex } from "./bytes.ts";
import { type MempoolEntry, outpointKey } from "./mempool.ts";
import { MissingInputsError, type PreparedAdmission } from "./mempool_accept.ts";
import { type OrphanLimits, OrphanPool } from "./orphan_pool.ts";
import { decodeTransaction, txid } from "./tx.ts";

/** What became of a submitted transaction. */
export interface TxResult {
  /** Txid. */
  txid: string;
  /** mempool: admitted; orphan: held until its missing parents arrive (or it expires). */
  status: "mempool" | "orphan";
  /** With `orphan`: the parents still missing. */
  missingParents?: string[];
}

/**
 * Admits a transaction's bytes to the mempool, reusing `prepared` (what `prepareAdmission` returned
 * for these bytes) when given.
 */
export type Admit = (bytes: Uint8Array, prepared?: PreparedAdmission) => Promise<MempoolEntry>;

/** Admission with an orphan pool in front of the mempool. */
export class TxIntake {
  /** Transactions waiting for parents. */
  readonly orphans: OrphanPool;
  readonly #accept: Admit;
  readonly #announce: (txid: string) => void;

  /** Admits with `accept` (the caller holds the chain lock) and announces admitted txids. */
  constructor(
    accept: Admit,
    announce: (txid: string) => void,
    limits?: Partial<OrphanLimits>,
  ) {
    this.#accept = accept;
    this.#announce = announce;
    this.orphans = new OrphanPool(limits);
  }

  /**
   * Admits `bytes`, or, when a `source` is named (a client address or a peer), holds it as an
   * orphan when only its parents are missing; then admits the orphans waiting for it. Throws what
   * admission throws otherwise (`tx/missing-inputs` for an orphan without a source, as Core's
   * `sendrawtransaction`: a local caller retries, nobody else will send it). `prepared`, what
   * `prepareAdmission` returned for these `bytes`, is handed to admission.
   */
  async submit(
    bytes: Uint8Array,
    source?: string,
    prepared?: PreparedAdmission,
  ): Promise<TxResult> {
    let entry: MempoolEntry;
    try {
      entry = await this.#accept(bytes, prepared);
    } catch (e) {
      if (!(e instanceof MissingInputsError) || source === undefined) throw e;
      const tx = decodeTransaction(bytes);
      const id = txid(tx);
      if (!this.orphans.add(id, tx, bytes, e.parents, source)) throw e;
      return { txid: id, status: "orphan", missingParents: e.parents };
    }
    this.#announce(entry.txid);
    await this.admitChildrenOf([entry.txid]);
    return { txid: entry.txid, status: "mempool" };
  }

  /** Tries again every orphan waiting for one of `parents`, and then for those admitted. */
  async admitChildrenOf(parents: string[]): Promise<void> {
    const queue = [...parents];
    while (queue.length) {
      for (const o of this.orphans.childrenOf(queue.shift()!)) {
        this.orphans.remove(o.txid);
        try {
          const entry = await this.#accept(o.bytes);
          this.#announce(entry.txid);
          queue.push(entry.txid);
        } catch (e) {
          // Still waiting for another parent: held again; any other refusal drops it.
          if (e instanceof MissingInputsError) {
            this.orphans.add(o.txid, decodeTransaction(o.bytes), o.bytes, e.parents, o.source);
          }
        }
      }
    }
  }

  /**
   * After `block` connected: drops orphans conflicting with it, admits those it was missing.
   * `txids` are the block's txids in order (hashed here when not given).
   */
  blockConnected(block: Block, txids: string[] = block.txs.map(txid)): Promise<void> {
    const spent = block.txs.slice(1).flatMap((tx) =>
      tx.inputs.map((i) => outpointKey(toHex(i.prevout.txid), i.prevout.vout))
    );
    this.orphans.removeSpending(spent);
    return this.admitChildrenOf(txids);
  }
}
