/**
 * @module Builds `dist/verifier.mjs` (`verifier-wasm/mod.ts`) and `dist/client.mjs` (the light
 * client, `client/mod.ts`), each bundled into one browser-platform ES module (runs in Node and
 * browsers), with `kernel.wasm` and onnxruntime-web's wasm binaries copied beside them, where the
 * bundles look for them. Run as `deno task build:verifier`.
 */

import { ORT_WASM_FILE, ORT_WEBGPU_WASM_FILE } from "./onnx_backend.ts";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);

/** Bundles `entry` (relative to the root) into `dist/<name>` with the wasm beside it; its path. */
async function bundleInto(entry: string, name: string): Promise<string> {
  await Deno.mkdir(dist, { recursive: true });
  const out = new URL(name, dist).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", out, entry],
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) throw new Error(`deno bundle failed with exit code ${code}`);
  await Deno.copyFile(new URL("verifier-wasm/kernel.wasm", root), new URL("kernel.wasm", dist));
  for (const f of [ORT_WASM_FILE, ORT_WEBGPU_WASM_FILE]) {
    await Deno.copyFile(new URL(`node_modules/onnxruntime-web/dist/${f}`, root), new URL(f, dist));
  }
  return out;
}

/** Bundles the verifier into `dist/verifier.mjs` and returns the bundle's path. */
export function buildVerifierBundle(): Promise<string> {
  return bundleInto("verifier-wasm/mod.ts", "verifier.mjs");
}

/**
 * Bundles the light client (`client/mod.ts`: job client, subscription, tokenizer, verifier core)
 * into `dist/client.mjs` and returns the bundle's path.
 */
export function buildClientBundle(): Promise<string> {
  return bundleInto("client/mod.ts", "client.mjs");
}

if (import.meta.main) {
  console.log(await buildVerifierBundle());
  console.log(await buildClientBundle());
}
