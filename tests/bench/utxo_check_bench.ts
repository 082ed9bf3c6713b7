/**
 * @module The start-up UTXO check (chain/utxo_check.ts) beside a plain pass over the coins
 * (`utxoTotals`), on a dev chain of 1,009 blocks and 10,006 coins in a KV file.
 */

import { COIN } from "../../chain/params.ts";
import { coinbaseOf, mine, newKey, openDevNode, spend } from "../chain_helpers.ts";

const { node } = await openDevNode();
const owner = newKey();
const firsts = await mine(node, owner, 3);
await mine(node, owner, node.params.coinbaseMaturity + 1);
for (const hash of firsts) {
  const coin = { txid: await coinbaseOf(node, hash), vout: 0, value: 50n * COIN };
  const outs = Array.from({ length: 3000 }, () => ({ value: COIN / 100n, script: owner.script }));
  await node.processTx(spend(owner, [coin], outs).bytes);
}
await mine(node, owner, 1000);

Deno.bench({
  name: "one pass over the coins (utxoTotals)",
  group: "utxo check at start",
  baseline: true,
  fn: async () => void await node.utxoTotals(),
});
Deno.bench({
  name: "checkUtxoSet (coins, coinbase origins, last 6 blocks)",
  group: "utxo check at start",
  fn: async () => void await node.checkUtxoSet(),
});
