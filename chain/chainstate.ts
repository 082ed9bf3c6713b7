/**
 * @module The chain state, after Bitcoin Core's Chainstate: accepts blocks into the index, keeps the
 * most-work valid chain active (ActivateBestChain), connects a block against the UTXO set and
 * disconnects it with its undo data. A block too large for one KV commit is connected in steps
 * behind a pending marker, which {@link ChainState.finishPending} completes after a crash.
 */

import { getLogger } from "@logtape/logtape";
import { type Block, blockHash, decodeBlock, encodeBlock, genesisBlock } from "./block.ts";
import { type BlockIndex, type IndexEntry, indexEntry } from "./block_index.ts";
import { toHex } from "./bytes.ts";
import { CamelidError, ValidationError } from "./errors.ts";
import { batchMutations, chunkCount, MAX_MUTATIONS, type Mutation } from "./kv_batch.ts";
import { type Mempool, type MempoolEntry, outpointKey } from "./mempool.ts";
import {
  acceptToMempool,
  type CoinLookup,
  type MempoolView,
  type PreparedAdmission,
} from "./mempool_accept.ts";
import type { NetworkParams } from "./params.ts";
import {
  checkHeldOutputs,
  checkNoticeOutputs,
  type FraudChecker,
  gatherSpendContext,
  type SpendContext,
} from "./spend.ts";
import {
  activeTipWrites,
  blockWrites,
  type ChainStore,
  coinMutations,
  indexWrite,
  type Outpoint,
  type PendingOp,
  pendingWrite,
  undoWrites,
} from "./store.ts";
import { checkSprintProofOutputs } from "./sprint_tx.ts";
import { checkReportOutputs, gatherReportContext, type WeightsOracle } from "./report_rules.ts";
import { gatherPoolContext } from "./pool_rules.ts";
import { TEMPLATE_HELD_REWARD } from "./script.ts";
import { PATH_HELD_CLAIM } from "./job_unlock.ts";
import { encodeTransaction, isCoinbase, type Transaction, txid } from "./tx.ts";
import {
  blockSubsidy,
  checkFinalTx,
  checkHeaderContext,
  checkTxInputs,
  type Coin,
  coinbaseHeight,
  isSpendableScript,
  spendsJobTemplate,
} from "./validation.ts";

const log = getLogger(["camelid", "chain"]);

/** Outcome of processing a block. */
export interface BlockResult {
  /**
   * connected: now on the active chain; side: stored on a weaker branch; orphan: parent unknown;
   * ignored: valid so far but not stored, its branch too far behind (`reason` says which bound).
   */
  status: "connected" | "side" | "orphan" | "duplicate" | "ignored";
  /** Block hash. */
  hash: string;
  /** With `ignored`: `block/low-work` or `block/side-full` (docs/protocol.md). */
  reason?: string;
}

/** The parts a {@link ChainState} works on, and its hooks. */
export interface ChainStateParts {
  /** Network parameters. */
  params: NetworkParams;
  /** Storage. */
  store: ChainStore;
  /** Block index (loaded). */
  index: BlockIndex;
  /** Unconfirmed transactions. */
  mempool: Mempool;
  /** Receives "block" ({hash, height}) and "reorg" ({from, to}) events. */
  events: EventTarget;
  /** Minimum relay fee rate (base units per byte). */
  minRelayFeeRate: number;
  /** Decides stake fraud proofs (needs the model); without one, no fraud proof is accepted. */
  fraudChecker?: FraudChecker;
  /**
   * A sprint's derived weights, for user reports' votes and pool distributions; without it no VOTES
   * or DISTRIBUTE spend is accepted.
   */
  weightsOracle?: WeightsOracle;
  /** Fault injection for crash tests: called between the commits of a multi-commit connect. */
  onCommitStep?: (step: string) => void;
  /** Called with each block made part of the active chain (after its commit), with its txids. */
  onConnected?: (block: Block, txids: string[]) => void;
  /** Called with each block stored in the index (before it may be connected). */
  onStored?: (entry: IndexEntry) => void;
  /** Called with each block taken off the active chain by a reorg. */
  onDisconnected?: (entry: IndexEntry) => void;
}

