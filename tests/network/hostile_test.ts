/**
 * Hostile peers against a real node process (issue 11), each attack over loopback sockets with the
 * node's resident memory sampled from /proc during the attack: an inbox stuffed with 1 MB messages
 * (HTTP and a link), a peer that asks and never reads, inbound slots held by four source addresses,
 * oversized WebSocket frames before the handshake, and HTTP floods on every route.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { encodeEnvelope, encodeGetHeaders, type Envelope } from "../../relay/envelope.ts";
import { NodeIdentity } from "../../relay/identity.ts";
import { spawnDevnetNode, waitNodeReady } from "../../relay/devnet.ts";
import {
  DEV_MAGIC,
  freePorts,
  networkTest,
  peers,
  rawPeer,
  startTestNet,
  status,
  until,
} from "./helpers.ts";
import { heldPost, requestFrom } from "./http_from.ts";
import { frameHeader, RawLink } from "./raw_link.ts";
import { mb, RssSampler } from "./rss.ts";
import { mine, newKey, openDevNode } from "../chain_helpers.ts";

/** A payload that makes a direct envelope just under the 1 MiB envelope limit. */
const BIG_PAYLOAD = new Uint8Array(1024 * 1024 - 200).fill(0x5a);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 1 MB direct message from a fresh key to a fresh recipient (no link here: it is stored). */
function bigDirect(): Envelope {
  return NodeIdentity.generate().sign({
    magic: DEV_MAGIC,
    type: "direct",
    to: NodeIdentity.generate().publicKey,
    payload: BIG_PAYLOAD,
    hopLimit: 1,
  });
}

/** Counts answers by "status code/error code". */
function tally(counts: Map<string, number>, status: number, code = ""): void {
  const k = code ? `${status} ${code}` : String(status);
  counts.set(k, (counts.get(k) ?? 0) + 1);
}

function show(counts: Map<string, number>): string {
  return [...counts].map(([k, n]) => `${k} x${n}`).join(", ");
}

networkTest(
  "inbox: 150 x 1 MB over HTTP and 300 x 1 MB over a link are refused past the byte budgets",
  async () => {
    // Loopback is one host and not discouraged by address by default; here it may be, so that
    // the charge for refused messages shows as a discouragement of 127.0.0.2.
    const net = await startTestNet(1, 0, { discourageLoopback: true });
    const node = net.nodes[0];
    try {
      const http = new RssSampler(node.child.pid);
      const counts = new Map<string, number>();
      // A refusal is answered before the 1 MB body is read and the connection closed; the kernel
      // may then reset it while the body is still going out and discard the unread answer (status
      // 0, "0 EPIPE" or "0 ECONNRESET" below). That may happen only to a refused message.
      let refusedBefore = false;
      for (let i = 0; i < 150; i++) {
        const a = await requestFrom("127.0.0.2", `${node.url}/v1/messages`, {
          method: "POST",
          body: encodeEnvelope(bigDirect()),
          type: "application/octet-stream",
        });
        if (a.reset && !refusedBefore) {
          assert.fail(`message ${i} was reset (${a.reset}) before any refusal: ${show(counts)}`);
        }
        tally(counts, a.status, a.reset ?? a.body?.error?.code);
        if (a.status === 429 || a.status === 403) refusedBefore = true;
      }
      const httpFig = http.stop();
      console.log(
        `inbox over HTTP: ${show(counts)}; RSS ${mb(httpFig.before)} -> peak ${
          mb(httpFig.peak)
        } MB (+${mb(httpFig.growth)})`,
      );

      const link = new RssSampler(node.child.pid);
      const id = NodeIdentity.generate();
      const peer = await rawPeer(node.url, id);
      let sent = 0;
      let closeCode = 0;
      peer.closed.then((e) => closeCode = e.code);
      while (sent < 300 && !closeCode) {
        if (peer.ws.bufferedAmount > 4 * 1024 * 1024) {
          await sleep(5);
          continue;
        }
        peer.send(bigDirect());
        sent++;
      }
      await Promise.race([peer.closed, sleep(5000)]);
      const linkFig = link.stop();
      console.log(
        `inbox over a link: ${sent} sent, closed ${closeCode || "no"}; RSS ${
          mb(linkFig.before)
        } -> peak ${mb(linkFig.peak)} MB (+${mb(linkFig.growth)})`,
      );
      const info = await peers(node.url) as unknown as {
        stats: { inbox: { messages: number; bytes: number } };
      };
      console.log(`inbox holds ${JSON.stringify(info.stats.inbox)}`);

      assert.ok((counts.get("202") ?? 0) >= 1, "the first messages are stored");
      assert.ok(
        [...counts.keys()].some((k) => k.startsWith("429 inbox/")),
        `past the budget a message is refused with 429 inbox/...: ${show(counts)}`,
      );
      assert.ok(counts.has("403 peer/discouraged"), "the refusals are charged: 127.0.0.2 banned");
      assert.equal(closeCode, 1008, "the link is charged for refused messages and closed");
      assert.ok(sent < 300, "the link is closed before the attack ends");
      assert.ok(info.stats.inbox.bytes <= 64 * 1024 * 1024, "the inbox total byte budget");
      // Budget: what the inbox may hold from one origin (8 MiB) plus the 1 MB bodies in flight
      // and their garbage not yet collected (measured +65-83 MB); before the byte budgets the
      // HTTP attack grew RSS by 228 MB and the link attack by 285 MB.
      assert.ok(httpFig.growth < 128e6, `HTTP attack grew RSS by ${mb(httpFig.growth)} MB`);
      assert.ok(linkFig.growth < 96e6, `link attack grew RSS by ${mb(linkFig.growth)} MB`);
    } finally {
      await net.close();
    }
  },
);

