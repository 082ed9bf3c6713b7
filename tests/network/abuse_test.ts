/**
 * Abuse against a real node process: oversized envelopes, floods, bad signatures, replays and
 * garbage frames are each answered as specified, the offender is discouraged, and the node still
 * serves others (a second node stays linked and in sync, a good client is still accepted). The
 * per-link ping flood is tested on in-process relays (relay/network_test.ts).
 */

import assert from "node:assert/strict";
import { BROADCAST, envelopeToJson } from "../../relay/envelope.ts";
import { NodeIdentity } from "../../relay/identity.ts";
import {
  converged,
  DEV_MAGIC,
  networkTest,
  peers,
  rawPeer,
  startTestNet,
  until,
} from "./helpers.ts";

networkTest(
  "a node answers abuse with 413/429/401/400/409 and 1009, discourages offenders, serves others",
  async () => {
    const net = await startTestNet(2, 1, { messagesPerSecond: 20, messageBurst: 40 });
    const [target, friend] = net.nodes;
    const post = (body: BodyInit, type = "application/json") =>
      fetch(`${target.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
    const code = async (res: Response) => (await res.json()).error.code;
    try {
      const client = NodeIdentity.generate();
      const mk = (payload = new Uint8Array(1)) =>
        client.sign({ magic: DEV_MAGIC, type: "direct", to: BROADCAST, payload, hopLimit: 2 });

      // HTTP: oversized, garbage, bad signature, replay.
      let res = await post(JSON.stringify(envelopeToJson(mk(new Uint8Array(1024 * 1024 + 1)))));
      assert.equal(res.status, 413);
      assert.equal(await code(res), "envelope/too-large");
      res = await post(new Uint8Array([0xde, 0xad, 0xbe, 0xef]), "application/octet-stream");
      assert.equal(res.status, 400);
      assert.equal(await code(res), "envelope/malformed");
      res = await post(JSON.stringify({ ...envelopeToJson(mk()), payload: "ff" }));
      assert.equal(res.status, 401);
      assert.equal(await code(res), "envelope/signature");
      const good = JSON.stringify(envelopeToJson(mk()));
      res = await post(good);
      assert.equal(res.status, 202, await res.clone().text());
      await res.body?.cancel();
      res = await post(good);
      assert.equal(res.status, 409);
      assert.equal(await code(res), "envelope/replay");

      // HTTP flood: the per-address bucket (here 20/s, burst 40) runs dry.
      const answers = await Promise.all(
        Array.from({ length: 200 }, () => post(JSON.stringify(envelopeToJson(mk())))),
      );
      const statuses = await Promise.all(answers.map(async (r) => {
        await r.body?.cancel();
        return r.status;
      }));
      assert.ok(statuses.filter((s) => s === 429).length > 0, "a flood must be rate limited");

      // Links: an oversized frame is closed with 1009.
      const big = await rawPeer(target.url, NodeIdentity.generate());
      big.ws.send(new Uint8Array(1024 * 1024 + 1));
      assert.equal((await big.closed).code, 1009);

      // Garbage after the handshake: disconnected, key discouraged, refused on return.
      const junkId = NodeIdentity.generate();
      const junk = await rawPeer(target.url, junkId);
      junk.ws.send(new Uint8Array([7, 7, 7]));
      assert.equal((await junk.closed).code, 1008);
      const again = await rawPeer(target.url, junkId);
      assert.equal((await again.closed).code, 4003);

      // A forged routed message on a link.
      const forgerId = NodeIdentity.generate();
      const forger = await rawPeer(target.url, forgerId);
      const env = forgerId.sign({ magic: DEV_MAGIC, type: "direct", payload: new Uint8Array(1) });
      forger.send({ ...env, payload: new Uint8Array([2]) });
      assert.equal((await forger.closed).code, 1008);

      const table = await peers(target.url);
      for (const id of [junkId, forgerId]) {
        assert.ok(
          table.discouraged.some((d) => d.kind === "key" && d.value === id.keyHex),
          `key ${id.keyHex.slice(0, 12)} should be discouraged`,
        );
      }

      // Still serving others: the friend node stays linked and follows the chain.
      const friendKey = (await peers(friend.url)).self.key;
      await until("friend still linked", async () => {
        return (await peers(target.url)).links.some((l) => l.key === friendKey);
      }, 10_000);
      await converged([target.url, friend.url], 2, 20_000);
    } finally {
      await net.close();
    }
  },
);
