import assert from "node:assert/strict";
import { DecodeError, NotFoundError, ValidationError } from "../chain/errors.ts";
import { Misbehaviour, RequestError, statusOf } from "./errors.ts";
import { NodeIdentity } from "./identity.ts";
import { networkTest } from "../tests/network/helpers.ts";
import { startTestRelay, type TestRelay } from "../tests/network/relays.ts";

const CHALLENGE = "ab".repeat(32);

/** Sends a request to `r` from `ip` and returns the status and the error code of its JSON body. */
async function answer(
  r: TestRelay,
  path: string,
  init: RequestInit & { ip?: string } = {},
): Promise<{ status: number; code: string | undefined; body: Record<string, unknown> }> {
  const res = await r.fetch(new Request(`${r.url}${path}`, init), init.ip);
  const body = await res.json();
  return { status: res.status, code: body.error?.code, body };
}

const upgrade = { headers: { upgrade: "websocket" } };
const json = (method: string, value: unknown, ip?: string) => ({
  method,
  ip,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(value),
});

Deno.test("a status follows the error's code (and else its class), never its message", () => {
  for (const message of ["one wording", "another wording"]) {
    assert.equal(statusOf(new RequestError("peer/full", message)), 503);
    assert.equal(statusOf(new RequestError("admin/forbidden", message)), 403);
    assert.equal(statusOf(new Misbehaviour("rate/limited", message, 1)), 429);
    assert.equal(statusOf(new Misbehaviour("envelope/signature", message, 100)), 401);
    assert.equal(statusOf(new Misbehaviour("envelope/replay", message, 20)), 409);
    assert.equal(statusOf(new DecodeError("decode/too-large", message)), 413);
    assert.equal(statusOf(new DecodeError("decode/truncated", message)), 400);
    assert.equal(statusOf(new NotFoundError("tx/not-found", message)), 404);
    assert.equal(statusOf(new ValidationError("tx/missing-inputs", message)), 422);
    assert.equal(statusOf(new RangeError(message)), 400);
    assert.equal(statusOf(new Error(message)), 500);
  }
});

networkTest(
  "a starting relay answers 503 relay/starting on every route that needs it",
  async () => {
    const r = await startTestRelay({ start: false });
    try {
      for (
        const [path, init] of [
          ["/v1/ws", upgrade],
          ["/v1/messages", json("POST", {})],
          [`/v1/messages?to=${"02".repeat(33)}`, {}],
          ["/v1/peers", json("POST", { url: "http://127.0.0.1:1" })],
          ["/v1/peers/discourage", json("POST", { ip: "10.0.0.1" })],
          ["/v1/peers/discourage?ip=10.0.0.1", { method: "DELETE" }],
        ] as const
      ) {
        const a = await answer(r, path, init);
        assert.deepEqual([a.status, a.code], [503, "relay/starting"], path);
      }
      const peers = await answer(r, "/v1/peers");
      assert.equal(peers.status, 200);
      assert.equal((peers.body.self as { key: unknown }).key, null);
    } finally {
      await r.close();
    }
  },
);

networkTest(
  "the link route refuses bad upgrades, discouraged addresses and full slots",
  async () => {
    const r = await startTestRelay({ limits: { maxPeersPerIp: 0 } });
    const full = await startTestRelay({ limits: { maxInbound: 0 } });
    try {
      let a = await answer(r, "/v1/ws");
      assert.deepEqual([a.status, a.code], [400, "ws/upgrade"]);
      a = await answer(r, "/v1/ws?challenge=xyz", upgrade);
      assert.deepEqual([a.status, a.code], [400, "ws/challenge"]);
      a = await answer(r, `/v1/ws?challenge=${CHALLENGE}`, upgrade);
      assert.deepEqual([a.status, a.code], [429, "peer/ip-full"]);
      a = await answer(full, `/v1/ws?challenge=${CHALLENGE}`, upgrade);
      assert.deepEqual([a.status, a.code], [503, "peer/full"]);
      await r.network.table.discourage("ip", "10.9.9.9", 60_000, "test");
      a = await answer(r, `/v1/ws?challenge=${CHALLENGE}`, { ...upgrade, ip: "10.9.9.9" });
      assert.deepEqual([a.status, a.code], [403, "peer/discouraged"]);
      a = await answer(r, "/v1/nope");
      assert.deepEqual([a.status, a.code], [404, "route/not-found"]);
    } finally {
      await full.close();
      await r.close();
    }
  },
);

