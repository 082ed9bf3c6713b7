/**
 * @module Builds the page's bundle `static/bundle.json` from `static/src/main.ts`: `deno bundle`
 * (browser platform, minified, code splitting: the wallet and jobs views and the libraries only they
 * need load when first opened) into a temporary folder, then every output file by name, with the
 * RASTiC kernel (verifier-wasm/kernel.wasm, base64) that the verifier loads beside the bundle, in
 * one JSON file the node imports and serves (relay/routes/static.ts): no file access at run time, so
 * the edge relay serves it too. Run as `deno task build:page`; the bundle is committed and
 * `tests/page/build_test.ts` checks it is current.
 */

const root = new URL("../", import.meta.url);

/** The committed bundle: output files by name (the entry is `page.js`), and the kernel. */
export interface PageBundle {
  /** JavaScript files by name, served at `/<name>`. */
  files: Record<string, string>;
  /** verifier-wasm/kernel.wasm as base64, served at `/kernel.wasm`. */
  kernelWasmBase64: string;
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** Bundles the page and returns the bundle (nothing written but a temporary folder, removed). */
export async function bundlePage(): Promise<PageBundle> {
  const out = await Deno.makeTempDir({ prefix: "camelid-page-bundle-" });
  try {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: [
        ...["bundle", "--quiet", "--platform", "browser", "--minify", "--code-splitting"],
        ...["--outdir", out, "static/src/main.ts"],
      ],
      cwd: root.pathname,
      stdout: "inherit",
      stderr: "inherit",
    });
    const { code } = await cmd.output();
    if (code !== 0) throw new Error(`deno bundle failed (exit ${code})`);
    const names: string[] = [];
    for await (const e of Deno.readDir(out)) if (e.isFile) names.push(e.name);
    const files: Record<string, string> = {};
    for (const name of names.sort()) {
      files[name === "main.js" ? "page.js" : name] = await Deno.readTextFile(`${out}/${name}`);
    }
    if (!files["page.js"]) throw new Error("deno bundle wrote no main.js");
    const kernel = await Deno.readFile(new URL("verifier-wasm/kernel.wasm", root));
    return { files, kernelWasmBase64: base64(kernel) };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** The bundle as committed (stable JSON text). */
export function bundleText(bundle: PageBundle): string {
  return JSON.stringify(bundle) + "\n";
}

/** Path of the committed bundle. */
export const BUNDLE_PATH: string = new URL("static/bundle.json", root).pathname;

if (import.meta.main) {
  await Deno.writeTextFile(BUNDLE_PATH, bundleText(await bundlePage()));
  console.log(BUNDLE_PATH);
}
