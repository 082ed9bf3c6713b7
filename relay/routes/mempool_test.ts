import assert from "node:assert/strict";
import { COIN } from "../../chain/params.ts";
import { toHex } from "../../chain/bytes.ts";
import { createApp } from "../app.ts";
import { NetworkService } from "../network.ts";
import { newKey, openDevNode, openFundedDevNode, spend } from "../../tests/chain_helpers.ts";

Deno.test("GET /v1/mempool lists posted transactions newest first, bounded by a checked ?limit=", async () => {
  const dev = await openFundedDevNode();
  try {
    const app = createApp({ chain: dev.node });
    const empty = await (await app.request("/v1/mempool")).json();
    assert.deepEqual(empty, { count: 0, bytes: 0, limit: 100, txs: [] });

    const bob = newKey();
    const fan = spend(dev.owner, [dev.coin], [
      { value: 2n * COIN, script: bob.script },
      { value: dev.coin.value - 2n * COIN - 5_000n, script: dev.owner.script },
    ]);
    const posted = await app.request("/v1/txs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hex: toHex(fan.bytes) }),
    });
    assert.equal(posted.status, 202);
    await new Promise((r) => setTimeout(r, 5)); // a later entry time for the child
    const child = spend(bob, [{ txid: fan.id, vout: 0, value: 2n * COIN }], [
      { value: 2n * COIN - 3_000n, script: bob.script },
    ]);
    assert.equal(
      (await app.request("/v1/txs", { method: "POST", body: toHex(child.bytes) })).status,
      202,
    );

    const res = await app.request("/v1/mempool");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.count, 2);
    assert.equal(body.bytes, fan.bytes.length + child.bytes.length);
    assert.deepEqual(body.txs.map((t: { txid: string }) => t.txid), [child.id, fan.id]);
    const [c, f] = body.txs;
    assert.equal(f.size, fan.bytes.length);
    assert.equal(f.feeUnits, "5000");
    assert.equal(f.fee, "0.00005");
    assert.equal(f.feeRate, 5000 / fan.bytes.length);
    assert.equal(c.feeUnits, "3000");
    assert.ok(c.time >= f.time && Math.abs(Date.now() - f.time) < 60_000);

    const one = await (await app.request("/v1/mempool?limit=1")).json();
    assert.equal(one.limit, 1);
    assert.deepEqual(one.txs.map((t: { txid: string }) => t.txid), [child.id]);
    assert.equal(one.count, 2);
    assert.equal((await (await app.request("/v1/mempool?limit=1000")).json()).txs.length, 2);

    for (const bad of ["0", "1001", "-1", "1.5", "abc", "", "1e2"]) {
      const r = await app.request(`/v1/mempool?limit=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.headers.get("content-type") ?? "", /application\/json/);
      assert.equal((await r.json()).error.code, "mempool/limit", bad);
    }
  } finally {
    dev.close();
  }
});

Deno.test("GET /v1/mempool runs behind the network's per-address rate limit (429 rate/limited)", async () => {
  const dev = await openDevNode();
  const kv = await Deno.openKv(":memory:");
  try {
    const network = new NetworkService({
      kv,
      network: "dev",
      limits: { httpRequestsPerSecond: 0.01, httpRequestBurst: 3 },
    });
    const app = createApp({ chain: dev.node, guards: network.requestGuards() });
    const from = (hostname: string) =>
      app.fetch(new Request("http://node/v1/mempool"), {
        remoteAddr: { hostname, port: 1, transport: "tcp" },
      });
    for (let i = 0; i < 3; i++) assert.equal((await from("10.3.3.3")).status, 200);
    const limited = await from("10.3.3.3");
    assert.equal(limited.status, 429);
    assert.equal((await limited.json()).error.code, "rate/limited");
    assert.equal((await from("10.4.4.4")).status, 200, "another address has its own bucket");
  } finally {
    kv.close();
    dev.close();
  }
});
