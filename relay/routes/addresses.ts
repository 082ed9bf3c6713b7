/**
 * @module `GET /v1/addresses/:address`: an address's coins (mature or not, spent in the mempool or
 * not), its balance and what is spendable, and unconfirmed outputs paying it.
 */

import { Hono } from "hono";
import type { ChainNode } from "../../chain/node.ts";
import { toHex } from "../../chain/bytes.ts";
import { decodeAddress } from "../../chain/keys.ts";
import { formatCoins } from "../../chain/amount.ts";
import { scriptAddress } from "../../chain/script.ts";

/** The address route over `chain`. */
export function addressRoutes(chain: ChainNode): Hono {
  const app = new Hono();

  app.get("/v1/addresses/:address", async (c) => {
    const address = c.req.param("address");
    decodeAddress(address);
    const view = await chain.readConsistent(() => addressView(chain, address));
    return c.json(view);
  });

  return app;
}

/** An address's coins, balances and unconfirmed outputs, read in one consistent moment. */
async function addressView(chain: ChainNode, address: string) {
  const height = chain.tip().height;
  const coins = await chain.getAddressCoins(address);
  let balance = 0n;
  let spendable = 0n;
  const utxos = coins.map(({ txid, vout, coin }) => {
    const mature = !coin.coinbase || height + 1 - coin.height >= chain.params.coinbaseMaturity;
    const spentBy = chain.mempool.spender(txid, vout) ?? null;
    balance += coin.value;
    if (mature && !spentBy) spendable += coin.value;
    return {
      txid,
      vout,
      value: formatCoins(coin.value),
      units: coin.value.toString(),
      height: coin.height,
      coinbase: coin.coinbase,
      mature,
      spentInMempool: spentBy,
      scriptPubKey: toHex(coin.scriptPubKey),
    };
  });
  const pending = chain.mempool.entries().flatMap((e) =>
    e.tx.outputs.flatMap((o, vout) =>
      scriptAddress(o.scriptPubKey) === address && !chain.mempool.spender(e.txid, vout)
        ? [{
          txid: e.txid,
          vout,
          value: formatCoins(o.value),
          units: o.value.toString(),
          scriptPubKey: toHex(o.scriptPubKey),
        }]
        : []
    )
  );
  return {
    address,
    balance: formatCoins(balance),
    balanceUnits: balance.toString(),
    spendable: formatCoins(spendable),
    spendableUnits: spendable.toString(),
    utxos,
    unconfirmed: pending,
  };
}
