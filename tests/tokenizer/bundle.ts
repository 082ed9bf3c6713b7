/**
 * @module Test helper: `deno bundle` of an entry module written next to this file (so it imports
 * `../../client/...`), for running the light client's code in Node and browsers.
 */

import assert from "node:assert/strict";

/** Bundles the ES module `source` (imports relative to tests/tokenizer/) and returns the code. */
export async function bundle(source: string): Promise<string> {
  const dir = new URL(".", import.meta.url).pathname;
  const entry = `${dir}.bundle_entry_${crypto.randomUUID()}.ts`;
  const out = await Deno.makeTempFile({ suffix: ".mjs" });
  await Deno.writeTextFile(entry, source);
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "browser", "-o", out, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(entry);
    await Deno.remove(out);
  }
}
