/**
 * Chains of payments sent round-robin to the nodes of a 3-node devnet, by 8 concurrent senders: a
 * child often reaches a node before its parent has propagated there. Every payment must be
 * accepted (held as an orphan until its parent arrives) and reach every node.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { unlockKeystore } from "../../chain/keystore.ts";
import { payToAddressScript } from "../../chain/script.ts";
import { txid } from "../../chain/tx.ts";
import { buildSpend, type WalletUtxo } from "../../chain/wallet.ts";
import type { AddressAnswer } from "../../relay/client.ts";
import { readKeystore, walletPath } from "../../relay/wallet_file.ts";
import { converged, getJson, networkTest, startTestNet, txState, until } from "./helpers.ts";

const SENDERS = 8;
const CHAIN_LENGTH = 25;
const FEE = 10_000n;

/** Posts a raw transaction; returns the status code and body. */
async function post(
  url: string,
  bytes: Uint8Array,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/txs`, { method: "POST", body: toHex(bytes) });
  return { status: res.status, body: await res.json() };
}

networkTest(
  "chains of payments sent round-robin to three nodes are all accepted and reach every node",
  async () => {
    const net = await startTestNet(3, 1);
    const urls = net.nodes.map((n) => n.url);
    try {
      await converged(urls, 6, 60_000);
      const ks = await readKeystore(walletPath(net.nodes[0].dataDir));
      const secretKey = await unlockKeystore(ks, "");
      const script = payToAddressScript(ks.address);
      const coins = await getJson<AddressAnswer>(`${urls[0]}/v1/addresses/${ks.address}`);
      const coin = coins.utxos.find((u) => u.mature && !u.spentInMempool)!;
      // One fan-out, then each sender spends its own output in a chain of CHAIN_LENGTH payments.
      const share = (BigInt(coin.units) - FEE) / BigInt(SENDERS);
      const fan = buildSpend({
        utxos: [{
          txid: coin.txid,
          vout: coin.vout,
          value: BigInt(coin.units),
          scriptPubKey: script,
        }],
        secretKey,
        outputs: Array.from({ length: SENDERS }, () => ({ value: share, scriptPubKey: script })),
        fee: BigInt(coin.units) - share * BigInt(SENDERS),
      });
      const fanId = txid(fan.tx);
      assert.equal((await post(urls[0], fan.bytes)).status, 202);
      const answers: { status: number; body: Record<string, unknown> }[] = [];
      const sender = async (s: number) => {
        let prev: WalletUtxo = { txid: fanId, vout: s, value: share, scriptPubKey: script };
        for (let j = 0; j < CHAIN_LENGTH; j++) {
          const value = prev.value - FEE;
          const { tx, bytes } = buildSpend({
            utxos: [prev],
            secretKey,
            outputs: [{ value, scriptPubKey: script }],
            fee: FEE,
          });
          const a = await post(urls[(s + j + 1) % urls.length], bytes);
          answers.push(a);
          prev = { txid: txid(tx), vout: 0, value, scriptPubKey: script };
        }
      };
      await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
      const refused = answers.filter((a) => a.status !== 202);
      const codes = refused.map((a) => (a.body.error as { code: string }).code);
      const orphans = answers.filter((a) => a.body.status === "orphan").length;
      console.log(
        `${answers.length} chained payments: ${orphans} held as orphans first, ${refused.length} refused ${
          JSON.stringify([...new Set(codes)])
        }`,
      );
      assert.deepEqual(refused, [], "no payment refused (before: tx/missing-inputs)");
      const ids = answers.map((a) => a.body.txid as string);
      await until("every payment on every node (mempool or chain)", async () => {
        for (const url of urls) {
          for (const id of ids) if (!(await txState(url, id))) return false;
        }
        return true;
      }, 60_000);
    } finally {
      await net.close();
    }
  },
);
