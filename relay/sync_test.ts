import assert from "node:assert/strict";
import { ChainNode } from "../chain/node.ts";
import { networkParams } from "../chain/params.ts";
import { payToAddressScript } from "../chain/script.ts";
import { mineBlock } from "../chain/miner.ts";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../chain/keys.ts";
import { encodeHeaders } from "./envelope.ts";
import { NodeIdentity } from "./identity.ts";
import { networkTest, rawPeer, until } from "../tests/network/helpers.ts";
import { startTestRelay, type TestRelayOptions } from "../tests/network/relays.ts";

const params = networkParams("dev");

async function chainNode(opts: TestRelayOptions = {}) {
  const relay = await startTestRelay({
    ...opts,
    openChain: (kv) => ChainNode.open({ params, kv }),
  });
  return { ...relay, chain: relay.chain! };
}

networkTest(
  "a new node syncs headers first, then fetches blocks from several peers in parallel",
  async () => {
    const a = await chainNode();
    const payTo = payToAddressScript(addressFromPublicKey(publicKeyOf(generateSecretKey())));
    for (let i = 0; i < 48; i++) {
      const bytes = await mineBlock(a.chain, payTo);
      assert.ok(bytes);
      assert.equal((await a.chain.processBlock(bytes)).status, "connected");
    }
    const b = await chainNode({ seeds: [a.url] });
    const nodes = [a, b];
    try {
      await until("b synced", () => b.chain.tip().hash === a.chain.tip().hash);
      const c = await chainNode({ seeds: [a.url, b.url], limits: { targetOutbound: 2 } });
      nodes.push(c);
      await until("c synced", () => c.chain.tip().hash === a.chain.tip().hash);
      assert.equal(c.chain.tip().height, 48);
      const by = c.network.sync!.stats.blocksByPeer;
      assert.ok(c.network.sync!.stats.headersReceived >= 48);
      const sources = Object.values(by).filter((n) => n > 0);
      assert.equal(sources.length, 2, `blocks came from ${JSON.stringify(by)}`);
      assert.equal(sources.reduce((x, y) => x + y, 0), 48, "each block fetched once");

      // A new block mined at b is announced and reaches a and c.
      const bytes = await mineBlock(b.chain, payTo);
      await b.chain.processBlock(bytes!);
      await until(
        "new block everywhere",
        () => a.chain.tip().height === 49 && c.chain.tip().height === 49,
      );
    } finally {
      for (const n of nodes) await n.close();
    }
  },
);

networkTest("headers without proof of work get the sender discouraged", async () => {
  const a = await chainNode();
  try {
    const id = NodeIdentity.generate();
    const peer = await rawPeer(a.url, id);
    const junk = new Uint8Array(80).fill(0xff); // bits 0xffffffff: far above the pow limit
    for (let i = 0; i < 2; i++) {
      peer.send(id.sign({
        magic: params.magic,
        type: "headers",
        to: peer.serverKey,
        payload: encodeHeaders([junk]),
      }));
    }
    assert.equal((await peer.closed).code, 1008);
    assert.ok(a.network.table.isDiscouraged("key", id.keyHex));
  } finally {
    await a.close();
  }
});
