import assert from "node:assert/strict";
import { fromHex, toHex } from "../chain/bytes.ts";
import { generateSecretKey, publicKeyOf, signPreimage } from "../chain/keys.ts";
import { networkParams } from "../chain/params.ts";
import { Subscription } from "../client/subscription.ts";
import { NodeClient } from "./client.ts";
import { createEnvelope } from "./envelope.ts";
import { startNode } from "./node.ts";
import { subscribeChallengePreimage, SubscribeClose } from "./subscription_protocol.ts";
import { MAX_SUBSCRIPTIONS_PER_IP } from "./routes/subscribe.ts";
import { startTestRelay } from "../tests/network/relays.ts";

const magic = networkParams("dev").magic;

/** Posts a direct message with `text` from a fresh key to `to`. */
async function post(api: NodeClient, to: Uint8Array, text: string): Promise<void> {
  const sk = generateSecretKey();
  const env = createEnvelope(
    { magic, type: "direct", to, payload: new TextEncoder().encode(text) },
    publicKeyOf(sk),
    sk,
  );
  await api.postEnvelope(env);
}

/** Waits until `check` holds (every 10 ms), failing after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A loopback TCP proxy to `port` whose connections can be cut: while paused, it cuts every
 * connection and refuses new ones.
 */
function tcpProxy(port: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let paused = false;
  (async () => {
    for await (const inbound of listener) {
      if (paused) {
        inbound.close();
        continue;
      }
      const outbound = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      open.add(inbound).add(outbound);
      const pipe = (a: Deno.Conn, b: Deno.Conn) =>
        a.readable.pipeTo(b.writable).catch(() => {}).finally(() => {
          for (const c of [a, b]) {
            if (open.delete(c)) c.close();
          }
        });
      pipe(inbound, outbound);
      pipe(outbound, inbound);
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    pause() {
      paused = true;
      for (const c of open) c.close();
      open.clear();
    },
    resume() {
      paused = false;
    },
    close() {
      this.pause();
      listener.close();
    },
  };
}

/** A raw socket's frames and close code. */
function rawSocket(url: string) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/subscribe`);
  const frames: Record<string, unknown>[] = [];
  const closed = new Promise<number>((r) => ws.onclose = (e) => r(e.code));
  ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
  return { ws, frames, closed };
}

Deno.test("subscription: the backlog, then messages pushed as they come; after a drop it resumes without losing or repeating one", async () => {
  const dir = await Deno.makeTempDir();
  const node = await startNode({ network: "dev", dataDir: dir, port: 0, mine: false });
  const sk = generateSecretKey();
  const key = publicKeyOf(sk);
  const api = new NodeClient(node.url);
  const proxy = tcpProxy(new URL(node.url).port);
  let sub: Subscription | undefined;
  try {
    await post(api, key, "before-0");
    await post(api, key, "before-1");
    sub = await Subscription.connect(proxy.url, sk);
    const got: string[] = [];
    sub.onMessage((m) => got.push(new TextDecoder().decode(m.envelope.payload)));
    await until(() => got.length === 2, "the backlog");
    await post(api, key, "live-0");
    await until(() => got.length === 3, "a pushed message");
    // Cut the connection; messages sent before the client is back wait in the inbox.
    proxy.pause();
    await until(() => !sub!.connected, "the drop");
    await post(api, key, "while-away-0");
    await post(api, key, "while-away-1");
    proxy.resume();
    await post(api, publicKeyOf(generateSecretKey()), "not ours");
    await until(() => got.length === 5, "the messages sent while away");
    assert.deepEqual(got, ["before-0", "before-1", "live-0", "while-away-0", "while-away-1"]);
    assert.ok(sub.seq > 0);
  } finally {
    sub?.close();
    proxy.close();
    await node.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("subscription: a signature by another key, a frame before auth and an oversized frame are refused with their close codes", async () => {
  const dir = await Deno.makeTempDir();
  const node = await startNode({ network: "dev", dataDir: dir, port: 0, mine: false });
  try {
    const liar = rawSocket(node.url);
    await until(() => liar.frames.length === 1, "the challenge");
    const nonce = fromHex(String(liar.frames[0].nonce), 32);
    const victim = publicKeyOf(generateSecretKey());
    liar.ws.send(JSON.stringify({
      t: "auth",
      key: toHex(victim),
      sig: toHex(
        signPreimage(subscribeChallengePreimage(magic, nonce, victim), generateSecretKey()),
      ),
      after: 0,
    }));
    assert.equal(await liar.closed, SubscribeClose.badAuth);

    const early = rawSocket(node.url);
    await until(() => early.frames.length === 1, "the challenge");
    early.ws.send(JSON.stringify({ t: "watch", jobs: [] }));
    assert.equal(await early.closed, SubscribeClose.protocol);

    const big = rawSocket(node.url);
    await until(() => big.frames.length === 1, "the challenge");
    big.ws.send(JSON.stringify({ t: "auth", pad: "x".repeat(5000) }));
    assert.equal(await big.closed, SubscribeClose.protocol);
  } finally {
    await node.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The answer's head (and body, when short) to a raw WebSocket upgrade of `/v1/subscribe`. */
async function upgradeStatus(url: string): Promise<{ status: string; conn: Deno.Conn }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(
    `GET /v1/subscribe HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  ));
  const buf = new Uint8Array(2048);
  let text = "";
  while (!/\r\n\r\n/.test(text) || (text.startsWith("HTTP/1.1 4") && !text.endsWith("}"))) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return { status: text, conn };
}

