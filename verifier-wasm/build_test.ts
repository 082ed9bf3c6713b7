/**
 * @module The committed kernel.wasm is what verifier-wasm/build.sh builds from kernel/src with
 * Debian's rustc (skipped where that toolchain is not installed; CI installs it).
 */

import assert from "node:assert/strict";

function hasToolchain(): boolean {
  try {
    Deno.statSync("/usr/bin/rustc");
    Deno.statSync("/usr/lib/rustlib/wasm32-unknown-unknown");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "kernel.wasm is byte-identical to a fresh build of kernel/src",
  ignore: !hasToolchain(),
  async fn() {
    const script = new URL("./build.sh", import.meta.url).pathname;
    const out = await new Deno.Command("sh", { args: [script, "--check"] }).output();
    const msg = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, msg);
  },
});
