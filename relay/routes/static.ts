/**
 * @module The node's web page at `/` (static/): `index.html`, `page.css`, and the committed bundle
 * `static/bundle.json` (`deno task build:page`): the page's JavaScript files (entry `page.js`, the
 * chunks it loads on demand) and the RASTiC kernel `kernel.wasm` the verifier loads beside them.
 * Everything is imported as module text and JSON, so the edge relay serves it without file access.
 * Every asset comes from the node's own origin; the content security policy says so to the browser
 * (scripts, styles and wasm from this origin only; the light client may call other nodes' APIs).
 */

import { Hono } from "hono";
import indexHtml from "../../static/index.html" with { type: "text" };
import pageCss from "../../static/page.css" with { type: "text" };
import bundle from "../../static/bundle.json" with { type: "json" };

/** The page's content security policy: own-origin assets, API calls to any node. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https: ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** A served file: its content type and body. */
interface StaticFile {
  type: string;
  body: string | Uint8Array<ArrayBuffer>;
}

/** The served files by path. */
export function pageFiles(): Map<string, StaticFile> {
  const html = { type: "text/html; charset=utf-8", body: indexHtml };
  const files = new Map<string, StaticFile>([
    ["/", html],
    ["/index.html", html],
    ["/page.css", { type: "text/css; charset=utf-8", body: pageCss }],
    ["/kernel.wasm", {
      type: "application/wasm",
      body: Uint8Array.from(atob(bundle.kernelWasmBase64), (c) => c.charCodeAt(0)),
    }],
  ]);
  for (const [name, text] of Object.entries(bundle.files as Record<string, string>)) {
    files.set(`/${name}`, { type: "text/javascript; charset=utf-8", body: text });
  }
  return files;
}

/** The page's routes (GET only; anything else falls through to the JSON 404). */
export function staticRoutes(): Hono {
  const app = new Hono();
  for (const [path, file] of pageFiles()) {
    app.get(path, (c) => {
      c.header("Content-Type", file.type);
      c.header("Cache-Control", "no-cache");
      c.header("Content-Security-Policy", PAGE_CSP);
      c.header("X-Content-Type-Options", "nosniff");
      return typeof file.body === "string" ? c.body(file.body) : c.body(file.body);
    });
  }
  return app;
}
