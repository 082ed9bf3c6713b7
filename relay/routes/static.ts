/**
 * @module The node's web page at `/` (static/): `index.html`, `page.css`, the committed bundle
 * `page.js` (`deno task build:page`) and the RASTiC kernel `kernel.wasm` that the bundle loads
 * beside itself (a base64 copy of verifier-wasm/kernel.wasm the build writes). The files are
 * imported as module text, so the edge relay serves them without file access. Every asset comes from the node's own origin; the content security policy
 * says so to the browser (scripts, styles and wasm from this origin only; the light client may call
 * other nodes' APIs).
 */

import { Hono } from "hono";
import indexHtml from "../../static/index.html" with { type: "text" };
import pageCss from "../../static/page.css" with { type: "text" };
import pageJs from "../../static/page.js" with { type: "text" };
import kernelBase64 from "../../static/kernel.wasm.b64" with { type: "text" };

/** The kernel, committed as base64 text by the page build (text imports need no unstable flag). */
const kernelWasm = Uint8Array.from(atob(kernelBase64.trim()), (c) => c.charCodeAt(0));

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

/** The served files: path, content type and body. */
const FILES: ReadonlyMap<string, { type: string; body: string | Uint8Array }> = new Map<
  string,
  { type: string; body: string | Uint8Array }
>([
  ["/", { type: "text/html; charset=utf-8", body: indexHtml }],
  ["/index.html", { type: "text/html; charset=utf-8", body: indexHtml }],
  ["/page.css", { type: "text/css; charset=utf-8", body: pageCss }],
  ["/page.js", { type: "text/javascript; charset=utf-8", body: pageJs }],
  ["/kernel.wasm", { type: "application/wasm", body: kernelWasm }],
]);

/** The page's routes (GET only; anything else falls through to the JSON 404). */
export function staticRoutes(): Hono {
  const app = new Hono();
  for (const [path, file] of FILES) {
    app.get(path, (c) => {
      c.header("Content-Type", file.type);
      c.header("Cache-Control", "no-cache");
      c.header("Content-Security-Policy", PAGE_CSP);
      c.header("X-Content-Type-Options", "nosniff");
      return typeof file.body === "string"
        ? c.body(file.body)
        : c.body(file.body as Uint8Array<ArrayBuffer>);
    });
  }
  return app;
}