/** Connects, disconnects and reorganises the active chain. */
export class ChainState implements MempoolView {
  /** Network parameters. */
  readonly params: NetworkParams;
  /** Storage. */
  readonly store: ChainStore;
  /** Block index. */
  readonly index: BlockIndex;
  /** Unconfirmed transactions. */
  readonly mempool: Mempool;
  /** Minimum relay fee rate (base units per byte). */
  readonly minRelayFeeRate: number;
  readonly #events: EventTarget;
  readonly #fraudChecker?: FraudChecker;
  readonly #weightsOracle?: WeightsOracle;
  readonly #onCommitStep?: (step: string) => void;
  readonly #onConnected?: (block: Block, txids: string[]) => void;
  readonly #onStored?: (entry: IndexEntry) => void;
  readonly #onDisconnected?: (entry: IndexEntry) => void;
  /** Txids whose scripts were verified on mempool entry (connect skips them, as a sig cache). */
  readonly #verifiedTx = new Set<string>();
  /** Pool transactions that a height-bounded rule allows only below a height, by txid. */
  readonly #expiring = new Map<string, number>();
  /**
   * The block {@link acceptBlock} is activating, decoded, so connecting it reads no KV, with its
   * txids when the caller had them (connecting it then hashes none).
   */
  #accepting: { hash: string; block: Block; txids?: string[] } | null = null;

  /** Works on the given parts. */
  constructor(parts: ChainStateParts) {
    this.params = parts.params;
    this.store = parts.store;
    this.index = parts.index;
    this.mempool = parts.mempool;
    this.minRelayFeeRate = parts.minRelayFeeRate;
    this.#events = parts.events;
    this.#fraudChecker = parts.fraudChecker;
    this.#weightsOracle = parts.weightsOracle;
    this.#onCommitStep = parts.onCommitStep;
    this.#onConnected = parts.onConnected;
    this.#onStored = parts.onStored;
    this.#onDisconnected = parts.onDisconnected;
  }

  /** Stores this network's genesis block as the active tip of an empty store. */
  async storeGenesis(): Promise<void> {
    const genesis = genesisBlock(this.params);
    const bytes = encodeBlock(genesis);
    const entry = indexEntry(
      blockHash(genesis.header),
      genesis.header,
      null,
      chunkCount(bytes.length),
    );
    await this.store.apply([...blockWrites(entry, bytes), ...activeTipWrites(entry, true)]);
    this.index.add(entry);
  }

  /** A stored block, decoded (it must be stored); the block being accepted without a read. */
  async #readBlock(e: IndexEntry): Promise<Block> {
    if (this.#accepting?.hash === e.hash) return this.#accepting.block;
    return decodeBlock((await this.store.readBlock(e))!);
  }

