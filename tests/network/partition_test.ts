/**
 * Four real node processes, two of them mining: the miners race and the chain converges with no
 * payment lost; then the network is cut into two halves that both mine, and healed: every node
 * ends on the most-work chain and the losing branch's transaction is back in the mempools (or
 * mined again on the winning chain).
 */

import assert from "node:assert/strict";
import {
  converged,
  getJson,
  networkTest,
  pay,
  peers,
  startTestNet,
  status,
  txState,
  until,
  walletAddress,
} from "./helpers.ts";

interface Utxo {
  txid: string;
  vout: number;
  mature: boolean;
}

async function matureCoins(url: string, address: string): Promise<Set<string>> {
  const a = await getJson<{ utxos: Utxo[] }>(`${url}/v1/addresses/${address}`);
  return new Set(a.utxos.filter((u) => u.mature).map((u) => `${u.txid}:${u.vout}`));
}

async function admin(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
}

networkTest(
  "racing miners converge without losing a payment; a healed partition converges on most work",
  async () => {
    const net = await startTestNet(4, 2);
    const urls = net.nodes.map((n) => n.url);
    const [a0, b0, a1, b1] = net.nodes; // nodes 0 and 1 mine
    const sideA = [a0, a1];
    const sideB = [b0, b1];
    try {
      const addrA = await walletAddress(a0.dataDir);
      const addrB = await walletAddress(b0.dataDir);
      // Both miners race until each has a mature coinbase on the shared chain.
      await until("both miners hold mature coins", async () => {
        await converged(urls, 6, 5_000);
        return (await matureCoins(a0.url, addrA)).size > 0 &&
          (await matureCoins(a0.url, addrB)).size > 0;
      }, 60_000);

      // A payment during the race is confirmed on the one chain everybody agrees on.
      const paid = await pay(a0.dataDir, b1.url, addrB, 20_000_000n);
      await until("race payment confirmed everywhere", async () => {
        const s = await Promise.all(urls.map((u) => txState(u, paid)));
        return s.every((x) => x?.blockHash && x.blockHash === s[0]?.blockHash);
      }, 20_000);

      // Cut every link between the halves (each side refuses the other's keys).
      const keys = await Promise.all(urls.map(async (u) => (await peers(u)).self.key));
      const keyOf = (n: typeof a0) => keys[net.nodes.indexOf(n)];
      // Every node with every node of the other half, both ways.
      const across = [[sideA, sideB], [sideB, sideA]].flatMap(([mine, theirs]) =>
        mine.flatMap((n) => theirs.map((o) => ({ n, o })))
      );
      for (const { n, o } of across) {
        await admin(n.url, "POST", "/v1/peers/discourage", { key: keyOf(o), seconds: 600 });
      }
      await until("no link crosses the cut", async () => {
        for (const { n, o } of across) {
          if ((await peers(n.url)).links.some((l) => l.key === keyOf(o))) return false;
        }
        return true;
      }, 10_000);
      const fork = await status(a0.url);
      const coinsA = await matureCoins(a0.url, addrA);
      const coinsB = await matureCoins(b0.url, addrB);

      // Each half pays (from coins of the shared history) and mines its own branch.
      const payFrom = (coins: Set<string>, [payer, via]: typeof sideA, to: string, units: bigint) =>
        pay(payer.dataDir, via.url, to, units, (u) => coins.has(`${u.txid}:${u.vout}`));
      const txA = await payFrom(coinsA, sideA, addrB, 30_000_000n);
      const txB = await payFrom(coinsB, sideB, addrA, 40_000_000n);
      const minedIn = new Map<string, string>();
      for (const [side, tx] of [[sideA, txA], [sideB, txB]] as const) {
        await until(`half-network payment ${tx.slice(0, 8)} mined on its side`, async () => {
          const s = await Promise.all(side.map((n) => txState(n.url, tx)));
          if (!s.every((x) => x?.blockHash && x.blockHash === s[0]?.blockHash)) return false;
          minedIn.set(tx, s[0]!.blockHash!);
          return true;
        }, 20_000);
      }
      await until("both halves grew past the fork", async () => {
        const [sa, sb] = await Promise.all([status(a0.url), status(b0.url)]);
        return sa.height >= fork.height + 2 && sb.height >= fork.height + 2 && sa.tip !== sb.tip;
      }, 20_000);
      const heights = await Promise.all(urls.map(status));
      const best = Math.max(...heights.map((s) => s.height));

      // Heal: lift every discouragement; discovery links the halves again.
      for (const { n, o } of across) {
        await admin(n.url, "DELETE", `/v1/peers/discourage?key=${keyOf(o)}`);
      }
      await converged(urls, best + 1, 40_000);

      // Every node holds both half-network payments: on the active chain or in its mempool.
      // The losing half's block is gone, so its payment moved (back to the mempool, or into
      // a new block of the winning chain).
      let moved = 0;
      await until("both payments held by every node after the heal", async () => {
        moved = 0;
        for (const tx of [txA, txB]) {
          const s = await Promise.all(urls.map((u) => txState(u, tx)));
          if (s.some((x) => x === null)) return false;
          if (s.some((x) => x!.blockHash !== minedIn.get(tx))) moved++;
        }
        return true;
      }, 20_000);
      assert.ok(moved >= 1, "one half's block should have been reorganized away");
      // Nothing paid is lost: the race payment is still confirmed everywhere.
      for (const u of urls) assert.ok((await txState(u, paid))?.blockHash, `${u} lost ${paid}`);
    } finally {
      await net.close();
    }
  },
);
