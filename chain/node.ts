/**
 * @module ChainNode: the full node's face over its parts. It opens (and, from a pending marker,
 * recovers) the store, checks the UTXO set against the chain (chain/utxo_check.ts), loads the block
 * index, restores the saved mempool in the background, holds orphan blocks briefly, runs blocks and
 * transactions one at a time through the chain state (chain/chainstate.ts) and transaction intake
 * (chain/tx_intake.ts, with orphan transactions), keeps side blocks within bounds
 * (chain/side_blocks.ts), and answers queries from the index (chain/block_index.ts) and the store
 * (chain/store.ts).
 */

import { getLogger } from "@logtape/logtape";
import { type Block, blockHash, decodeBlock } from "./block.ts";
import { BlockIndex, type IndexEntry } from "./block_index.ts";
import { toHex } from "./bytes.ts";
import { type BlockResult, ChainState } from "./chainstate.ts";
import { CoinWriteCounter } from "./coin_writes.ts";
import { CamelidError, ValidationError } from "./errors.ts";
import { Mempool, type MempoolOptions } from "./mempool.ts";
import { prepareAdmission } from "./mempool_accept.ts";
import { MempoolRestore } from "./mempool_restore.ts";
import type { OrphanLimits } from "./orphan_pool.ts";
import type { NetworkParams } from "./params.ts";
import { blockWork } from "./pow.ts";
import { SideBlocks, workThreshold } from "./side_blocks.ts";
import { prevalidateBlockSignatures } from "./sig_batch.ts";
import type { FraudChecker } from "./spend.ts";
import type { WeightsOracle } from "./report_rules.ts";
import { ChainStore } from "./store.ts";
import { encodeTransaction, type Transaction } from "./tx.ts";
import type { TxFate } from "./tx_fates.ts";
import { TxIntake, type TxResult } from "./tx_intake.ts";
import { checkUtxoSet, type UtxoCheckReport } from "./utxo_check.ts";
import { checkBlock, type Coin } from "./validation.ts";

const log = getLogger(["camelid", "chain"]);

/** Options of {@link ChainNode.open}. */
export interface ChainNodeOptions {
  /** Network parameters. */
  params: NetworkParams;
  /** Open KV database. */
  kv: Deno.Kv;
  /** Mempool size bound in bytes. */
  mempoolBytes?: number;
  /** Further mempool options (fee floor half-life, clock). */
  mempool?: Omit<MempoolOptions, "maxBytes" | "incrementalFeeRate">;
  /** Bounds of the orphan transaction pool. */
  orphanLimits?: Partial<OrphanLimits>;
  /** Bound on the bytes of stored side blocks (default 16 MB). */
  sideBlockBytes?: number;
  /** Minimum relay fee, base units per byte. */
  minRelayFeeRate?: number;
  /** Clock in Unix seconds (tests). */
  now?: () => number;
  /** Decides stake fraud proofs (needs the model); without one, no fraud proof is accepted. */
  fraudChecker?: FraudChecker;
  /**
   * Makes the oracle of a sprint's chain-derived weights over this node (verifier-wasm/
   * weights_oracle.ts `chainWeightsOracle`), for user reports' votes; without it no VOTES spend is
   * accepted.
   */
  weightsOracle?: (chain: ChainNode) => WeightsOracle;
  /** Fault injection for crash tests: called between the commits of a multi-commit connect. */
  onCommitStep?: (step: string) => void;
}

/** A confirmed or unconfirmed transaction location. */
export interface TxLocation {
  /** Decoded transaction. */
  tx: Transaction;
  /** Encoded bytes. */
  bytes: Uint8Array;
  /** Containing block hash, or null when in the mempool. */
  blockHash: string | null;
  /** Containing block height, or null when in the mempool. */
  height: number | null;
}

/** An unspent output with its outpoint. */
export type OutpointCoin = { txid: string; vout: number; coin: Coin };

const MAX_ORPHANS = 200;
const ORPHAN_TTL_MS = 10 * 60_000;