  /** The txids of block `e` (decoded: `block`), from {@link acceptBlock}'s caller or hashed here. */
  #txidsOf(e: IndexEntry, block: Block): string[] {
    const given = this.#accepting?.hash === e.hash ? this.#accepting.txids : undefined;
    return given ?? block.txs.map(txid);
  }

  /** A transaction confirmed on the active chain, with its block, or null. */
  async confirmedTransaction(
    id: string,
  ): Promise<{ tx: Transaction; blockHash: string; height: number } | null> {
    const loc = await this.store.txLocation(id);
    if (!loc || !this.index.isActive(loc.block)) return null;
    const e = this.index.get(loc.block)!;
    const bytes = await this.store.readBlock(e);
    if (!bytes) return null;
    return { tx: decodeBlock(bytes).txs[loc.index], blockHash: loc.block, height: e.height };
  }

  /**
   * Gathers the facts job spends of `tx` at `spendHeight` need: stakes, notices, fraud and
   * bad-answer verdicts, user reports' held rewards and weights, and a pool distribution's weights.
   */
  async spendContext(
    tx: Transaction,
    coins: (Coin | undefined)[],
    getCoin: CoinLookup,
    spendHeight: number,
  ): Promise<SpendContext> {
    const scripts = coins.map((c) => c?.scriptPubKey);
    const outputScript = async (t: string, v: number) =>
      (await this.confirmedTransaction(t))?.tx.outputs[v]?.scriptPubKey;
    const ctx = await gatherSpendContext(
      tx,
      scripts,
      getCoin,
      this.#fraudChecker,
      (key) => this.store.notice(key),
      outputScript,
    );
    const values = coins.map((c) => c?.value);
    ctx.report = await gatherReportContext(
      tx,
      scripts,
      values,
      getCoin,
      outputScript,
      this.#weightsOracle,
    );
    ctx.pool = await gatherPoolContext(
      tx,
      scripts,
      spendHeight,
      this.params,
      this.#weightsOracle,
    );
    ctx.pendingReports = await this.#pendingReports(tx, scripts, getCoin);
    return ctx;
  }

  /**
   * The inputs of `tx` that CLAIM a held reward (0x07) named by an unspent report bond: bonds from
   * the store's index, each still unspent in `getCoin`'s view (a bond spent earlier in the same
   * block no longer holds the claim).
   */
  async #pendingReports(
    tx: Transaction,
    scripts: (Uint8Array | undefined)[],
    getCoin: CoinLookup,
  ): Promise<Set<number>> {
    const pending = new Set<number>();
    for (const [i, input] of tx.inputs.entries()) {
      if (scripts[i]?.[0] !== TEMPLATE_HELD_REWARD || input.scriptSig[0] !== PATH_HELD_CLAIM) {
        continue;
      }
      const held = input.prevout;
      for (const bond of await this.store.reportBonds(toHex(held.txid), held.vout)) {
        if (await getCoin(bond.txid, bond.vout)) {
          pending.add(i);
          break;
        }
      }
    }
    return pending;
  }

  /** Notes that pool transaction `txid` can be mined only below `height` (chain/mempool_expiry.ts). */
  expiresAt(txid: string, height: number): void {
    this.#expiring.set(txid, height);
  }

  /**
   * Evicts the pool transactions that can no longer be mined at `nextHeight` (and what spends
   * them), so no block template carries a transaction its block would be refused for.
   */
  #evictExpired(nextHeight: number): void {
    for (const [id, height] of this.#expiring) {
      if (!this.mempool.has(id)) this.#expiring.delete(id);
      else if (height <= nextHeight) {
        this.mempool.remove(id, true, "evicted");
        this.#expiring.delete(id);
        log.info("Evicted {txid}: not mineable from height {height}", { txid: id, height });
      }
    }
  }

  /**
   * Admits a transaction to the mempool (see {@link acceptToMempool}), reusing `prepared` (what
   * `prepareAdmission` returned for these `bytes`) when given; announces nothing.
   */
  async acceptTx(bytes: Uint8Array, prepared?: PreparedAdmission): Promise<MempoolEntry> {
    const entry = await acceptToMempool(this, bytes, prepared);
    this.#verifiedTx.add(entry.txid);
    return entry;
  }

  /**
   * Checks a block's header against its parent, stores it in the index and activates the best
   * chain. Throws `ValidationError` when the block (or the branch it extends) is invalid. `txids`,
   * when given, are the block's txids in order (as `checkBlock` returns them), so that connecting
   * it hashes no transaction again.
   */
  async acceptBlock(
    block: Block,
    bytes: Uint8Array,
    hash: string,
    parent: IndexEntry,
    now: number,
    txids?: string[],
  ): Promise<BlockResult> {
    if (parent.invalid) {
      throw new ValidationError("block/bad-prevblk", `parent ${parent.hash} is invalid`);
    }
    const { index, params } = this;
    const mtp = index.medianTimePast(parent);
    checkHeaderContext(block.header, index.nextBits(parent, params), mtp, now, params);
    const entry = indexEntry(hash, block.header, parent, chunkCount(bytes.length), bytes.length);
    if (coinbaseHeight(block.txs[0]) !== entry.height) {
      throw new ValidationError(
        "block/bad-cb-height",
        `coinbase does not commit to height ${entry.height}`,
      );
    }
    await this.store.apply(blockWrites(entry, bytes));
    index.add(entry);
    this.#onStored?.(entry);
    this.#accepting = { hash, block, txids };
    let failures;
    try {
      failures = await this.activateBestChain();
    } finally {
      this.#accepting = null;
    }
    if (entry.invalid) {
      throw failures.get(hash) ??
        new ValidationError("block/bad-prevblk", `block ${hash} extends an invalid block`);
    }
    return { status: index.isActive(hash) ? "connected" : "side", hash };
  }

  /** Switches to the most-work valid chain; returns the blocks found invalid on the way. */
  async activateBestChain(): Promise<Map<string, ValidationError>> {
    const failures = new Map<string, ValidationError>();
    const oldTip = this.index.tip().hash;
    const disconnectedTxs: Transaction[] = [];
    const connected: string[] = [];
    for (;;) {
      const best = this.index.bestCandidate();
      if (best.hash === this.index.tip().hash) break;
      const { fork, path } = this.index.branchTo(best);
      while (this.index.tip().hash !== fork.hash) {
        const block = await this.#disconnectTip();
        disconnectedTxs.push(...block.txs.filter((t) => !isCoinbase(t)));
      }
      for (const e of path) {
        try {
          await this.#connectBlock(e);
          connected.push(e.hash);
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          log.warn("Block {hash} is invalid: {error}", { hash: e.hash, error: err.message });
          failures.set(e.hash, err);
          await this.#markInvalid(e);
          break;
        }
      }
    }
    if (this.index.tip().hash === oldTip) return failures;
    for (const h of connected) {
      if (!this.index.isActive(h)) continue;
      const height = this.index.get(h)!.height;
      this.#events.dispatchEvent(new CustomEvent("block", { detail: { hash: h, height } }));
    }
    if (disconnectedTxs.length) await this.#afterReorg(oldTip, disconnectedTxs);
    return failures;
  }

  /** Announces a reorg and returns the disconnected transactions to the mempool where they fit. */
  async #afterReorg(oldTip: string, disconnectedTxs: Transaction[]): Promise<void> {
    const tip = this.index.tip().hash;
    this.#events.dispatchEvent(new CustomEvent("reorg", { detail: { from: oldTip, to: tip } }));
    let back = 0;
    for (const tx of disconnectedTxs) {
      try {
        await this.acceptTx(encodeTransaction(tx));
        back++;
      } catch { /* conflicts with the new chain: dropped */ }
    }
    log.info("Reorg to {tip}: {back} of {n} transactions returned to the mempool", {
      tip,
      back,
      n: disconnectedTxs.length,
    });
  }

  /** Marks `e` and every descendant invalid. */
  async #markInvalid(e: IndexEntry): Promise<void> {
    const stack = [e];
    const muts: Mutation[] = [];
    while (stack.length) {
      const cur = stack.pop()!;
      cur.invalid = true;
      muts.push(indexWrite(cur));
      stack.push(...this.index.children(cur.hash));
    }
    await this.store.apply(muts);
  }

  /**
   * The stored coins `block`'s inputs may read, by outpoint key, in batched reads: every outpoint
   * its inputs name except those created by an earlier transaction of the block (the connect loop
   * resolves those in memory; the store does not change while a block is checked).
   */
  async #readSpentCoins(
    block: Block,
    ids: string[],
  ): Promise<{ keys: string[][]; stored: Map<string, Coin | undefined> }> {
    const createdEarlier = new Set<string>();
    const toRead: Outpoint[] = [];
    const readKeys: string[] = [];
    const stored = new Map<string, Coin | undefined>();
    const keys = block.txs.map((tx, i) => {
      const txKeys = i === 0 ? [] : tx.inputs.map((inp) => {
        const o = { txid: toHex(inp.prevout.txid), vout: inp.prevout.vout };
        const key = outpointKey(o.txid, o.vout);
        if (!createdEarlier.has(key) && !stored.has(key)) {
          stored.set(key, undefined);
          toRead.push(o);
          readKeys.push(key);
        }
        return key;
      });
      tx.outputs.forEach((out, vout) => {
        if (isSpendableScript(out.scriptPubKey)) createdEarlier.add(outpointKey(ids[i], vout));
      });
      return txKeys;
    });
    (await this.store.getCoins(toRead)).forEach((coin, j) => stored.set(readKeys[j], coin));
    return { keys, stored };
  }

  /**
   * Checks every input of `block` (txids `ids`) at `height` against the UTXO set and the outputs
   * created earlier in the block; returns the coins spent (its undo data, in input order) and the
   * fees.
   */
  async #checkBlockSpends(
    block: Block,
    ids: string[],
    height: number,
  ): Promise<{ undo: Coin[]; fees: bigint }> {
    const { keys: inputKeys, stored } = await this.#readSpentCoins(block, ids);
    const created = new Map<string, Coin>();
    const spentInBlock = new Set<string>();
    const inBlockView = (key: string) =>
      spentInBlock.has(key) ? undefined : created.get(key) ?? stored.get(key);
    const lookup: CoinLookup = async (t, v) => {
      const key = outpointKey(t, v);
      if (spentInBlock.has(key)) return undefined;
      return created.get(key) ??
        (stored.has(key) ? stored.get(key) : await this.store.getCoin(t, v));
    };
    const undo: Coin[] = [];
    let fees = 0n;
    for (const [i, tx] of block.txs.entries()) {
      const id = ids[i];
      if (i > 0) {
        checkFinalTx(tx, height);
        const keys = inputKeys[i];
        const coins = keys.map(inBlockView);
        const ctx = await this.spendContext(tx, coins, lookup, height);
        const full = !this.#verifiedTx.has(id) || spendsJobTemplate(coins);
        fees += checkTxInputs(tx, coins, height, this.params, full, ctx);
        checkNoticeOutputs(tx, coins, ctx);
        checkHeldOutputs(tx, coins);
        checkSprintProofOutputs(tx, coins, this.params);
        checkReportOutputs(tx, coins, height, this.params, ctx.report);
        keys.forEach((key, j) => {
          spentInBlock.add(key);
          undo.push(coins[j]!);
        });
      } else {
        checkHeldOutputs(tx, []); // a coinbase pays no held reward
        checkReportOutputs(tx, [], height, this.params, undefined); // nor a report's bond
      }
      tx.outputs.forEach((out, vout) => {
        if (!isSpendableScript(out.scriptPubKey)) return;
        const coin = {
          value: out.value,
          scriptPubKey: out.scriptPubKey,
          height,
          coinbase: i === 0,
        };
        created.set(outpointKey(id, vout), coin);
      });
    }
    return { undo, fees };
  }

  /** Validates block `e` against the UTXO set and makes it the tip. */
  async #connectBlock(e: IndexEntry): Promise<void> {
    const block = await this.#readBlock(e);
    const ids = this.#txidsOf(e, block);
    const { undo, fees } = await this.#checkBlockSpends(block, ids, e.height);
    const coinbaseOut = block.txs[0].outputs.reduce((s, o) => s + o.value, 0n);
    const allowed = blockSubsidy(e.height, this.params) + fees;
    if (coinbaseOut > allowed) {
      throw new ValidationError(
        "block/bad-cb-amount",
        `coinbase pays ${coinbaseOut}, more than subsidy + fees ${allowed}`,
      );
    }
    const undoData = undoWrites(e.hash, undo);
    const muts = coinMutations(block, undo, e, ids);
    const finish = activeTipWrites(e, true);
    const whole = [...undoData, ...muts, ...finish];
    const single = whole.length <= MAX_MUTATIONS && batchMutations(whole).length === 1;
    if (single) {
      await this.store.commit(whole);
    } else {
      await this.store.apply([...undoData, pendingWrite({ op: "connect", hash: e.hash })]);
      this.#onCommitStep?.("connect:marked");
      for (const batch of batchMutations(muts)) {
        await this.store.commit(batch);
        this.#onCommitStep?.("connect:batch");
      }
      await this.store.apply([...finish, pendingWrite(null)]);
    }
    for (const id of ids) this.#verifiedTx.delete(id);
    this.index.pushTip(e);
    this.#removeConfirmed(block, ids);
    this.#evictExpired(e.height + 1);
    this.#onConnected?.(block, ids);
  }

  /** Disconnects the active tip with its undo data; returns the block. */
  async #disconnectTip(): Promise<Block> {
    const e = this.index.tip();
    if (e.height === 0) throw new CamelidError("chain/genesis", "cannot disconnect genesis");
    const block = await this.#readBlock(e);
    const muts = coinMutations(block, await this.store.readUndo(e.hash), null);
    await this.store.apply([pendingWrite({ op: "disconnect", hash: e.hash })]);
    await this.store.apply(muts);
    await this.store.apply([...activeTipWrites(e, false), pendingWrite(null)]);
    this.index.popTip();
    this.#onDisconnected?.(e);
    return block;
  }

  /** Completes a connect or disconnect interrupted by a crash (its writes are idempotent). */
  async finishPending({ op, hash }: PendingOp): Promise<void> {
    const e = this.index.get(hash)!;
    const block = await this.#readBlock(e);
    const undo = await this.store.readUndo(hash);
    const connect = op === "connect";
    await this.store.apply(coinMutations(block, undo, connect ? e : null));
    await this.store.apply([...activeTipWrites(e, connect), pendingWrite(null)]);
  }

  /**
   * Drops a connected block's transactions, and pool transactions conflicting with it (recorded as
   * `conflicted`); the pool's fee floor starts to decay.
   */
  #removeConfirmed(block: Block, ids: string[]): void {
    for (const [i, tx] of block.txs.entries()) {
      const id = ids[i];
      this.mempool.remove(id, false);
      this.mempool.fates.forget(id);
      for (const inp of tx.inputs) {
        const spender = this.mempool.spender(toHex(inp.prevout.txid), inp.prevout.vout);
        if (spender) this.mempool.remove(spender, true, "conflicted");
      }
    }
    this.mempool.blockConnected();
  }
}
