/**
 * @module Mempool admission, after Bitcoin Core's MemPoolAccept: decodes a transaction, applies the
 * context-free and chain checks against the UTXO set plus unconfirmed parents, the relay fee policy,
 * and adds it to the pool. Nothing changes when a check fails.
 */

import { toHex } from "./bytes.ts";
import type { BlockIndex } from "./block_index.ts";
import type { CoinWriteCounter } from "./coin_writes.ts";
import { ValidationError } from "./errors.ts";
import type { Mempool, MempoolEntry } from "./mempool.ts";
import type { NetworkParams } from "./params.ts";
import { payToAddressChecks } from "./sig_batch.ts";
import { verifySignatureCached } from "./sig_cache.ts";
import type { SpendContext } from "./spend.ts";
import { checkHeldOutputs, checkNoticeOutputs } from "./spend.ts";
import { checkSprintProofOutputs } from "./sprint_tx.ts";
import { checkReportOutputs } from "./report_rules.ts";
import { invalidFromHeight } from "./mempool_expiry.ts";
import type { ChainStore } from "./store.ts";
import { decodeTransaction, isCoinbase, type Transaction, txid } from "./tx.ts";
import { checkFinalTx, checkTransaction, checkTxInputs, type Coin } from "./validation.ts";

/**
 * `tx/missing-inputs` where the spent outputs may still arrive: `parents` are transactions neither in
 * the pool nor on the active chain (the node may hold the transaction as an orphan).
 */
export class MissingInputsError extends ValidationError {
  /** Txids of the unknown parents. */
  readonly parents: string[];
  /** An error naming the unknown parents. */
  constructor(parents: string[]) {
    super("tx/missing-inputs", `inputs spend unknown transactions: ${parents.join(", ")}`);
    this.parents = parents;
  }
}

/** Looks up a coin the spend checks name (a stake), or undefined when missing or spent. */
export type CoinLookup = (txid: string, vout: number) => Promise<Coin | undefined>;

/** What admission reads: the chain (store and index), the pool, and the rules. */
export interface MempoolView {
  /** Network parameters. */
  readonly params: NetworkParams;
  /** Storage (coins, tx index). */
  readonly store: ChainStore;
  /** Block index (active tip). */
  readonly index: BlockIndex;
  /** The pool the transaction enters. */
  readonly mempool: Mempool;
  /** Minimum relay fee rate (base units per byte). */
  readonly minRelayFeeRate: number;
  /** Gathers the facts job spends need (stakes, notices, fraud verdicts, weights) for `tx`. */
  spendContext(
    tx: Transaction,
    coins: (Coin | undefined)[],
    getCoin: CoinLookup,
    spendHeight: number,
  ): Promise<SpendContext>;
  /**
   * Told, for an admitted transaction that a height-bounded rule holds only below `height`
   * (chain/mempool_expiry.ts), that height: the pool must drop it once the next block reaches it.
   */
  expiresAt?(txid: string, height: number): void;
}

/** An outpoint as admission reads it. */
type Outpoint = { txid: string; vout: number };

/**
 * What {@link prepareAdmission} did for one byte string, handed to {@link acceptToMempool} with the
 * same bytes for the locked part to reuse.
 */
export interface PreparedAdmission {
  /** The store whose coins were read (a record is only used by admission into that store). */
  store: ChainStore;
  /** The decoded transaction (context-free checks passed). */
  tx: Transaction;
  /** Its txid. */
  id: string;
  /** A copy of the bytes it was decoded from (the pool keeps this copy). */
  bytes: Uint8Array;
  /** The outpoints it spends, in input order. */
  outpoints: Outpoint[];
  /** The stored coins of those outpoints, read outside the lock. */
  stored: (Coin | undefined)[];
  /** Writes of the coin set (block processing brackets them). */
  writes: CoinWriteCounter;
  /** The stamp of `writes` taken before the read. */
  stamp: number;
}

/**
 * The part of admission that needs no lock, run before taking it (Core's PreChecks split: what
 * depends on the transaction alone, then reads): decodes `bytes` and applies the context-free
 * checks, throwing what {@link acceptToMempool} would throw for them (`DecodeError`/`RangeError`,
 * `tx/no-inputs`, `tx/oversize`, ..., `tx/coinbase`); reads the coins it spends from `store`; and
 * verifies the signatures of its pay-to-address inputs over the coins found, recording those that
 * verify in the signature cache. Decides nothing else: a bad signature is left to admission, which
 * checks again and refuses it. Returns the record that `acceptToMempool(view, bytes, prepared)`
 * with these same `bytes` then reuses: it skips the decoding and the context-free checks, and takes
 * the coins read here unless `writes` shows that a block was processed since (then it reads them
 * again). A transaction already in `mempool` is left to admission (`tx/duplicate`): no record.
 */
export async function prepareAdmission(
  store: ChainStore,
  mempool: Mempool,
  bytes: Uint8Array,
  writes: CoinWriteCounter,
): Promise<PreparedAdmission | undefined> {
  const own = bytes.slice();
  const tx = decodeTransaction(own);
  const id = txid(tx);
  if (mempool.has(id)) return undefined;
  checkContextFree(tx);
  const outpoints = outpointsOf(tx);
  const stamp = writes.stamp();
  const stored = await store.getCoins(outpoints);
  for (const c of payToAddressChecks(tx, stored)) {
    verifySignatureCached(c.signature, c.preimage, c.publicKey);
  }
  return { store, tx, id, bytes: own, outpoints, stored, writes, stamp };
}

