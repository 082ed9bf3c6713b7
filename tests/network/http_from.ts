/** @module HTTP requests from a chosen loopback source address (`node:http` with `localAddress`). */

import http from "node:http";

/** An answer: status and the body parsed as JSON (null when it is not JSON). */
export interface Answer {
  /** HTTP status. */
  status: number;
  /** Parsed JSON body, or null. */
  body: { error?: { code: string } } & Record<string, unknown> | null;
}

/** Sends one request to `url` from source address `from` (e.g. 127.0.0.2). */
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
    req.on("error", reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
