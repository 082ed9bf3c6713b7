/**
 * The `verify` command takes the backends the verifier cannot load itself (llama.cpp over FFI) as
 * factories from its caller: the factory gets the model path and thread count, its backend judges
 * the job and is disposed after; without a llama factory, `--backend llama` is a usage error.
 * Real llama.cpp, a real fixture model and a real generated job.
 */

import assert from "node:assert/strict";
import { Command } from "commander";
import { fixtureRecord } from "../fixture_job.ts";
import { openLlamaBackend } from "../../compute/llama_backend.ts";
import {
  type BackendFactory,
  registerVerifyCommand,
  VERIFY_EXIT,
} from "../../verifier-wasm/cli.ts";

Deno.test("verify opens an injected backend through its factory and disposes it; no factory, no llama", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-verify-factory-" });
  try {
    const { modelPath, record: job } = await fixtureRecord(dir, 41n, 8, {
      seed: 3n,
      temperature: 0.8,
      topK: 40,
      topP: 0.95,
    });
    await Deno.writeTextFile(`${dir}/job.json`, JSON.stringify(job));
    const args = ["verify", "--model", modelPath, "--job", `${dir}/job.json`, "--json"];

    const opened: [string, { threads: number }][] = [];
    let disposed = 0;
    const factory: BackendFactory = async (path, options) => {
      opened.push([path, options]);
      const backend = await openLlamaBackend(path, options);
      return {
        name: backend.name,
        vocabSize: backend.vocabSize,
        logitsAt: (tokens, positions) => backend.logitsAt(tokens, positions),
        dispose: async () => {
          disposed++;
          await backend.dispose?.();
        },
      };
    };
    const printed: string[] = [];
    const codes: number[] = [];
    const io = { print: (l: string) => printed.push(l), exit: (c: number) => codes.push(c) };
    const program = new Command().exitOverride();
    registerVerifyCommand(program, { llama: factory }, io);
    await program.parseAsync([...args, "--backend", "llama", "--threads", "2"], { from: "user" });
    assert.deepEqual(opened, [[modelPath, { threads: 2 }]]);
    assert.equal(disposed, 1);
    assert.deepEqual(codes, [VERIFY_EXIT.honest]);
    const verdict = JSON.parse(printed[0]);
    assert.equal(verdict.verdict, "honest");
    assert.equal(verdict.backend, "llama");

    // The WASM backend needs no factory; llama without one is refused before anything runs.
    const bare = new Command().exitOverride();
    registerVerifyCommand(bare, {}, io);
    await bare.parseAsync([...args, "--backend", "wasm"], { from: "user" });
    assert.deepEqual(codes, [VERIFY_EXIT.honest, VERIFY_EXIT.honest]);
    assert.equal(JSON.parse(printed[1]).backend, "wasm");
    const noLlama = new Command().exitOverride();
    registerVerifyCommand(noLlama, {}, io);
    await assert.rejects(
      noLlama.parseAsync([...args, "--backend", "llama"], { from: "user" }),
      (e) => e instanceof RangeError && /llama backend is not available/.test(e.message),
    );
    assert.equal(opened.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
