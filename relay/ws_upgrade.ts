/**
 * @module The node's own WebSocket upgrade of `/v1/ws` (relay/http_listen.ts): the `ws` package
 * over the raw `node:http` upgrade socket with a maximum payload, so that a frame whose header
 * announces more than the envelope limit is refused (close 1009) before its bytes are buffered.
 */

import type { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { RequestError } from "./errors.ts";
import type { LinkSocket } from "./link.ts";
import type { UpgradeWebSocket } from "./upgrade.ts";

/**
 * The upgrade of one `node:http` upgrade request over its raw socket, with `ws`: at most
 * `maxPayload` bytes a frame (larger frames close the link with 1009 at their header), no
 * compression. Calling it answers 101 and returns the socket; the response it returns is a
 * placeholder the server does not send. `done()` tells whether it was called.
 */
export function wsUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
  maxPayload: number,
): { upgrade: UpgradeWebSocket; done: () => boolean } {
  let upgraded = false;
  const upgrade: UpgradeWebSocket = () => {
    const server = new WebSocketServer({
      noServer: true,
      maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
    let ws: LinkSocket | undefined;
    // Without a verifyClient hook, ws completes the upgrade synchronously.
    server.handleUpgrade(req, socket, head as Buffer, (w: unknown) => {
      ws = w as LinkSocket;
    });
    if (!ws) throw new RequestError("ws/upgrade", "not a valid WebSocket upgrade");
    upgraded = true;
    return { socket: ws, response: new Response(null, { status: 204 }) };
  };
  return { upgrade, done: () => upgraded };
}