/** What a `GET /v1/txs/:id` of a transaction not in the pool nor on chain can say of it. */
export type TxWhereabouts =
  | ({ reason: "evicted" | "conflicted" } & TxFate)
  | { reason: "orphan"; missingParents: string[]; at: number };

/** The mempool as `/v1/status` shows it. */
export interface MempoolStatus {
  /** Transactions. */
  size: number;
  /** Their bytes. */
  bytes: number;
  /** Size bound, bytes. */
  maxBytes: number;
  /** Rolling minimum fee rate a newcomer must reach, base units per byte (0: not raised). */
  minFeeRate: number;
  /** The node's minimum relay fee rate, base units per byte (below it a transaction is refused). */
  minRelayFeeRate: number;
  /** Orphan transactions held. */
  orphans: { count: number; bytes: number };
  /** True while the mempool saved at the last stop is being restored. */
  restoring: boolean;
}

/** The chain state machine. */
export class ChainNode {
  /** Network parameters. */
  readonly params: NetworkParams;
  /** Storage. */
  readonly store: ChainStore;
  /** Unconfirmed transactions. */
  readonly mempool: Mempool;
  /** Emits "block" ({hash, height}), "tx" ({txid}) and "reorg" ({from, to}). */
  readonly events: EventTarget = new EventTarget();
  /** Minimum relay fee rate (base units per byte). */
  readonly minRelayFeeRate: number;
  readonly #index = new BlockIndex();
  readonly #state: ChainState;
  readonly #orphans = new Map<string, { bytes: Uint8Array; prev: string; added: number }>();
  readonly #intake: TxIntake;
  readonly #connected: { block: Block; txids: string[] }[] = [];
  readonly #side: SideBlocks;
  #lock: Promise<unknown> = Promise.resolve();
  /** Brackets block processing, the only writer of coins once open (admission reads ahead). */
  readonly #coinWrites = new CoinWriteCounter();
  readonly #now: () => number;
  #restore: MempoolRestore | null = null;

