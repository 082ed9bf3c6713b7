/** The committed page bundle is what `deno task build:page` makes from the sources. */
import assert from "node:assert/strict";
import { BUNDLE_PATH, bundlePage, bundleText } from "../../static/build.ts";

Deno.test("static/bundle.json is current (run `deno task build:page`)", async () => {
  const built = bundleText(await bundlePage());
  const committed = await Deno.readTextFile(BUNDLE_PATH);
  assert.ok(built === committed, "static/bundle.json is stale: run `deno task build:page`");
});
