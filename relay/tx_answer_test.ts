import assert from "node:assert/strict";
import { toHex } from "../chain/bytes.ts";
import { sha256d } from "../chain/hash.ts";
import { ChainNode } from "../chain/node.ts";
import { networkParams } from "../chain/params.ts";
import { encodeTransaction, NO_JOB, spendInput } from "../chain/tx.ts";
import { decodeInv, encodeInv } from "./envelope.ts";
import { NodeIdentity } from "./identity.ts";
import { DEV_MAGIC, networkTest, rawPeer, until } from "../tests/network/helpers.ts";
import { startTestRelay } from "../tests/network/relays.ts";

/** A decodable transaction spending an unknown coin (an orphan to the node, not a violation). */
function orphanTx(): Uint8Array {
  return encodeTransaction({
    version: 1,
    inputs: [
      spendInput(
        { txid: toHex(crypto.getRandomValues(new Uint8Array(32))), vout: 0 },
        crypto.getRandomValues(new Uint8Array(97)),
      ),
    ],
    outputs: [{ value: 1000n, scriptPubKey: new Uint8Array(21).fill(1) }],
    lockTime: 0,
    jobId: NO_JOB,
  });
}

networkTest(
  "transactions a node asked for pass the link's rate limit; unrequested ones do not",
  async () => {
    const params = networkParams("dev");
    const relay = await startTestRelay({
      limits: { messagesPerSecond: 2, messageBurst: 5 },
      openChain: (kv) => ChainNode.open({ params, kv }),
    });
    const id = NodeIdentity.generate();
    const peer = await rawPeer(relay.url, id);
    try {
      const send = (type: "inv" | "tx", payload: Uint8Array) =>
        peer.send(id.sign({ magic: DEV_MAGIC, type, to: peer.serverKey, payload }));
      const link = () =>
        (relay.network.peersInfo().links as { key: string; misbehaviour: number }[])
          .find((l) => l.key === id.keyHex);
      const txs = Array.from({ length: 40 }, orphanTx);
      send("inv", encodeInv(txs.map((t) => ({ kind: "tx", hash: toHex(sha256d(t)) }))));
      await until(
        "the node asks for every announced transaction",
        () =>
          peer.received.some((e) =>
            e.type === "getdata" && decodeInv(e.payload).length === txs.length
          ),
      );
      for (const t of txs) send("tx", t);
      const sync = relay.network.sync!;
      await until("every answer handled", () => sync.stats.txsReceived === txs.length);
      assert.equal(link()?.misbehaviour, 0, "40 answers in a burst over a limit of 5");

      // The same burst unasked (and a requested transaction sent twice) is rate limited.
      for (const t of [txs[0], ...Array.from({ length: 20 }, orphanTx)]) send("tx", t);
      await until("the unrequested burst is charged", () => (link()?.misbehaviour ?? 100) > 0);
      assert.ok(sync.stats.txsReceived < txs.length + 21, "some of the burst was refused");
    } finally {
      peer.ws.close();
      await relay.close();
    }
  },
);
