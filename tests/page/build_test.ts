/** The committed page bundle and kernel copy are what `deno task build:page` makes from the sources. */
import assert from "node:assert/strict";
import { buildPage } from "../../static/build.ts";

const STATIC = new URL("../../static/", import.meta.url);

Deno.test("static/page.js and static/kernel.wasm.b64 are current (run `deno task build:page`)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-page-build-" });
  try {
    await buildPage(`${dir}/page.js`);
    for (const name of ["page.js", "kernel.wasm.b64"]) {
      const built = await Deno.readTextFile(`${dir}/${name}`);
      const committed = await Deno.readTextFile(new URL(name, STATIC));
      assert.ok(built === committed, `static/${name} is stale: run \`deno task build:page\``);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
