import assert from "node:assert/strict";
import { normalizePeerUrl, PeerTable } from "./peers.ts";
import { Inbox } from "./inbox.ts";
import { UNBOUNDED_BYTES } from "./inbox_test.ts";
import { resolveLimits, TokenBucket } from "./limits.ts";
import { NodeIdentity } from "./identity.ts";

Deno.test("peer URLs normalize to their base http form and bad ones are refused", () => {
  assert.equal(normalizePeerUrl("ws://127.0.0.1:9000/v1/ws"), "http://127.0.0.1:9000");
  assert.equal(normalizePeerUrl("https://relay.example:443/x"), "https://relay.example");
  assert.throws(() => normalizePeerUrl("ftp://x"), TypeError);
  assert.throws(() => normalizePeerUrl("not a url"), TypeError);
  assert.throws(() => normalizePeerUrl("http://user:pw@host:1"), TypeError);
});

Deno.test("the peer table persists in KV, stays bounded and keeps seeds", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  try {
    let kv = await Deno.openKv(path);
    const t = new PeerTable(kv, 3);
    assert.ok(await t.add("http://127.0.0.1:1", { source: "seed" }));
    assert.ok(await t.add("http://127.0.0.1:2", { source: "exchange" }));
    assert.ok(await t.add("http://127.0.0.1:3", { source: "exchange" }));
    await t.markSeen("http://127.0.0.1:2", "02" + "ab".repeat(32), 3);
    await t.markFailure("http://127.0.0.1:3");
    // Full: a newcomer evicts the worst non-seed entry (the one that failed).
    assert.ok(await t.add("http://127.0.0.1:4", { source: "exchange" }));
    assert.equal(t.size, 3);
    assert.equal(t.get("http://127.0.0.1:3"), undefined);
    await t.discourage("key", "02" + "cd".repeat(32), 60_000, "test");
    await t.discourage("ip", "10.0.0.9", 1, "short");
    kv.close();

    kv = await Deno.openKv(path);
    const again = new PeerTable(kv, 3);
    await again.load();
    assert.deepEqual(again.list().map((p) => p.url).sort(), [
      "http://127.0.0.1:1",
      "http://127.0.0.1:2",
      "http://127.0.0.1:4",
    ]);
    const seen = again.get("http://127.0.0.1:2")!;
    assert.equal(seen.key, "02" + "ab".repeat(32));
    assert.equal(seen.services, 3);
    assert.ok(seen.lastSeen > 0 && seen.score === 1);
    assert.ok(again.isDiscouraged("key", "02" + "cd".repeat(32)));
    assert.equal(again.isDiscouraged("ip", "10.0.0.9"), false, "expired discouragement");
    await again.lift("key", "02" + "cd".repeat(32));
    assert.equal(again.isDiscouraged("key", "02" + "cd".repeat(32)), false);
    kv.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("the inbox keeps at most N per recipient and in total, and expires messages", () => {
  const id = NodeIdentity.generate();
  const env = () => id.sign({ magic: 1, type: "direct", payload: new Uint8Array(1) });
  const box = new Inbox({ ...UNBOUNDED_BYTES, perRecipient: 2, total: 3, ttlMs: 50 });
  box.put("a", env(), null);
  box.put("a", env(), null);
  box.put("a", env(), null);
  assert.equal(box.get("a").length, 2);
  box.put("b", env(), null);
  box.put("c", env(), null);
  assert.equal(box.size, 3);
  const seqs = box.get("a").map((e) => e.seq);
  assert.deepEqual(box.get("a", seqs[0]).map((e) => e.seq), seqs.slice(1));
  box.prune(Date.now() + 100);
  assert.equal(box.size, 0);
});

Deno.test("a token bucket allows its burst then refuses until it refills", async () => {
  const b = new TokenBucket(100, 5);
  for (let i = 0; i < 5; i++) assert.ok(b.take());
  assert.equal(b.take(), false);
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(b.take());
  assert.throws(() => resolveLimits({ maxHopLimit: -1 }), RangeError);
  assert.equal(resolveLimits({ maxHopLimit: 4 }).maxHopLimit, 4);
});
