/**
 * @module Builds the page's bundle `static/page.js` from `static/src/main.ts` (`deno bundle`,
 * browser platform, minified): one ES module the node serves with `index.html`, `page.css` and the
 * RASTiC kernel (`/kernel.wasm`, loaded beside the bundle). Run as `deno task build:page`; the
 * bundle is committed and `tests/page/build_test.ts` checks it is current.
 */

const root = new URL("../", import.meta.url);

/** The served copy of the RASTiC kernel: verifier-wasm/kernel.wasm as base64 text. */
export async function kernelBase64(): Promise<string> {
  const bytes = await Deno.readFile(new URL("verifier-wasm/kernel.wasm", root));
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text) + "\n";
}

/**
 * Bundles the page into `out` (default `static/page.js`), writes `static/kernel.wasm.b64` beside the
 * default output, and returns the bundle's path.
 */
export async function buildPage(out = new URL("static/page.js", root).pathname): Promise<string> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "-o",
      out,
      "static/src/main.ts",
    ],
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) throw new Error(`deno bundle failed (exit ${code})`);
  await Deno.writeTextFile(out.replace(/page\.js$/, "kernel.wasm.b64"), await kernelBase64());
  return out;
}

if (import.meta.main) console.log(await buildPage());
