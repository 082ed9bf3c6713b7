/** The node's page routes: every file from the node, with its type and the content security policy. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { notFound } from "../../relay/errors.ts";
import { PAGE_CSP, staticRoutes } from "../../relay/routes/static.ts";

const STATIC = new URL("../../static/", import.meta.url);

Deno.test("GET / serves the page, its bundle, style and the RASTiC kernel; other paths stay JSON 404", async () => {
  const app = new Hono();
  app.notFound(notFound);
  app.route("/", staticRoutes());
  const html = await app.request("/");
  assert.equal(html.status, 200);
  assert.match(html.headers.get("content-type")!, /^text\/html/);
  assert.equal(html.headers.get("content-security-policy"), PAGE_CSP);
  const text = await html.text();
  assert.equal(text, await Deno.readTextFile(new URL("index.html", STATIC)));
  // Every asset the page names is on this origin.
  for (const m of text.matchAll(/(?:src|href)="([^"]+)"/g)) {
    assert.ok(m[1].startsWith("/") || m[1].startsWith("data:"), `${m[1]} is on the node`);
  }
  // The bundle's entry and every chunk it loads, as built.
  const bundle = JSON.parse(await Deno.readTextFile(new URL("bundle.json", STATIC)));
  assert.ok(bundle.files["page.js"]);
  for (const [name, text] of Object.entries(bundle.files)) {
    const js = await app.request(`/${name}`);
    assert.match(js.headers.get("content-type")!, /^text\/javascript/);
    assert.equal(await js.text(), text);
  }
  const css = await app.request("/page.css");
  assert.match(css.headers.get("content-type")!, /^text\/css/);
  await css.body?.cancel();
  const wasm = await app.request("/kernel.wasm");
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assert.deepEqual(
    new Uint8Array(await wasm.arrayBuffer()),
    await Deno.readFile(new URL("../../verifier-wasm/kernel.wasm", import.meta.url)),
  );
  const missing = await app.request("/nothing.js");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "route/not-found");
});
