/**
 * @module Bench fixture processes: `relay PORT [SEED]` runs a chain-less relay with limits raised
 * for throughput; `echo PORT` runs a raw Deno.serve WebSocket echo (the baseline).
 */

import { createRelayApp } from "../../relay/network.ts";

const [mode, portArg, seed] = Deno.args;
const port = Number(portArg);

if (mode === "echo") {
  Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
} else {
  const kv = await Deno.openKv(":memory:");
  const { app, network } = createRelayApp({
    kv,
    network: "dev",
    seeds: seed ? [seed] : [],
    limits: {
      messagesPerSecond: 1e9,
      messageBurst: 1e9,
      discoveryIntervalMs: 100,
      targetOutbound: seed ? 1 : 0,
    },
  });
  Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, app.fetch);
  await network.start({ advertiseUrl: `http://127.0.0.1:${port}` });
}
console.log("ready");
