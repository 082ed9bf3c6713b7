/**
 * @module The node's HTTP server: a `node:http` server that hands each request to the app's fetch
 * handler (with the client's address), and WebSocket upgrades to the app with a `ws` upgrade that
 * refuses oversized frames at their header (relay/ws_upgrade.ts). Binding failures become one-line
 * typed errors.
 */

import http from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Readable } from "node:stream";
import { CamelidError } from "../chain/errors.ts";
import type { ServerEnv } from "./upgrade.ts";
import { wsUpgrade } from "./ws_upgrade.ts";

/** Raised when the HTTP port cannot be bound (`node/port-in-use`, `node/port-denied`, `node/bad-host`). */
export class ListenError extends CamelidError {}

/** A fetch handler with the server environment (Hono's `app.fetch`). */
export type FetchHandler = (req: Request, env: ServerEnv) => Response | Promise<Response>;

/** A listening server. */
export interface HttpServer {
  /** Bound address. */
  addr: { hostname: string; port: number };
  /** Stops listening and closes every connection. */
  shutdown(): Promise<void>;
}

/** Options of {@link listenHttp}. */
export interface ListenOptions {
  /** Interface to bind. */
  hostname: string;
  /** Port (0: any free one). */
  port: number;
  /** Largest WebSocket frame accepted, read at each upgrade. */
  maxFramePayload: () => number;
}

function envOf(socket: Socket | Duplex): ServerEnv {
  const s = socket as Socket;
  return {
    remoteAddr: {
      hostname: s.remoteAddress ?? "unknown",
      port: s.remotePort ?? 0,
      transport: "tcp",
    },
  };
}

/** A fetch Request for a `node:http` request (its body streamed when it may have one). */
function toRequest(req: http.IncomingMessage, signal?: AbortSignal): Request {
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const method = req.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal };
  if (method !== "GET" && method !== "HEAD") {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  return new Request(url, init);
}

/**
 * Writes a fetch Response to a `node:http` response, streaming its body. An answer given before the
 * request body was read whole (a refused oversized body) closes the connection: the unread rest of
 * the body would otherwise be taken for the next request on a kept-alive connection.
 */
async function writeResponse(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  response: Response,
): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => headers[k] = v);
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  const unread = !req.complete;
  if (unread) {
    headers["connection"] = "close";
    res.once("finish", () => req.socket.destroySoon?.() ?? req.socket.end());
  }
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body) {
    if (res.destroyed) break;
    if (!res.write(chunk)) {
      await new Promise((r) => {
        res.once("drain", r);
        res.once("close", r);
      });
    }
  }
  res.end();
}

/** Writes a fetch Response as a whole HTTP/1.1 answer on a raw socket, then closes it. */
async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
  if (socket.destroyed) return;
  const body = new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${http.STATUS_CODES[response.status] ?? ""}\r\n`;
  response.headers.forEach((v, k) => head += `${k}: ${v}\r\n`);
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(new Uint8Array([...new TextEncoder().encode(head), ...body]));
}

function listenError(e: NodeJS.ErrnoException, o: ListenOptions): Error {
  const where = `${o.hostname}:${o.port}`;
  switch (e.code) {
    case "EADDRINUSE":
      return new ListenError(
        "node/port-in-use",
        `port ${o.port} on ${o.hostname} is already in use (another node?); stop it or choose another --port`,
        { cause: e },
      );
    case "EACCES":
    case "EPERM":
      return new ListenError(
        "node/port-denied",
        `not allowed to listen on ${where} (ports below 1024 need privileges); choose another --port`,
        { cause: e },
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ListenError(
        "node/bad-host",
        `cannot listen on ${where}: no such local address; check --host`,
        { cause: e },
      );
    default:
      return e;
  }
}

/** Serves `handler` on `hostname:port`, or rejects with a {@link ListenError} saying why not. */
export async function listenHttp(o: ListenOptions, handler: FetchHandler): Promise<HttpServer> {
  const server = http.createServer(async (req, res) => {
    const aborted = new AbortController();
    res.once("close", () => aborted.abort());
    try {
      await writeResponse(
        req,
        res,
        await handler(toRequest(req, aborted.signal), envOf(req.socket)),
      );
    } catch {
      if (!res.headersSent) res.writeHead(400).end();
      else res.destroy();
    }
  });
  // Upgraded sockets leave the server's keeping: closed at shutdown.
  const upgraded = new Set<Duplex>();
  server.on("upgrade", async (req: http.IncomingMessage, socket: Duplex, head: Uint8Array) => {
    socket.on("error", () => {});
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    const ws = wsUpgrade(req, socket, head, o.maxFramePayload());
    try {
      const response = await handler(toRequest(req), {
        ...envOf(socket),
        upgradeWebSocket: ws.upgrade,
      });
      if (!ws.done()) await writeRawResponse(socket, response);
    } catch {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(listenError(e as NodeJS.ErrnoException, o)));
    server.listen(o.port, o.hostname, () => resolve());
  });
  const bound = server.address();
  if (!bound || typeof bound === "string") throw new Error("server has no TCP address");
  return {
    addr: { hostname: bound.address, port: bound.port },
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
      }),
  };
}