/** Authenticates a raw socket for a fresh key; resolves once the node says ready. */
async function authenticated(url: string) {
  const s = rawSocket(url);
  await until(() => s.frames.length === 1, "the challenge");
  const sk = generateSecretKey();
  const key = publicKeyOf(sk);
  const nonce = fromHex(String(s.frames[0].nonce), 32);
  s.ws.send(JSON.stringify({
    t: "auth",
    key: toHex(key),
    sig: toHex(signPreimage(subscribeChallengePreimage(magic, nonce, key), sk)),
    after: 0,
  }));
  await until(() => s.frames.some((f) => f.t === "ready"), "ready");
  return s;
}

Deno.test("subscription: bounded per address, and its frames take the address's message tokens", async () => {
  const r = await startTestRelay({
    limits: { rateLimitLoopback: true, messagesPerSecond: 0.01, messageBurst: 3 },
  });
  const open: Deno.Conn[] = [];
  try {
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_IP; i++) {
      const { status, conn } = await upgradeStatus(r.url);
      open.push(conn);
      assert.match(status, /^HTTP\/1.1 101 /, `subscription ${i}`);
    }
    const refused = await upgradeStatus(r.url);
    open.push(refused.conn);
    assert.match(refused.status, /^HTTP\/1.1 429 /, "one more from this address is refused");
    assert.match(refused.status, /"code":"peer\/ip-full"/);
    for (const c of open.splice(0)) c.close();

    const s = await authenticated(r.url); // one token
    const job = "ab".repeat(32);
    s.ws.send(JSON.stringify({ t: "watch", jobs: [job] })); // two
    s.ws.send(JSON.stringify({ t: "watch", jobs: [job] })); // three
    s.ws.send(JSON.stringify({ t: "watch", jobs: [job] })); // none left
    assert.equal(await s.closed, SubscribeClose.rateLimited);
  } finally {
    for (const c of open) c.close();
    await r.close();
  }
});

Deno.test("subscription: at most 32 watched jobs", async () => {
  const r = await startTestRelay();
  try {
    const s = await authenticated(r.url);
    const jobs = Array.from({ length: 33 }, (_, i) => i.toString(16).padStart(64, "0"));
    s.ws.send(JSON.stringify({ t: "watch", jobs: jobs.slice(0, 32) }));
    s.ws.send(JSON.stringify({ t: "watch", jobs: jobs.slice(32) }));
    assert.equal(await s.closed, SubscribeClose.protocol);
  } finally {
    await r.close();
  }
});