networkTest("operator routes answer only loopback, check their bodies and act", async () => {
  const r = await startTestRelay({ limits: { targetOutbound: 0 } });
  try {
    for (
      const [path, init] of [
        ["/v1/peers", json("POST", { url: "http://127.0.0.1:1" }, "10.0.0.1")],
        ["/v1/peers/discourage", json("POST", { ip: "10.0.0.2" }, "10.0.0.1")],
        ["/v1/peers/discourage?ip=10.0.0.2", { method: "DELETE", ip: "10.0.0.1" }],
      ] as const
    ) {
      const a = await answer(r, path, init);
      assert.deepEqual([a.status, a.code], [403, "admin/forbidden"], path);
    }
    assert.equal(r.network.table.get("http://127.0.0.1:1"), undefined);
    assert.equal(r.network.table.isDiscouraged("ip", "10.0.0.2"), false);

    let a = await answer(r, "/v1/peers", json("POST", { url: 42 }));
    assert.deepEqual([a.status, a.code], [400, "peers/url"]);
    a = await answer(r, "/v1/peers", json("POST", { url: "ftp://x" }));
    assert.deepEqual([a.status, a.code], [400, "peers/url"]);
    a = await answer(r, "/v1/peers", json("POST", { url: "http://127.0.0.1:1" }));
    assert.equal(a.status, 202);
    assert.deepEqual(a.body, { url: "http://127.0.0.1:1", added: true });

    a = await answer(r, "/v1/peers/discourage", json("POST", { key: "k", seconds: -1 }));
    assert.deepEqual([a.status, a.code], [400, "peers/discourage"]);
    a = await answer(r, "/v1/peers/discourage", json("POST", { seconds: 5 }));
    assert.deepEqual([a.status, a.code], [400, "peers/discourage"]);
    a = await answer(r, "/v1/peers/discourage", json("POST", { ip: "10.0.0.2", seconds: 60 }));
    assert.deepEqual([a.status, a.body], [200, { kind: "ip", value: "10.0.0.2", seconds: 60 }]);
    assert.ok(r.network.table.isDiscouraged("ip", "10.0.0.2"));
    a = await answer(r, "/v1/peers/discourage", { method: "DELETE" });
    assert.deepEqual([a.status, a.code], [400, "peers/discourage"]);
    a = await answer(r, "/v1/peers/discourage?ip=10.0.0.2", { method: "DELETE" });
    assert.deepEqual([a.status, a.body], [200, { lifted: "10.0.0.2" }]);
    assert.equal(r.network.table.isDiscouraged("ip", "10.0.0.2"), false);
  } finally {
    await r.close();
  }
});

networkTest("reading routes are rate limited per address without charging it", async () => {
  const r = await startTestRelay({ limits: { messagesPerSecond: 1, messageBurst: 2 } });
  try {
    const key = NodeIdentity.generate().keyHex;
    let a = await answer(r, `/v1/messages?to=${key}&after=-1`, { ip: "10.1.1.1" });
    assert.deepEqual([a.status, a.code], [400, "messages/query"]);
    a = await answer(r, "/v1/messages?to=02", { ip: "10.1.1.1" });
    assert.deepEqual([a.status, a.code], [400, "messages/to"]);
    let limited = 0;
    for (let i = 0; i < 150; i++) {
      const path = i % 2 ? "/v1/peers" : `/v1/messages?to=${key}`;
      a = await answer(r, path, { ip: "10.1.1.1" });
      if (a.status === 429) {
        assert.equal(a.code, "rate/limited");
        limited++;
      }
    }
    assert.ok(limited >= 140, `only ${limited} of 150 were rate limited`);
    // Past the ban score had it been charged (100 points at 1 each): reads are never charged.
    assert.equal(r.network.table.isDiscouraged("ip", "10.1.1.1"), false);
    a = await answer(r, "/v1/peers", { ip: "10.2.2.2" });
    assert.equal(a.status, 200);
  } finally {
    await r.close();
  }
});
