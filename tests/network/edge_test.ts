/**
 * The edge entry under `deno serve` with FFI, reads and writes denied (network allowed): it serves
 * `/v1/status` and `/v1/peers`, accepts links, and relays a message between two relays that are
 * linked only through it.
 */

import assert from "node:assert/strict";
import { freePorts, getJson, networkTest, until } from "./helpers.ts";
import { nextMessage, startTestRelay, type TestRelay } from "./relays.ts";

const EDGE = new URL("../../relay/edge.ts", import.meta.url).pathname;

/** A chain-less relay whose only link is the one it dials to the edge. */
function relayThrough(edgeUrl: string): Promise<TestRelay> {
  return startTestRelay({
    seeds: [edgeUrl],
    limits: { discoveryIntervalMs: 100, targetOutbound: 1, maxInbound: 0 },
  });
}

networkTest(
  "the edge relay runs under deno serve without FFI or file access and relays messages",
  async () => {
    const [port] = freePorts(1);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "serve",
        "--unstable-kv",
        "--deny-ffi",
        "--deny-read",
        "--deny-write",
        "--allow-net",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        EDGE,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const url = `http://127.0.0.1:${port}`;
    const relays: TestRelay[] = [];
    try {
      await until("edge answers /v1/status", async () => {
        const s = await getJson<{ role: string; network: string }>(`${url}/v1/status`);
        return s.role === "relay" && s.network === "dev";
      }, 20_000);
      relays.push(await relayThrough(url), await relayThrough(url));
      const [a, b] = relays;
      await until("both relays linked to the edge", async () => {
        const p = await getJson<{ links: { key: string }[] }>(`${url}/v1/peers`);
        return [a, b].every((r) => p.links.some((l) => l.key === r.network.selfKeyHex));
      }, 10_000);
      assert.equal(a.network.linkByKey(b.network.selfKeyHex), undefined);
      const got = nextMessage(b.network);
      a.network.send(new TextEncoder().encode("via the edge"), b.network.selfKey);
      assert.equal(new TextDecoder().decode((await got).payload), "via the edge");
    } finally {
      for (const r of relays) await r.close();
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
    }
  },
);
