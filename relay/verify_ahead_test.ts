import assert from "node:assert/strict";
import { toHex } from "../chain/bytes.ts";
import { defaultVerifyPool } from "../chain/verify_pool.ts";
import { encodeEnvelope, type Envelope } from "./envelope.ts";
import { NodeIdentity } from "./identity.ts";
import { DEV_MAGIC, networkTest, rawPeer, until } from "../tests/network/helpers.ts";
import { startTestRelay } from "../tests/network/relays.ts";

const PER_SENDER = 80;
const BAD_AT = 40;

networkTest(
  "envelopes from two links checked in one batch: the bad one is refused and charged to its own link",
  async () => {
    const relay = await startTestRelay({
      limits: { messagesPerSecond: 1e6, messageBurst: 1e6 },
    });
    const [rId, aId, bId] = [0, 1, 2].map(() => NodeIdentity.generate());
    const receiver = await rawPeer(relay.url, rId);
    const honest = await rawPeer(relay.url, aId);
    const cheat = await rawPeer(relay.url, bId);
    try {
      const direct = (id: NodeIdentity, i: number): Envelope =>
        id.sign({
          magic: DEV_MAGIC,
          type: "direct",
          to: rId.publicKey,
          payload: new TextEncoder().encode(`${id.keyHex.slice(0, 8)} ${i}`),
          hopLimit: 4,
        });
      const fromHonest = Array.from({ length: PER_SENDER }, (_, i) => direct(aId, i));
      const fromCheat = Array.from({ length: PER_SENDER }, (_, i) => direct(bId, i));
      // Signed, then altered: well formed, so only the signature check can refuse it.
      const bad = fromCheat[BAD_AT];
      fromCheat[BAD_AT] = { ...bad, payload: new TextEncoder().encode("altered after signing") };
      for (let i = 0; i < PER_SENDER; i++) {
        honest.ws.send(encodeEnvelope(fromHonest[i]));
        cheat.ws.send(encodeEnvelope(fromCheat[i]));
      }

      const ids = (envs: Envelope[]) => envs.map((e) => toHex(e.id));
      const delivered = () => new Set(ids(receiver.received.filter((e) => e.type === "direct")));
      const closed = await cheat.closed;
      assert.equal(closed.code, 1008, "the cheat's link is closed for its bad signature");
      await until(
        "every honest envelope and the cheat's ones before its bad one delivered",
        () => {
          const got = delivered();
          return [...ids(fromHonest), ...ids(fromCheat.slice(0, BAD_AT))].every((id) =>
            got.has(id)
          );
        },
        20_000,
      );
      const got = delivered();
      assert.ok(!got.has(toHex(bad.id)), "the altered envelope is not delivered");
      for (const e of fromCheat.slice(BAD_AT + 1)) {
        assert.ok(!got.has(toHex(e.id)), "nothing is handled on the cheat's link after it");
      }

      const net = relay.network;
      assert.ok(net.table.isDiscouraged("key", bId.keyHex), "the cheat's key is discouraged");
      assert.ok(!net.table.isDiscouraged("key", aId.keyHex), "the honest key is not");
      const links = net.peersInfo().links as { key: string; misbehaviour: number }[];
      const honestLink = links.find((l) => l.key === aId.keyHex);
      assert.ok(honestLink, "the honest link stays open");
      assert.equal(honestLink.misbehaviour, 0, "nothing is charged to the honest link");
      assert.equal(honest.ws.readyState, WebSocket.OPEN);
      assert.equal(net.router.stats.rejected, 1);
      // The checks went ahead of handling, in batches large enough for the pool's workers.
      assert.ok(
        net.router.stats.checkedAhead >= PER_SENDER + BAD_AT,
        `checked ahead: ${net.router.stats.checkedAhead}`,
      );
      assert.ok((await defaultVerifyPool().running()) > 0, "the verify pool's workers ran");
    } finally {
      for (const p of [receiver, honest, cheat]) p.ws.close();
      await relay.close();
    }
  },
);
