import assert from "node:assert/strict";
import { BROADCAST, encodeEnvelope, encodeNonce, envelopeToJson } from "./envelope.ts";
import { NodeIdentity } from "./identity.ts";
import { networkTest, rawPeer, until } from "../tests/network/helpers.ts";
import {
  nextMessage,
  startTestRelay as startRelay,
  type TestRelay,
} from "../tests/network/relays.ts";

const MAGIC = 0xc4a3e1d2; // dev

function post(r: TestRelay, body: BodyInit, ip?: string, type = "application/json") {
  return r.fetch(
    new Request(`${r.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": type },
      body,
    }),
    ip,
  );
}

networkTest(
  "relays discover each other from a single seed and serve the table on /v1/peers",
  async () => {
    const seed = await startRelay();
    const others = [];
    for (let i = 0; i < 3; i++) others.push(await startRelay({ seeds: [seed.url] }));
    const all = [seed, ...others];
    try {
      await until(
        "every relay knows every other",
        () =>
          all.every((r) =>
            all.every((o) => o === r || r.network.table.get(o.url)?.key === o.network.selfKeyHex)
          ),
      );
      const res = await all[1].fetch(new Request(`${all[1].url}/v1/peers`));
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.self.key, all[1].network.selfKeyHex);
      const urls = new Set(body.table.map((p: { url: string }) => p.url));
      for (const o of all) if (o !== all[1]) assert.ok(urls.has(o.url), `table lacks ${o.url}`);
    } finally {
      for (const r of all) await r.close();
    }
  },
);

networkTest(
  "direct and broadcast messages cross a chain of relays; unknown keys land in inboxes",
  async () => {
    // b accepts; a and c dial only b (one outbound link each, no inbound), so a-b-c is a chain.
    const b = await startRelay({ limits: { targetOutbound: 0 } });
    const a = await startRelay({ seeds: [b.url], limits: { targetOutbound: 1, maxInbound: 0 } });
    const c = await startRelay({ seeds: [b.url], limits: { targetOutbound: 1, maxInbound: 0 } });
    try {
      await until("a and c linked to b", () => [...b.network.openLinks()].length === 2);
      assert.equal(a.network.linkByKey(c.network.selfKeyHex), undefined);

      const got = nextMessage(c.network, (e) => e.type === "direct");
      const sent = a.network.send(new TextEncoder().encode("to c"), c.network.selfKey);
      const env = await got;
      assert.equal(new TextDecoder().decode(env.payload), "to c");
      assert.deepEqual(env.id, sent.envelope.id);
      assert.equal(env.hopLimit, sent.envelope.hopLimit - 2);

      const atB = nextMessage(b.network, (e) => e.type === "direct" && e.to.every((x) => x === 0));
      const atC = nextMessage(c.network, (e) => e.type === "direct" && e.to.every((x) => x === 0));
      a.network.send(new TextEncoder().encode("all"));
      await Promise.all([atB, atC]);

      // A socket-less client posts to a for a key no relay links to; it can collect it at c.
      const client = NodeIdentity.generate();
      const recipient = NodeIdentity.generate();
      const msg = client.sign({
        magic: MAGIC,
        type: "direct",
        to: recipient.publicKey,
        payload: new Uint8Array([1, 2, 3]),
        hopLimit: 4,
      });
      const res = await post(a, JSON.stringify(envelopeToJson(msg)));
      assert.equal(res.status, 202, await res.clone().text());
      await until("message reached c's inbox", async () => {
        const r = await c.fetch(new Request(`${c.url}/v1/messages?to=${recipient.keyHex}`));
        const body = await r.json();
        return body.messages.length === 1 && body.messages[0].payload === "010203";
      });
      const bad = await c.fetch(new Request(`${c.url}/v1/messages?to=zz`));
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "messages/to");
    } finally {
      for (const r of [a, b, c]) await r.close();
    }
  },
);

networkTest(
  "HTTP abuse is answered 413, 400, 401, 409 and 429; an offending address is discouraged",
  async () => {
    const r = await startRelay({
      limits: { maxEnvelopeBytes: 4096, messagesPerSecond: 5, messageBurst: 20 },
    });
    try {
      const client = NodeIdentity.generate();
      const mk = (payload = new Uint8Array(1)) =>
        client.sign({ magic: MAGIC, type: "direct", to: BROADCAST, payload, hopLimit: 2 });
      const err = async (res: Response) => (await res.json()).error.code;

      let res = await post(r, JSON.stringify(envelopeToJson(mk(new Uint8Array(5000)))), "10.0.0.1");
      assert.equal(res.status, 413);
      assert.equal(await err(res), "envelope/too-large");
      res = await post(r, "x".repeat(20_000), "10.0.0.1");
      assert.equal(res.status, 413);
      res = await post(r, "{not json", "10.0.0.1");
      assert.equal(res.status, 400);
      assert.equal(await err(res), "envelope/malformed");
      res = await post(r, "\x00\x01garbage", "10.0.0.1", "application/octet-stream");
      assert.equal(res.status, 400);
      const stale = client.sign({
        magic: MAGIC,
        type: "direct",
        payload: new Uint8Array(1),
        timestamp: Date.now() - 3600_000,
      });
      res = await post(r, JSON.stringify(envelopeToJson(stale)), "10.0.0.2");
      assert.equal(res.status, 400);
      assert.equal(await err(res), "envelope/skew");
      const hello = client.sign({ magic: MAGIC, type: "hello", payload: new Uint8Array(0) });
      res = await post(r, JSON.stringify(envelopeToJson(hello)), "10.0.0.2");
      assert.equal(res.status, 400);
      assert.equal(await err(res), "envelope/link-local");

      const bin = encodeEnvelope(mk()) as Uint8Array<ArrayBuffer>;
      res = await post(r, bin, "10.0.0.3", "application/octet-stream");
      assert.equal(res.status, 202);
      const good = mk();
      res = await post(r, JSON.stringify(envelopeToJson(good)), "10.0.0.3");
      assert.equal(res.status, 202);
      res = await post(r, JSON.stringify(envelopeToJson(good)), "10.0.0.3");
      assert.equal(res.status, 409);
      assert.equal(await err(res), "envelope/replay");

      // A bad signature costs the full ban score: the address is discouraged.
      const forged = { ...mk(), payload: new Uint8Array([9]) };
      res = await post(r, JSON.stringify(envelopeToJson(forged)), "10.6.6.6");
      assert.equal(res.status, 401);
      assert.equal(await err(res), "envelope/signature");
      res = await post(r, JSON.stringify(envelopeToJson(mk())), "10.6.6.6");
      assert.equal(res.status, 403);
      assert.equal(await err(res), "peer/discouraged");
      const peers = await (await r.fetch(new Request(`${r.url}/v1/peers`))).json();
      assert.ok(peers.discouraged.some((d: { value: string }) => d.value === "10.6.6.6"));

      // A flood from one address hits the per-address bucket; others are still served.
      let limited = 0;
      for (let i = 0; i < 40; i++) {
        res = await post(r, JSON.stringify(envelopeToJson(mk())), "10.0.0.4");
        if (res.status === 429) {
          limited++;
          assert.equal(await err(res), "rate/limited");
        } else await res.body?.cancel();
      }
      assert.ok(limited >= 15, `only ${limited} of 40 were rate limited`);
      res = await post(r, JSON.stringify(envelopeToJson(mk())), "10.0.0.5");
      assert.equal(res.status, 202);
    } finally {
      await r.close();
    }
  },
);

networkTest(
  "link abuse: oversized frames close 1009, garbage, floods and forgeries discourage the key",
  async () => {
    const r = await startRelay({
      limits: { maxEnvelopeBytes: 4096, messagesPerSecond: 20, messageBurst: 20 },
    });
    const friend = await startRelay({ seeds: [r.url] });
    try {
      // Oversized frame.
      const big = await rawPeer(r.url, NodeIdentity.generate());
      big.ws.send(new Uint8Array(5000));
      assert.equal((await big.closed).code, 1009);

      // Garbage binary frame after the handshake: the key is discouraged and refused next time.
      const junkId = NodeIdentity.generate();
      const junk = await rawPeer(r.url, junkId);
      junk.ws.send(new Uint8Array([1, 2, 3, 4, 5]));
      assert.equal((await junk.closed).code, 1008);
      await until(
        "junk key discouraged",
        () => r.network.table.isDiscouraged("key", junkId.keyHex),
      );
      const again = await rawPeer(r.url, junkId);
      assert.equal((await again.closed).code, 4003);

      // Text frames are refused outright.
      const texter = await rawPeer(r.url, NodeIdentity.generate());
      texter.ws.send("hello");
      assert.equal((await texter.closed).code, 1003);

      // A forged signature on a routed message.
      const forgerId = NodeIdentity.generate();
      const forger = await rawPeer(r.url, forgerId);
      const env = forgerId.sign({ magic: MAGIC, type: "direct", payload: new Uint8Array([1]) });
      forger.send({ ...env, payload: new Uint8Array([2]) });
      assert.equal((await forger.closed).code, 1008);
      assert.ok(r.network.table.isDiscouraged("key", forgerId.keyHex));

      // Replays of one message on one link.
      const replayerId = NodeIdentity.generate();
      const replayer = await rawPeer(r.url, replayerId);
      const once = replayerId.sign({ magic: MAGIC, type: "direct", payload: new Uint8Array([1]) });
      for (let i = 0; i < 6; i++) replayer.send(once);
      assert.equal((await replayer.closed).code, 1008);
      assert.ok(r.network.table.isDiscouraged("key", replayerId.keyHex));

      // A flood of pings beyond the per-link rate.
      const flooderId = NodeIdentity.generate();
      const flooder = await rawPeer(r.url, flooderId);
      for (let i = 0; i < 200; i++) {
        flooder.send(flooderId.sign({
          magic: MAGIC,
          type: "ping",
          to: flooder.serverKey,
          payload: encodeNonce(BigInt(i)),
        }));
      }
      // The link is cut (while the flooder is still writing, its socket may see a reset rather
      // than the 1008 close frame) and the key is discouraged.
      await flooder.closed;
      await until(
        "flooder discouraged",
        () => r.network.table.isDiscouraged("key", flooderId.keyHex),
      );
      assert.equal(r.network.linkByKey(flooderId.keyHex), undefined);
      assert.ok(r.network.table.isDiscouraged("key", flooderId.keyHex));
      const listed = await (await r.fetch(new Request(`${r.url}/v1/peers`))).json();
      assert.ok(
        listed.discouraged.some((d: { kind: string; value: string }) =>
          d.kind === "key" && d.value === flooderId.keyHex
        ),
        "the flooder's key is listed as discouraged on /v1/peers",
      );

      // The relay still serves a well-behaved peer: a message routes to it.
      await until("friend linked", () => !!r.network.linkByKey(friend.network.selfKeyHex));
      const got = nextMessage(friend.network, (e) => e.type === "direct");
      r.network.send(new Uint8Array([42]), friend.network.selfKey);
      assert.deepEqual((await got).payload, new Uint8Array([42]));
    } finally {
      await friend.close();
      await r.close();
    }
  },
);

networkTest(
  "our own message is flooded when our inbox cannot keep it; a peer's refused one is not",
  async () => {
    // a keeps at most 1 kB; b, its only link, keeps the default budgets.
    const b = await startRelay({ limits: { targetOutbound: 0 } });
    const a = await startRelay({
      seeds: [b.url],
      limits: { targetOutbound: 1, maxInbound: 0, inboxTotalBytes: 1000 },
    });
    try {
      await until("a linked to b", () => [...b.network.openLinks()].length === 1);
      const nobody = NodeIdentity.generate().publicKey;
      const sent = a.network.send(new Uint8Array(4000), nobody);
      assert.equal(sent.result, "stored");
      assert.equal(a.network.inbox.size, 0, "a could not keep it");
      await until("b keeps it", () => b.network.inbox.size === 1);
      // The same from a client of c (1 kB budget): refused (too large for it), not flooded.
      const c = await startRelay({
        seeds: [b.url],
        limits: { targetOutbound: 1, inboxTotalBytes: 1000 },
      });
      try {
        await until("c linked to b", () => [...c.network.openLinks()].length === 1);
        const res = await post(c, JSON.stringify(envelopeToJson(sent.envelope)), "10.1.2.3");
        assert.equal(res.status, 413);
        assert.equal((await res.json()).error.code, "inbox/too-large");
        assert.equal(c.network.router.stats.forwarded, 0, "a refused message is not flooded");
      } finally {
        await c.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  },
);
