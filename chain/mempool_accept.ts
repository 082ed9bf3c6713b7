/**
 * @module Mempool admission, after Bitcoin Core's MemPoolAccept: decodes a transaction, applies the
 * context-free and chain checks against the UTXO set plus unconfirmed parents, the relay fee policy,
 * and adds it to the pool. Nothing changes when a check fails.
 */

import { toHex } from "./bytes.ts";
import type { BlockIndex } from "./block_index.ts";
import { ValidationError } from "./errors.ts";
import type { Mempool, MempoolEntry } from "./mempool.ts";
import type { NetworkParams } from "./params.ts";
import type { SpendContext } from "./spend.ts";
import { checkNoticeOutputs } from "./spend.ts";
import { checkSprintProofOutputs } from "./sprint_tx.ts";
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
  /** Gathers the facts job spends need (stakes, notices, fraud verdicts) for `tx`. */
  spendContext(
    tx: Transaction,
    coins: (Coin | undefined)[],
    getCoin: CoinLookup,
  ): Promise<SpendContext>;
}

/**
 * Checks a transaction and adds it to the pool. Throws `DecodeError`/`RangeError` for malformed bytes
 * and `ValidationError` (e.g. `tx/duplicate`, `mempool/conflict`, `tx/missing-inputs`,
 * `tx/bad-signature`, `tx/fee-too-low`) otherwise.
 */
export async function acceptToMempool(view: MempoolView, bytes: Uint8Array): Promise<MempoolEntry> {
  const { mempool, store, index } = view;
  const tx = decodeTransaction(bytes);
  const id = txid(tx);
  if (mempool.has(id)) {
    throw new ValidationError("tx/duplicate", `transaction ${id} is already in the mempool`);
  }
  checkTransaction(tx);
  if (isCoinbase(tx)) {
    throw new ValidationError("tx/coinbase", "a coinbase cannot enter the mempool");
  }
  const confirmed = await store.txLocation(id);
  if (confirmed && index.isActive(confirmed.block)) {
    throw new ValidationError("tx/duplicate", `transaction ${id} is already confirmed`);
  }
  const height = index.tip().height + 1;
  checkFinalTx(tx, height);
  const outpoints = tx.inputs.map((i) => ({ txid: toHex(i.prevout.txid), vout: i.prevout.vout }));
  for (const o of outpoints) {
    const other = mempool.spender(o.txid, o.vout);
    if (other) {
      throw new ValidationError(
        "mempool/conflict",
        `output ${o.txid}:${o.vout} is already spent by ${other}`,
      );
    }
  }
  const stored = await store.getCoins(outpoints);
  const coins = outpoints.map((o, j) => stored[j] ?? unconfirmedCoin(mempool, o, height));
  const absent = [...new Set(outpoints.filter((_, j) => !coins[j]).map((o) => o.txid))];
  if (absent.length) await refuseMissingInputs(view, absent);
  const ctx = await view.spendContext(tx, coins, (t, v) => store.getCoin(t, v));
  const fee = checkTxInputs(tx, coins, height, view.params, true, ctx);
  checkNoticeOutputs(tx, coins, ctx);
  checkSprintProofOutputs(tx, coins, view.params);
  const feeRate = Number(fee) / bytes.length;
  if (feeRate < view.minRelayFeeRate) {
    throw new ValidationError(
      "tx/fee-too-low",
      `fee rate ${feeRate.toFixed(2)} is below the minimum ${view.minRelayFeeRate} per byte`,
    );
  }
  const entry: MempoolEntry = {
    txid: id,
    tx,
    bytes: bytes.slice(),
    fee,
    feeRate,
    added: Date.now(),
  };
  mempool.add(entry);
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
