/**
 * @module The compute node's wallet inside its own process: the coins it can spend now, and one
 * spender at a time among the node's parts that spend them (the job worker's stakes and answers, the
 * sprint duty's proofs), so two of them never choose the same coin.
 */

import { equalBytes } from "../../chain/bytes.ts";
import type { ChainNode } from "../../chain/node.ts";
import { payToAddressScript } from "../../chain/script.ts";
import type { WalletUtxo } from "../../chain/wallet.ts";

/** Runs `spend` (choose coins, build, submit) while no other spend of the same wallet runs. */
export type SpendLock = <T>(spend: () => Promise<T>) => Promise<T>;

/** An in-process {@link SpendLock}: spends run one after the other, in the order they asked. */
export function inProcessSpendLock(): SpendLock {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(spend: () => Promise<T>): Promise<T> => {
    const run = tail.then(spend, spend);
    tail = run.catch(() => {});
    return run;
  };
}

/**
 * The coins of `address` it can spend now: mature confirmed outputs and unconfirmed ones in the
 * mempool (change of its own spends), neither spent in the mempool.
 */
export async function walletCoins(chain: ChainNode, address: string): Promise<WalletUtxo[]> {
  const confirmed = (await chain.getAddressCoins(address)).filter(({ txid: t, vout, coin }) =>
    (!coin.coinbase || chain.tip().height + 1 - coin.height >= chain.params.coinbaseMaturity) &&
    !chain.mempool.spender(t, vout)
  ).map((c) => ({
    txid: c.txid,
    vout: c.vout,
    value: c.coin.value,
    scriptPubKey: c.coin.scriptPubKey,
  }));
  const mine = payToAddressScript(address);
  const pending = chain.mempool.entries().flatMap((e) =>
    e.tx.outputs.flatMap((o, vout) =>
      equalBytes(o.scriptPubKey, mine) && !chain.mempool.spender(e.txid, vout)
        ? [{ txid: e.txid, vout, value: o.value, scriptPubKey: o.scriptPubKey }]
        : []
    )
  );
  return [...confirmed, ...pending];
}
