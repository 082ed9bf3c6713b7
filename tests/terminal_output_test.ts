/**
 * @module Completion text on a terminal (a pseudo-terminal from `script`) is printable: the control
 * bytes a random-weights model emits are shown escaped; piped output keeps them exactly.
 */

import assert from "node:assert/strict";
import { runBriefly } from "./run_briefly.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

const hasScript = await new Deno.Command("script", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

/** Control bytes other than tab, newline and carriage return. */
const isControl = (b: number) => (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f;

Deno.test({
  name: "generate prints escaped text on a terminal and the exact bytes into a pipe",
  ignore: !hasScript,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "camelid-terminal-text-" });
    try {
      const model = `${dir}/m.gguf`;
      const made = await runBriefly([
        "model",
        "fixture",
        "--size",
        "tiny",
        "--seed",
        "3",
        "--out",
        model,
      ]);
      assert.equal(made.code, 0, made.stderr);
      const args = [
        "generate",
        "--model",
        model,
        "--prompt-tokens",
        "1,2,3",
        "--max-tokens",
        "64",
        "--seed",
        "5",
        "--temperature",
        "1",
      ];
      // Piped: the exact text, control bytes included (this seed's text has several).
      const piped = await runBriefly(args);
      assert.equal(piped.code, 0, piped.stderr);
      const raw = new TextEncoder().encode(piped.stdout);
      const controls = [...new Set(raw.filter(isControl))];
      assert.ok(controls.length >= 2, "the fixture text should hold control bytes");

      // On a terminal: none of them raw, each shown as \xNN.
      const quoted = [Deno.execPath(), "run", "-A", MAIN, ...args]
        .map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
      const out = await new Deno.Command("script", {
        args: ["-q", "-e", "-c", quoted, "/dev/null"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const screen = new TextDecoder().decode(out.stdout);
      for (const b of controls) {
        assert.ok(!out.stdout.includes(b), `raw byte 0x${b.toString(16)} reached the terminal`);
        assert.ok(
          screen.includes(`\\x${b.toString(16).padStart(2, "0")}`),
          `0x${b.toString(16)} not shown escaped:\n${screen}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
