/**
 * @module Bench fixture process for the admission bench, printing `ready URL` once it serves on a
 * free loopback port: `node DATA_DIR` runs a dev node (no miner, no seeds) on the chain in
 * DATA_DIR; `app-listen DATA_DIR` and `app-serve DATA_DIR` serve the node's HTTP app over that
 * chain alone (no relay network, so without its guards) on the node's server stack
 * (relay/http_listen.ts) and on a bare `Deno.serve`; `floor` runs the node's server stack with
 * one route, `POST /v1/txs`, that reads the body and answers 202 without checking it (the HTTP
 * floor); `serve` answers every request so on a bare `Deno.serve` (the runtime's own floor).
 */

import { Hono } from "hono";
import { ChainNode } from "../../chain/node.ts";
import { networkParams } from "../../chain/params.ts";
import { createApp } from "../../relay/app.ts";
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
} else if (mode === "app-listen" || mode === "app-serve") {
  // The node's HTTP app over its chain alone (no relay network, so no guards), served by the
  // node's server stack or by a bare Deno.serve: the same routes on two servers.
  const kv = await Deno.openKv(`${dataDir}/chain.kv`);
  const chain = await ChainNode.open({ params: networkParams("dev"), kv });
  const app = createApp({ chain });
  let url: string;
  if (mode === "app-listen") {
    const server = await listenHttp(
      { hostname: "127.0.0.1", port: 0, maxFramePayload: () => 0 },
      app.fetch,
    );
    url = `http://${server.addr.hostname}:${server.addr.port}`;
  } else {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr }),
    );
    url = `http://127.0.0.1:${server.addr.port}`;
  }
  Deno.addSignalListener("SIGTERM", () => {
    kv.close();
    Deno.exit(0);
  });
  console.log(`ready ${url}`);
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
  throw new Error(
    `usage: admission_fixture.ts node|app-listen|app-serve DATA_DIR, or floor|serve (got ${mode})`,
  );
}
