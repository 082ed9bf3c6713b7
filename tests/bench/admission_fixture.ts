/**
 * @module Bench fixture process for the admission bench, printing `ready URL` once it serves on a
 * free loopback port: `node DATA_DIR` runs a dev node (no miner, no seeds) on the chain in
 * DATA_DIR; `floor` runs the node's HTTP server stack (relay/http_listen.ts, Hono) with one route,
 * `POST /v1/txs`, that reads the body and answers 202 without checking it (the HTTP floor);
 * `serve` answers every request so on a bare `Deno.serve` (the runtime's own HTTP floor).
 */

import { Hono } from "hono";
import { listenHttp } from "../../relay/http_listen.ts";
import { startNode } from "../../relay/node.ts";

const [mode, dataDir] = Deno.args;
if (mode === "node") {
  const node = await startNode({ network: "dev", dataDir, port: 0, mine: false });
  await node.chain.mempoolRestored;
  Deno.addSignalListener("SIGTERM", async () => {
    await node.close();
    Deno.exit(0);
  });
  console.log(`ready ${node.url}`);
} else if (mode === "floor") {
  const app = new Hono();
  app.post("/v1/txs", async (c) => c.json({ txid: (await c.req.text()).slice(0, 64) }, 202));
  const server = await listenHttp(
    { hostname: "127.0.0.1", port: 0, maxFramePayload: () => 0 },
    app.fetch,
  );
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  console.log(`ready http://${server.addr.hostname}:${server.addr.port}`);
} else if (mode === "serve") {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => Response.json({ txid: (await req.text()).slice(0, 64) }, { status: 202 }),
  );
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  console.log(`ready http://127.0.0.1:${server.addr.port}`);
} else {
  throw new Error(`usage: admission_fixture.ts node DATA_DIR | floor | serve (got ${mode})`);
}