networkTest(
  "a peer that asks and never reads is not answered past the backlog and is disconnected",
  async () => {
    const net = await startTestNet(1, 0);
    const node = net.nodes[0];
    try {
      // 300 blocks, so that a getheaders from an unknown locator is answered by 300 headers
      // (24 kB) for a request of 200 bytes.
      const dev = await openDevNode();
      for (const hash of await mine(dev.node, newKey(), 300)) {
        const res = await fetch(`${node.url}/v1/blocks`, {
          method: "POST",
          body: toHex((await dev.node.getBlockBytes(hash))!),
        });
        assert.equal(res.status, 202, await res.text());
      }
      dev.close();
      await Deno.remove(dev.dir, { recursive: true });
      const id = NodeIdentity.generate();
      const link = await RawLink.open(node.url);
      const serverKey = await link.handshake(id);
      link.pause();
      const sampler = new RssSampler(node.child.pid);
      // getheaders at about 180/s (under the rate limit), none of the answers read.
      const locator = encodeGetHeaders([toHex(crypto.getRandomValues(new Uint8Array(32)))]);
      const start = Date.now();
      let sent = 0;
      let goneAfter = -1;
      let maxBacklog = 0;
      while (Date.now() - start < 35_000 && !link.isClosed) {
        await link.sendFrame(encodeEnvelope(
          id.sign({ magic: DEV_MAGIC, type: "getheaders", to: serverKey, payload: locator }),
        ));
        sent++;
        if (sent % 45 === 0) {
          const p = await peers(node.url) as unknown as {
            links: { key: string; sendBacklog: number }[];
          };
          const mine = p.links.find((l) => l.key === id.keyHex);
          if (!mine) {
            goneAfter = Date.now() - start;
            break;
          }
          maxBacklog = Math.max(maxBacklog, mine.sendBacklog);
        }
        await sleep(5);
      }
      const fig = sampler.stop();
      if (goneAfter < 0 && link.isClosed) goneAfter = Date.now() - start;
      console.log(
        `never reads: ${sent} requests, send backlog up to ${mb(maxBacklog)} MB, link ${
          goneAfter >= 0 ? `dropped after ${goneAfter} ms` : "still open after 35 s"
        }; RSS ${mb(fig.before)} -> peak ${mb(fig.peak)} MB (+${mb(fig.growth)})`,
      );
      link.destroy();
      assert.ok(goneAfter >= 0, "the node disconnects a peer that does not read");
      // The backlog bound (8 MiB) plus at most one message sent before it was over.
      assert.ok(maxBacklog <= 9 * 1024 * 1024, `send backlog ${mb(maxBacklog)} MB`);
      // Budget: the link backlog bound (8 MiB) plus what is in flight; before, +70-130 MB.
      assert.ok(fig.growth < 48e6, `RSS grew by ${mb(fig.growth)} MB`);
      assert.equal((await status(node.url)).height >= 0, true);
    } finally {
      await net.close();
    }
  },
);

