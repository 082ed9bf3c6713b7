/**
 * @module Builds `dist/verifier.mjs`: `verifier-wasm/mod.ts` bundled into one browser-platform ES
 * module (runs in Node and browsers), with `kernel.wasm` and onnxruntime-web's wasm binary copied
 * beside it, where the bundle looks for them. Run as `deno task build:verifier`.
 */

import { ORT_WASM_FILE, ORT_WEBGPU_WASM_FILE } from "./onnx_backend.ts";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);

/** Bundles the verifier into `dist/` and returns the bundle's path. */
export async function buildVerifierBundle(): Promise<string> {
  await Deno.mkdir(dist, { recursive: true });
  const out = new URL("verifier.mjs", dist).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", out, "verifier-wasm/mod.ts"],
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

if (import.meta.main) {
  console.log(await buildVerifierBundle());
}