/** CheckTransaction, and no coinbase outside a block. */
function checkContextFree(tx: Transaction): void {
  checkTransaction(tx);
  if (isCoinbase(tx)) {
    throw new ValidationError("tx/coinbase", "a coinbase cannot enter the mempool");
  }
}

function outpointsOf(tx: Transaction): Outpoint[] {
  return tx.inputs.map((i) => ({ txid: toHex(i.prevout.txid), vout: i.prevout.vout }));
}

/**
 * Checks a transaction and adds it to the pool. Throws `DecodeError`/`RangeError` for malformed bytes
 * and `ValidationError` (e.g. `tx/duplicate`, `mempool/conflict`, `tx/missing-inputs`,
 * `tx/bad-signature`, `tx/fee-too-low`) otherwise. Reuses `preparation`, what
 * {@link prepareAdmission} returned for these same `bytes`, when it was made for this store.
 */
export async function acceptToMempool(
  view: MempoolView,
  bytes: Uint8Array,
  preparation?: PreparedAdmission,
): Promise<MempoolEntry> {
  const { mempool, store, index } = view;
  const prepared = preparation?.store === store ? preparation : undefined;
  const tx = prepared?.tx ?? decodeTransaction(bytes);
  const id = prepared?.id ?? txid(tx);
  if (mempool.has(id)) {
    throw new ValidationError("tx/duplicate", `transaction ${id} is already in the mempool`);
  }
  if (!prepared) checkContextFree(tx);
  const outpoints = prepared?.outpoints ?? outpointsOf(tx);
  const stored = prepared && prepared.writes.unchangedSince(prepared.stamp)
    ? prepared.stored
    : await store.getCoins(outpoints);
  // A transaction confirmed on the active chain spent every coin it names, so the tx index is
  // read only when a coin is absent.
  if (stored.some((c) => !c)) {
    const confirmed = await store.txLocation(id);
    if (confirmed && index.isActive(confirmed.block)) {
      throw new ValidationError("tx/duplicate", `transaction ${id} is already confirmed`);
    }
  }
  const height = index.tip().height + 1;
  checkFinalTx(tx, height);
  for (const o of outpoints) {
    const other = mempool.spender(o.txid, o.vout);
    if (other) {
      throw new ValidationError(
        "mempool/conflict",
        `output ${o.txid}:${o.vout} is already spent by ${other}`,
      );
    }
  }
  const coins = outpoints.map((o, j) => stored[j] ?? unconfirmedCoin(mempool, o, height));
  const absent = [...new Set(outpoints.filter((_, j) => !coins[j]).map((o) => o.txid))];
  if (absent.length) await refuseMissingInputs(view, absent);
  const ctx = await view.spendContext(tx, coins, (t, v) => store.getCoin(t, v), height);
  const fee = checkTxInputs(tx, coins, height, view.params, true, ctx);
  checkNoticeOutputs(tx, coins, ctx);
  checkHeldOutputs(tx, coins);
  checkSprintProofOutputs(tx, coins, view.params);
  checkReportOutputs(tx, coins, height, view.params, ctx.report);
  const size = prepared?.bytes.length ?? bytes.length;
  const feeRate = Number(fee) / size;
  if (feeRate < view.minRelayFeeRate) {
    throw new ValidationError(
      "tx/fee-too-low",
      `fee rate ${feeRate.toFixed(2)} is below the minimum ${view.minRelayFeeRate} per byte`,
    );
  }
  const entry: MempoolEntry = {
    txid: id,
    tx,
    bytes: prepared?.bytes ?? bytes.slice(),
    fee,
    feeRate,
    added: Date.now(),
  };
  mempool.add(entry);
  const expiry = invalidFromHeight(tx, coins, view.params, ctx.report);
  if (expiry !== null) view.expiresAt?.(id, expiry);
  return entry;
}

/**
 * Throws for inputs whose coins are absent: a plain `tx/missing-inputs` when a parent is known (in
 * the pool or on the active chain: the output is spent or never existed), else a
 * {@link MissingInputsError} naming the unknown parents.
 */
async function refuseMissingInputs(view: MempoolView, parents: string[]): Promise<never> {
  for (const parent of parents) {
    const loc = view.mempool.has(parent) ? null : await view.store.txLocation(parent);
    if (view.mempool.has(parent) || (loc && view.index.isActive(loc.block))) {
      throw new ValidationError(
        "tx/missing-inputs",
        `an output of ${parent} that this transaction spends is spent or does not exist`,
      );
    }
  }
  throw new MissingInputsError(parents);
}

/** An output of a pool transaction, as a coin spendable in the next block. */
function unconfirmedCoin(
  mempool: Mempool,
  o: { txid: string; vout: number },
  height: number,
): Coin | undefined {
  const out = mempool.get(o.txid)?.tx.outputs[o.vout];
  if (!out) return undefined;
  return { value: out.value, scriptPubKey: out.scriptPubKey, height, coinbase: false };
}
