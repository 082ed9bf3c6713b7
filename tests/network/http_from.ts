/**
 * @module HTTP requests from a chosen loopback source address (`node:http` and `node:net` with
 * `localAddress`), whole or held open with part of their body.
 */

import http from "node:http";
import net from "node:net";

/**
 * An answer: status and the body parsed as JSON (null when it is not JSON); status 0 with `reset`
 * when the connection broke before the answer was read whole.
 */
export interface Answer {
  /** HTTP status, 0 when no whole answer was read. */
  status: number;
  /** The socket error code (ECONNRESET, EPIPE) when the connection broke before the answer. */
  reset?: string;
  /** Parsed JSON body, or null. */
  body: { error?: { code: string } } & Record<string, unknown> | null;
}

/**
 * Sends one request to `url` from source address `from` (e.g. 127.0.0.2). A server that answers
 * before reading the body and closes (a refusal) may reset the connection while the body is still
 * being sent, and the kernel then discards the unread answer: that resolves with status 0 and
 * `reset`, so that a test decides what a reset means where it happens.
 */
export function requestFrom(
  from: string,
  url: string,
  init: { method?: string; body?: Uint8Array | string; type?: string } = {},
): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: Number(u.port),
      path: u.pathname + u.search,
      method: init.method ?? "GET",
      localAddress: from,
      agent: false,
      headers: init.body === undefined ? {} : {
        "content-type": init.type ?? "application/json",
        "content-length": String(
          typeof init.body === "string"
            ? new TextEncoder().encode(init.body).length
            : init.body.length,
        ),
      },
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        const text = new TextDecoder().decode(
          chunks.reduce((a, c) => {
            const m = new Uint8Array(a.length + c.length);
            m.set(a);
            m.set(c, a.length);
            return m;
          }, new Uint8Array(0)),
        );
        let body = null;
        try {
          body = JSON.parse(text);
        } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET" || e.code === "EPIPE") {
        resolve({ status: 0, body: null, reset: e.code });
      } else reject(e);
    });
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/** A request whose body is only partly sent: its answer (status) if one comes, and a way to drop it. */
export interface HeldRequest {
  /** Resolves with the status of an answer, or 0 when the socket closed without one. */
  status: Promise<number>;
  /** Closes the socket. */
  drop(): void;
}

/**
 * POSTs to `url` from `from` declaring `length` body bytes but sending only `sent` of them, so that
 * the request stays in flight until answered or dropped.
 */
export function heldPost(from: string, url: string, length: number, sent: number): HeldRequest {
  const u = new URL(url);
  const socket = net.connect({ host: u.hostname, port: Number(u.port), localAddress: from });
  socket.on("error", () => {});
  socket.on("connect", () => {
    socket.write(
      `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\ncontent-type: text/plain\r\n` +
        `content-length: ${length}\r\n\r\n`,
    );
    socket.write(new TextEncoder().encode("0".repeat(sent)));
  });
  const status = new Promise<number>((resolve) => {
    let text = "";
    socket.on("data", (d: Uint8Array) => {
      text += new TextDecoder().decode(d);
      const m = text.match(/^HTTP\/1\.1 (\d{3})/);
      if (m) resolve(Number(m[1]));
    });
    socket.on("close", () => resolve(0));
  });
  return { status, drop: () => socket.destroy() };
}
