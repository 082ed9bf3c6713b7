/**
 * @module A start-up check that the UTXO set belongs to the active chain (two processes writing one
 * store, or a damaged file, leave coins of another fork): the coins add up to no more than the chain's
 * subsidies, every coinbase coin is the coinbase of the active block at its height, and for the last
 * blocks the outputs they created are unspent or spent by a later one of them, the outputs they spent
 * are gone, and their undo data has one coin per input. One pass over the coins plus a few blocks.
 */

import type { BlockIndex } from "./block_index.ts";
import { decodeBlock } from "./block.ts";
import { toHex } from "./bytes.ts";
import { CamelidError } from "./errors.ts";
import { outpointKey } from "./mempool.ts";
import type { NetworkParams } from "./params.ts";
import type { ChainStore } from "./store.ts";
import { txid } from "./tx.ts";
import { blockSubsidy, isSpendableScript } from "./validation.ts";

/** Blocks at the tip whose outputs, spends and undo data are checked at start. */
export const UTXO_SPOT_CHECK_BLOCKS = 6;

/** How to repair a store that fails the check. */
export const UTXO_REPAIR_HINT =
  "stop the node, move chain.kv out of the data directory and start again: the node syncs the " +
  "chain from its peers (the wallet file stays)";

/** What the check read. */
export interface UtxoCheckReport {
  /** Sum of every coin. */
  total: bigint;
  /** Number of coins. */
  count: number;
  /** Blocks spot-checked. */
  blocks: number;
}

function mismatch(what: string): never {
  throw new CamelidError(
    "store/utxo-mismatch",
    `the UTXO set does not match the active chain: ${what}; ${UTXO_REPAIR_HINT}`,
  );
}

/** Checks the UTXO set against the active chain; throws `store/utxo-mismatch` with a repair hint. */
export async function checkUtxoSet(
  store: ChainStore,
  index: BlockIndex,
  params: NetworkParams,
  spotBlocks = UTXO_SPOT_CHECK_BLOCKS,
): Promise<UtxoCheckReport> {
  const tip = index.tip();
  const coins = await store.scanCoins();
  let supply = 0n;
  for (let h = 1; h <= tip.height; h++) supply += blockSubsidy(h, params);
  if (coins.total > supply) {
    mismatch(`its coins add up to ${coins.total}, more than the ${supply} the chain has paid out`);
  }
  const locations = await store.txLocations(coins.coinbase.map((c) => c.txid));
  coins.coinbase.forEach((c, i) => {
    const loc = locations[i];
    if (!loc || loc.index !== 0 || loc.block !== index.hashAtHeight(c.height)) {
      mismatch(`coinbase coin ${c.txid}:${c.vout} is not the coinbase of active block ${c.height}`);
    }
  });
  const blocks = await spotCheckTip(store, index, Math.min(spotBlocks, tip.height));
  return { total: coins.total, count: coins.count, blocks };
}

/** Checks the outputs, spends and undo data of the last `n` active blocks; returns `n`. */
async function spotCheckTip(store: ChainStore, index: BlockIndex, n: number): Promise<number> {
  const tip = index.tip().height;
  const spentLater = new Set<string>();
  for (let h = tip; h > tip - n; h--) {
    const e = index.get(index.hashAtHeight(h)!)!;
    const block = decodeBlock((await store.readBlock(e)) ?? mismatch(`block ${h} is missing`));
    const spends = block.txs.slice(1).flatMap((tx) =>
      tx.inputs.map((i) => ({ txid: toHex(i.prevout.txid), vout: i.prevout.vout }))
    );
    const undo = await store.readUndo(e.hash);
    if (undo.length !== spends.length) mismatch(`undo data of block ${h} does not fit its inputs`);
    const created = block.txs.flatMap((tx, t) => {
      const id = txid(tx);
      return tx.outputs.flatMap((o, vout) =>
        isSpendableScript(o.scriptPubKey)
          ? [{ txid: id, vout, value: o.value, coinbase: t === 0 }]
          : []
      );
    });
    for (const s of spends) spentLater.add(outpointKey(s.txid, s.vout));
    const stillSpent = (await store.getCoins(spends)).findIndex((c) => c !== undefined);
    if (stillSpent >= 0) {
      mismatch(
        `an output spent in block ${h} is still unspent (${
          outpointKey(spends[stillSpent].txid, spends[stillSpent].vout)
        })`,
      );
    }
    const unspent = created.filter((c) => !spentLater.has(outpointKey(c.txid, c.vout)));
    const stored = await store.getCoins(unspent);
    unspent.forEach((c, i) => {
      const s = stored[i];
      if (!s || s.value !== c.value || s.height !== h || s.coinbase !== c.coinbase) {
        mismatch(`output ${outpointKey(c.txid, c.vout)} of block ${h} is missing or altered`);
      }
    });
  }
  return n;
}
