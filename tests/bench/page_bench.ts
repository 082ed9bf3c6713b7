/**
 * @module The web page's load: time from navigation to the first render of the node's status (the
 * bundle fetched, parsed and run, `/v1/status` answered and drawn) beside one `/v1/status` round
 * trip from the same page, in headless Chromium against a real node process on loopback. Prints the
 * page weight (bytes and gzip bytes of every file the first view loads) once.
 */

import { openPageSession } from "../page/browser.ts";
import { spawnNode } from "../process_helpers.ts";

const STATIC = new URL("../../static/", import.meta.url);

/** UTF-8 bytes of `text`. */
function byteSize(text: string): number {
  return new TextEncoder().encode(text).length;
}

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** The bundle's files the entry imports statically (what the first view loads), entry first. */
function firstViewFiles(files: Record<string, string>): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const m of files[name].matchAll(/(?:from|import)\s*"\.\/([^"]+)"/g)) visit(m[1]);
  };
  visit("page.js");
  return [...seen];
}

const bundle = JSON.parse(await Deno.readTextFile(new URL("bundle.json", STATIC))) as {
  files: Record<string, string>;
};
const first: [string, string][] = [
  ["index.html", await Deno.readTextFile(new URL("index.html", STATIC))],
  ["page.css", await Deno.readTextFile(new URL("page.css", STATIC))],
  ...firstViewFiles(bundle.files).map((n): [string, string] => [n, bundle.files[n]]),
];
let raw = 0;
let gz = 0;
for (const [name, text] of first) {
  const g = await gzipSize(text);
  raw += byteSize(text);
  gz += g;
  console.log(`page weight: ${name} ${byteSize(text)} bytes (${g} gzip)`);
}
console.log(`page weight: first view ${first.length} files, ${raw} bytes (${gz} gzip)`);
let all = 0;
for (const text of Object.values(bundle.files)) all += byteSize(text);
console.log(`page weight: every script the views may load ${all} bytes`);

const dir = await Deno.makeTempDir({ prefix: "camelid-page-bench-" });
const node = await spawnNode(["--data-dir", dir]);
const session = await openPageSession();
globalThis.addEventListener("unload", () => {
  node.child.kill();
});
await session.page.goto(`${node.url}/`);
await session.page.locator("#node-status").waitFor();

Deno.bench({
  name: "GET /v1/status from the page (one round trip)",
  group: "page first render",
  baseline: true,
  fn: async () => {
    await session.page.evaluate("fetch('/v1/status').then((r) => r.json())");
  },
});

Deno.bench({
  name: "navigation to the status drawn (html, css, page.js, /v1/status, render)",
  group: "page first render",
  fn: async () => {
    await session.page.goto(`${node.url}/?${Math.random()}`);
    await session.page.locator("#node-status").waitFor();
  },
});