  private constructor(options: ChainNodeOptions) {
    this.params = options.params;
    this.store = new ChainStore(options.kv);
    this.minRelayFeeRate = options.minRelayFeeRate ?? 1;
    this.mempool = new Mempool({
      ...options.mempool,
      maxBytes: options.mempoolBytes,
      incrementalFeeRate: this.minRelayFeeRate,
    });
    this.#side = new SideBlocks(this.#index, this.store, options.sideBlockBytes);
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#state = new ChainState({
      params: this.params,
      store: this.store,
      index: this.#index,
      mempool: this.mempool,
      events: this.events,
      minRelayFeeRate: this.minRelayFeeRate,
      fraudChecker: options.fraudChecker,
      weightsOracle: options.weightsOracle?.(this),
      onCommitStep: options.onCommitStep,
      onConnected: (block, txids) => this.#connected.push({ block, txids }),
      onStored: (entry) => this.#side.add(entry.hash),
      onDisconnected: (entry) => this.#side.add(entry.hash),
    });
    this.#intake = new TxIntake(
      (bytes, prepared) => this.#state.acceptTx(bytes, prepared),
      (txid) => this.events.dispatchEvent(new CustomEvent("tx", { detail: { txid } })),
      options.orphanLimits,
    );
  }

  /**
   * Opens (and if needed initialises or recovers) the chain in `kv`, checks its UTXO set (throws
   * `store/utxo-mismatch` with a repair hint) and starts restoring the saved mempool in the
   * background (see {@link mempoolRestored}).
   */
  static async open(options: ChainNodeOptions): Promise<ChainNode> {
    const node = new ChainNode(options);
    await node.#load();
    await node.checkUtxoSet();
    for (const e of node.#index.entries()) {
      if (!node.#index.isActive(e.hash)) node.#side.add(e.hash);
    }
    await node.#side.prune();
    node.#connected.length = 0;
    // Orphans that arrived during the restore wait for restored parents: admitted with them.
    node.#restore = new MempoolRestore(node.store, (bytes) =>
      node.#exclusive(async () => {
        const entry = await node.#state.acceptTx(bytes);
        await node.#intake.admitChildrenOf([entry.txid]);
      }));
    return node;
  }

  async #load(): Promise<void> {
    for (const e of await this.store.loadIndex()) this.#index.add(e);
    if (this.#index.size === 0) await this.#state.storeGenesis();
    const pending = await this.store.getPending();
    if (pending) {
      log.warn("Finishing an interrupted {op} of block {hash}", { ...pending });
      await this.#state.finishPending(pending);
    }
    const tip = await this.store.getTip();
    const tipEntry = tip === null ? undefined : this.#index.get(tip);
    if (!tipEntry) throw new CamelidError("store/corrupt", "chain tip missing from index");
    this.#index.activate(tipEntry);
    await this.#state.activateBestChain();
  }

  /**
   * Checks that the UTXO set belongs to the active chain (see chain/utxo_check.ts); throws
   * `store/utxo-mismatch` with a repair hint. Run by {@link open}.
   */
  checkUtxoSet(): Promise<UtxoCheckReport> {
    return checkUtxoSet(this.store, this.#index, this.params);
  }

  /** Resolves when the restore of the saved mempool has finished (or was cut short by a stop). */
  get mempoolRestored(): Promise<void> {
    return this.#restore?.done ?? Promise.resolve();
  }

  /**
   * Saves the mempool (as Bitcoin's mempool.dat) so a restart does not lose unconfirmed
   * transactions; called when the node stops. A restore still running stops first, and what it had
   * not yet re-admitted is saved after the pool.
   */
  async saveMempool(): Promise<void> {
    const left = await this.#restore?.stop() ?? [];
    const entries = this.mempool.entries().sort((a, b) => a.added - b.added);
    await this.store.saveMempool([...entries.map((e) => e.bytes), ...left]);
  }

  /** Size, bounds, fee floor, orphans and restore state of the mempool. */
  mempoolStatus(): MempoolStatus {
    return {
      size: this.mempool.size,
      bytes: this.mempool.bytes,
      maxBytes: this.mempool.maxBytes,
      minFeeRate: this.mempool.minFeeRate(),
      minRelayFeeRate: this.minRelayFeeRate,
      orphans: { count: this.#intake.orphans.size, bytes: this.#intake.orphans.bytes },
      restoring: this.#restore?.running ?? false,
    };
  }

  /** Why a transaction that is neither in the pool nor on chain is not (orphan, evicted...), if known. */
  txWhereabouts(txid: string): TxWhereabouts | null {
    const orphan = this.#intake.orphans.get(txid);
    if (orphan) return { reason: "orphan", missingParents: orphan.parents, at: orphan.added };
    const fate = this.mempool.fates.get(txid);
    return fate ? { ...fate } : null;
  }

  /** Runs `fn` exclusively (blocks and transactions are processed one at a time). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /**
   * Runs a read of the chain state and the mempool together, between blocks and transactions: what
   * `fn` reads is never half of a block connection (a coin read before a block and the mempool read
   * after it would miss the coins in flight).
   */
  readConsistent<T>(fn: () => Promise<T>): Promise<T> {
    return this.#exclusive(fn);
  }

  /** The active tip. */
  tip(): { hash: string; height: number; chainWork: bigint; time: number } {
    const e = this.#index.tip();
    return { hash: e.hash, height: e.height, chainWork: e.work, time: e.time };
  }

  /** Genesis hash of this network. */
  genesisHash(): string {
    return this.#index.hashAtHeight(0)!;
  }

  /** Active-chain hash at `height`, or undefined. */
  hashAtHeight(height: number): string | undefined {
    return this.#index.hashAtHeight(height);
  }

  /** Index entry of a known block. */
  entry(hash: string): IndexEntry | undefined {
    return this.#index.get(hash);
  }

  /** True when the block is stored (valid or not). */
  hasBlock(hash: string): Promise<boolean> {
    return Promise.resolve(this.#index.has(hash) || this.#orphans.has(hash));
  }

  /** True when `hash` is on the active chain. */
  isActive(hash: string): boolean {
    return this.#index.isActive(hash);
  }

  /** Block locator: tip first, then exponentially spaced back to genesis. */
  locator(): Promise<string[]> {
    return Promise.resolve(this.#index.locator());
  }

  /** Up to `max` encoded headers of the active chain after the first locator hash found on it. */
  getHeaders(locator: string[], max?: number): Promise<Uint8Array[]> {
    return Promise.resolve(this.#index.getHeaders(locator, max));
  }

  /** Compact bits required of a child of `parent`. */
  nextBits(parent: IndexEntry): number {
    return this.#index.nextBits(parent, this.params);
  }

  /** Median time of the last 11 blocks ending at `entry`. */
  medianTimePast(entry: IndexEntry): number {
    return this.#index.medianTimePast(entry);
  }

  /** Looks up a block by hash or height on the active chain. */
  resolveBlockId(id: string): string {
    return this.#index.resolveBlockId(id);
  }

  /** Raw bytes of a stored block. */
  async getBlockBytes(hash: string): Promise<Uint8Array | null> {
    const e = this.#index.get(hash);
    return e ? await this.store.readBlock(e) : null;
  }

  /** A stored block, decoded. */
  async getBlock(hash: string): Promise<Block | null> {
    const bytes = await this.getBlockBytes(hash);
    return bytes ? decodeBlock(bytes) : null;
  }

  /** Bytes of a mempool transaction. */
  getMempoolTxBytes(txid: string): Uint8Array | null {
    return this.mempool.get(txid)?.bytes ?? null;
  }

  /** Finds a transaction in the mempool or on the active chain. */
  async getTransaction(id: string): Promise<TxLocation | null> {
    const pooled = this.mempool.get(id);
    if (pooled) return { tx: pooled.tx, bytes: pooled.bytes, blockHash: null, height: null };
    const confirmed = await this.#state.confirmedTransaction(id);
    return confirmed && { ...confirmed, bytes: encodeTransaction(confirmed.tx) };
  }

  /** Unspent outputs paying to `address` on the active chain. */
  getAddressCoins(address: string): Promise<OutpointCoin[]> {
    return this.store.addressCoins(address);
  }

  /** Non-delivery claim and answer of a stake: heights and the answer's txid. */
  notices(stakeKey: string): Promise<{ kind: string; txid: string; height: number }[]> {
    return this.store.notices(stakeKey);
  }

  /** Unspent escrow and stake outputs of a job on the active chain. */
  getJobCoins(jobIdHex: string): Promise<OutpointCoin[]> {
    return this.store.jobCoins(jobIdHex);
  }

  /** Sum of every unspent output (for conservation checks) and the number of outputs. */
  utxoTotals(): Promise<{ total: bigint; count: number; digest: string }> {
    return this.store.utxoTotals();
  }

  /**
   * Validates and stores a block, switching the active chain when it brings more work. Throws
   * `DecodeError`/`RangeError` for malformed bytes and `ValidationError` for consensus failures.
   */
  processBlock(bytes: Uint8Array): Promise<BlockResult> {
    // Signatures not seen in the mempool are checked ahead on the verify pool (4+ workers only),
    // while earlier work holds the lock; validation then finds them cached.
    const ahead = prevalidateBlockSignatures(bytes, (o) => this.store.getCoins(o), {
      skip: (id) => this.mempool.has(id),
    });
    return this.#exclusive(async () => {
      await ahead;
      return this.#coinWrites.around(() => this.#processBlock(bytes));
    });
  }

  async #processBlock(bytes: Uint8Array): Promise<BlockResult> {
    const block = decodeBlock(bytes);
    const hash = blockHash(block.header);
    const known = this.#index.get(hash);
    if (this.#side.prunedInvalid(hash)) {
      throw new ValidationError("block/known-invalid", `block ${hash} is known to be invalid`);
    }
    if (known) {
      if (known.invalid) {
        throw new ValidationError("block/known-invalid", `block ${hash} is known to be invalid`);
      }
      return { status: "duplicate", hash };
    }
    if (this.#orphans.has(hash)) return { status: "duplicate", hash };
    const txids = checkBlock(block, this.params, bytes.length);
    const prev = toHex(block.header.prevHash);
    const parent = this.#index.get(prev);
    if (!parent) {
      this.#addOrphan(hash, prev, bytes);
      return { status: "orphan", hash };
    }
    if (parent.work + blockWork(block.header.bits) < workThreshold(this.#index.tip())) {
      return { status: "ignored", hash, reason: "block/low-work" };
    }
    let result: BlockResult;
    try {
      result = await this.#state.acceptBlock(block, bytes, hash, parent, this.#now(), txids);
      await this.#connectOrphansOf(hash);
    } finally {
      await this.#afterBlocks();
    }
    return this.#index.has(hash) ? result : { status: "ignored", hash, reason: "block/side-full" };
  }

  /** After blocks were processed: orphan transactions they free or conflict with, side pruning. */
  async #afterBlocks(): Promise<void> {
    for (const { block, txids } of this.#connected.splice(0)) {
      await this.#intake.blockConnected(block, txids);
    }
    const pruned = await this.#side.prune();
    if (pruned) log.debug("Pruned {n} side blocks", { n: pruned });
  }

  #addOrphan(hash: string, prev: string, bytes: Uint8Array): void {
    const now = Date.now();
    for (const [h, o] of this.#orphans) if (now - o.added > ORPHAN_TTL_MS) this.#orphans.delete(h);
    if (this.#orphans.size >= MAX_ORPHANS) this.#orphans.delete(this.#orphans.keys().next().value!);
    this.#orphans.set(hash, { bytes, prev, added: now });
    log.debug("Holding orphan block {hash} (parent {prev} unknown)", { hash, prev });
  }

  /** Hashes of orphan blocks held (parents unknown). */
  orphanParents(): string[] {
    return [...new Set([...this.#orphans.values()].map((o) => o.prev))];
  }

  async #connectOrphansOf(parentHash: string): Promise<void> {
    const queue = [parentHash];
    while (queue.length) {
      const p = queue.shift()!;
      for (const [h, o] of [...this.#orphans]) {
        if (o.prev !== p) continue;
        this.#orphans.delete(h);
        try {
          const block = decodeBlock(o.bytes);
          await this.#state.acceptBlock(block, o.bytes, h, this.#index.get(p)!, this.#now());
          queue.push(h);
        } catch (e) {
          log.info("Dropped orphan {hash}: {error}", { hash: h, error: (e as Error).message });
        }
      }
    }
  }

  /**
   * Accepts a transaction into the mempool, or, from a named `source` (a client address or a peer,
   * which shares out the orphan pool), holds it as an orphan (status `orphan`) when only its parents
   * are unknown; in-process callers name none and get `tx/missing-inputs` instead. Throws
   * `DecodeError`/`RangeError` for malformed bytes and `ValidationError` (e.g. `tx/duplicate`,
   * `mempool/conflict`, `mempool/min-fee`, `mempool/full`, `tx/missing-inputs` for spent outputs,
   * `tx/bad-signature`, `tx/fee-too-low`) otherwise; nothing changes on failure. Decoding, the
   * context-free checks, the coin read and the signature checks run while earlier work holds the
   * lock (`prepareAdmission`); under it, only what depends on the chain and the pool.
   */
  processTx(bytes: Uint8Array, source?: string): Promise<TxResult> {
    // Prepared while earlier work holds the lock; admitted in the order of arrival.
    const prepared = prepareAdmission(this.store, this.mempool, bytes, this.#coinWrites);
    prepared.catch(() => {}); // its error is thrown below, in turn
    return this.#exclusive(async () => this.#intake.submit(bytes, source, await prepared));
  }
}
