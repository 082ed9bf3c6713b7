/**
 * @module The design's one-way dependencies, checked on the source: `chain/` imports nothing above
 * it, `verifier-wasm/` and `cli/` import nothing that needs llama.cpp or a node (no `compute/`,
 * `relay/`, `client/`, `gateway/`), so the verifier loads in any runtime. Test files may reach wider
 * (they build fixtures); production modules may not.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** Relative imports (static and dynamic) of every production `.ts` file directly in `dir`. */
async function importsOf(dir: string): Promise<{ file: string; target: string }[]> {
  const found: { file: string; target: string }[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    if (!entry.isFile || !entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(new URL(`${dir}/${entry.name}`, ROOT));
    for (const m of text.matchAll(/(?:from|import\()\s*"(\.\.\/[^"]+)"/g)) {
      found.push({ file: `${dir}/${entry.name}`, target: m[1] });
    }
  }
  return found;
}

function assertNoneInto(
  imports: { file: string; target: string }[],
  forbidden: readonly string[],
): void {
  const bad = imports.filter(({ target }) =>
    forbidden.some((f) => target.startsWith(`../${f}/`) || target.startsWith(`../../${f}/`))
  );
  assert.deepEqual(bad, [], `forbidden imports: ${JSON.stringify(bad)}`);
}

Deno.test("layout: chain/ imports nothing from the folders above it", async () => {
  const imports = [...await importsOf("chain"), ...await importsOf("chain/secp")];
  assertNoneInto(imports, ["relay", "compute", "client", "gateway", "verifier-wasm", "cli"]);
});

Deno.test("layout: verifier-wasm/ and cli/ import nothing from compute/, relay/, client/ or gateway/", async () => {
  const imports = [...await importsOf("verifier-wasm"), ...await importsOf("cli")];
  assert.ok(imports.some(({ target }) => target.startsWith("../chain/")), "the scan sees imports");
  assertNoneInto(imports, ["compute", "relay", "client", "gateway"]);
});
