/**
 * Five real node processes on loopback: discovery from one seed, a transaction reaching every
 * mempool and then a block everywhere, and a node killed with kill -9 catching up on restart.
 */

import assert from "node:assert/strict";
import { spawnDevnetNode, waitNodeReady } from "../../relay/devnet.ts";
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

networkTest(
  "five nodes find each other from one seed, gossip a tx and its block, and a killed node catches up",
  async () => {
    const net = await startTestNet(5, 1);
    const urls = () => net.nodes.map((n) => n.url);
    try {
      // Discovery: every node learns every other (with its proven key) from the single seed.
      await until("every node knows every other", async () => {
        const answers = await Promise.all(urls().map(peers));
        return answers.every((a, i) =>
          net.nodes.every((n, j) =>
            i === j || a.table.some((p) => p.url === n.url && p.key === answers[j].self.key)
          )
        );
      }, 20_000);

      // The miner's first coinbase matures (dev: 5 blocks), everyone follows its chain.
      await converged(urls(), 6, 40_000);

      // A payment posted to the last (non-mining) node reaches every mempool, then a block.
      const to = await walletAddress(net.nodes[3].dataDir).catch(() => null) ??
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT";
      const txid = await pay(net.nodes[0].dataDir, net.nodes[4].url, to, 100_000_000n);
      await until("tx in every mempool or already mined", async () => {
        const states = await Promise.all(urls().map((u) => txState(u, txid)));
        return states.every((s) => s !== null);
      }, 10_000);
      // The transaction itself travelled (inv/getdata/tx), not only inside a block.
      for (const n of net.nodes.slice(0, 4)) {
        const p = await getJson<{ stats: { sync: { txsReceived: number } } }>(
          `${n.url}/v1/peers`,
        );
        assert.ok(p.stats.sync.txsReceived >= 1, `${n.url} never received the tx by gossip`);
      }
      await until("tx confirmed in the same block on every node", async () => {
        const states = await Promise.all(urls().map((u) => txState(u, txid)));
        return states.every((s) => s?.blockHash && s.blockHash === states[0]?.blockHash);
      }, 20_000);

      // kill -9 a relaying node; the others go on; on restart it catches up from its peers.
      const victim = net.nodes[2];
      victim.child.kill("SIGKILL");
      await victim.child.status;
      const before = (await status(net.nodes[0].url)).height;
      await until("chain grows while the node is down", async () => {
        return (await status(net.nodes[0].url)).height >= before + 2;
      }, 20_000);
      net.nodes[2] = await spawnDevnetNode(net.options, 2);
      await waitNodeReady(net.nodes[2]);
      const tip = await converged(urls(), before + 2, 30_000);
      assert.ok(tip.height >= before + 2);
      const st = await txState(net.nodes[2].url, txid);
      assert.ok(st?.blockHash, "restarted node still has the confirmed payment");
    } finally {
      await net.close();
    }
  },
);