networkTest(
  "four source addresses holding every inbound slot cannot keep an honest node out",
  async () => {
    const net = await startTestNet(1, 0);
    const target = net.nodes[0];
    let stop = false;
    const attackers: Promise<void>[] = [];
    const opened = { links: 0, refused: 0 };
    // 4 addresses x 16 links (the per-address cap) authenticate and idle, taking all 64
    // inbound slots; 4 more addresses x 16 never finish the handshake. Each link reopens as
    // soon as it is closed.
    for (let a = 2; a <= 9; a++) {
      const from = `127.0.0.${a}`;
      for (let i = 0; i < 16; i++) {
        const authenticate = a <= 5;
        attackers.push((async () => {
          while (!stop) {
            let l: RawLink;
            try {
              l = await RawLink.open(target.url, { localAddress: from });
            } catch {
              await sleep(100);
              continue;
            }
            if (l.status !== 101) {
              opened.refused++;
              l.destroy();
              await sleep(50);
              continue;
            }
            opened.links++;
            if (authenticate) await l.handshake(NodeIdentity.generate()).catch(() => {});
            while (!stop && !l.isClosed) await sleep(100);
            l.destroy();
          }
        })());
      }
    }
    const honestOptions = {
      ...net.options,
      nodes: 2,
      mineNodes: 2,
      ports: [...net.options.ports!, ...freePorts(1)],
    };
    let honest: Awaited<ReturnType<typeof spawnDevnetNode>> | undefined;
    try {
      await until("attackers hold the inbound slots", () => opened.links >= 96, 20_000);
      honest = await spawnDevnetNode(honestOptions, 1);
      await waitNodeReady(honest);
      // The node answers HTTP before its relay has started; its key is known once it has.
      let honestKey: string | null = null;
      await until("the honest node's relay started", async () => {
        honestKey = (await peers(honest!.url)).self.key;
        return honestKey !== null;
      });
      const start = Date.now();
      let firstLinked = -1;
      let samples = 0;
      let linked = 0;
      while (Date.now() - start < 25_000) {
        const p = await peers(target.url);
        const isLinked = p.links.some((l) => l.key === honestKey);
        if (isLinked && firstLinked < 0) firstLinked = Date.now() - start;
        if (firstLinked >= 0) {
          samples++;
          if (isLinked) linked++;
        }
        await sleep(250);
      }
      console.log(
        `slots: attackers opened ${opened.links} links (${opened.refused} refused); honest ${
          firstLinked >= 0
            ? `linked after ${firstLinked} ms, then linked in ${linked}/${samples} samples`
            : "never linked in 25 s"
        }`,
      );
      assert.ok(firstLinked >= 0 && firstLinked < 10_000, "the honest node gets a slot");
      assert.ok(linked >= samples * 0.9, `and keeps it (${linked}/${samples})`);
    } finally {
      stop = true;
      await Promise.all(attackers);
      if (honest) {
        honest.child.kill("SIGTERM");
        await honest.child.status;
      }
      await net.close();
    }
  },
);

networkTest(
  "frames announcing 60 MB before the handshake are refused before they are buffered",
  async () => {
    const net = await startTestNet(1, 0);
    const node = net.nodes[0];
    try {
      const sampler = new RssSampler(node.child.pid);
      const chunk = new Uint8Array(1 << 20);
      const FRAME = 60_000_000;
      const results = await Promise.all(Array.from({ length: 8 }, async () => {
        const l = await RawLink.open(node.url, { localAddress: "127.0.0.2" });
        assert.equal(l.status, 101);
        await l.write(frameHeader(FRAME));
        let sent = 0;
        while (
          sent < FRAME && (await l.write(chunk.subarray(0, Math.min(chunk.length, FRAME - sent))))
        ) {
          sent += Math.min(chunk.length, FRAME - sent);
        }
        const { code } = await Promise.race([l.closed, sleep(10_000).then(() => ({ code: -1 }))]);
        l.destroy();
        return { sent, code };
      }));
      const fig = sampler.stop();
      console.log(
        `oversized frames: ${
          results.map((r) => `${mb(r.sent)} MB sent, close ${r.code}`).join("; ")
        }; RSS ${mb(fig.before)} -> peak ${mb(fig.peak)} MB (+${mb(fig.growth)})`,
      );
      for (const r of results) {
        assert.equal(r.code, 1009, "closed with 1009 (message too big)");
        assert.ok(r.sent < FRAME, "closed before the frame was sent whole");
      }
      // Budget: a frame is refused at its header; what is read before that is the socket
      // buffers. Before, the node buffered each 60 MB frame whole: +500 MB.
      assert.ok(fig.growth < 48e6, `RSS grew by ${mb(fig.growth)} MB`);
      assert.ok((await status(node.url)).height >= 0, "the node still serves");
    } finally {
      await net.close();
    }
  },
);

networkTest(
  "every route is rate limited per address; discourage validates its seconds",
  async () => {
    // Loopback clients are this host's own tools and not limited by default; here they are.
    const net = await startTestNet(1, 0, { rateLimitLoopback: true });
    const node = net.nodes[0];
    try {
      const counts = new Map<string, number>();
      for (let batch = 0; batch < 40; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => requestFrom("127.0.0.2", `${node.url}/v1/status`)),
        );
        for (const a of answers) tally(counts, a.status, a.body?.error?.code);
      }
      const posts = new Map<string, number>();
      for (let batch = 0; batch < 20; batch++) {
        const answers = await Promise.all(
          Array.from(
            { length: 50 },
            (_, i) =>
              requestFrom("127.0.0.3", `${node.url}/v1/${i % 2 ? "txs" : "blocks"}`, {
                method: "POST",
                body: "00",
                type: "text/plain",
              }),
          ),
        );
        for (const a of answers) tally(posts, a.status, a.body?.error?.code);
      }
      // 20 block posts declaring 2 MB each, their bodies held half sent: the body budget
      // (16 MiB in flight per address) lets 8 wait and refuses the rest at once.
      const held = Array.from(
        { length: 20 },
        () => heldPost("127.0.0.5", `${node.url}/v1/blocks`, 2_000_000, 1_000_000),
      );
      const early = await Promise.all(
        held.map((h) => Promise.race([h.status, sleep(3000).then(() => -1)])),
      );
      held.forEach((h) => h.drop());
      // Refused at once: answered 429, or closed by the node before the test read that answer (it
      // closes a connection whose body it will not read, and the kernel may then reset it while the
      // client is still sending, discarding the unread 429). Held: no answer in 3 s.
      const busy = early.filter((s) => s === 429 || s === 0).length;
      assert.ok(early.includes(429), `the refusal is answered 429 (${early.join(",")})`);
      assert.equal(early.filter((s) => s === -1).length, 8, "8 x 2 MB are held, waiting");
      const other = await requestFrom("127.0.0.4", `${node.url}/v1/status`);
      console.log(
        `status flood: ${show(counts)}; garbage posts: ${
          show(posts)
        }; held 2 MB posts: ${busy} of 20 refused 429 at once, ${
          early.filter((s) => s === -1).length
        } held`,
      );
      assert.equal(busy, 12, "8 x 2 MB fit the 16 MiB body budget of one address, 12 do not");
      assert.ok((counts.get("429 rate/limited") ?? 0) > 0, "a status flood is rate limited");
      assert.ok((counts.get("200") ?? 0) > 0, "within the burst it is served");
      assert.ok((posts.get("429 rate/limited") ?? 0) > 0, "a flood of posts is rate limited");
      assert.equal(other.status, 200, "another address is still served");

      const discourage = (seconds: unknown) =>
        requestFrom("127.0.0.1", `${node.url}/v1/peers/discourage`, {
          method: "POST",
          body: JSON.stringify({ ip: "203.0.113.9", seconds }),
        });
      for (const bad of [1e308, 0, -5, "3600", 1.5, 400 * 86_400]) {
        const a = await discourage(bad);
        assert.equal(a.status, 400, `seconds ${bad}: ${JSON.stringify(a.body)}`);
        assert.equal(a.body?.error?.code, "peers/discourage");
      }
      const ok = await discourage(60);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    } finally {
      await net.close();
    }
  },
);
