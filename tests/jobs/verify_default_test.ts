/**
 * `verify` checks every position by default, as `job submit` does, and always says how many positions
 * it checked; a sampled check also gives its detection chance. Real llama.cpp generates the record,
 * the real WASM verifier checks it.
 */

import assert from "node:assert/strict";
import { Command } from "commander";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { generate } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { registerVerifyCommand, VERIFY_EXIT } from "../../verifier-wasm/cli.ts";

Deno.test("verify defaults to every position, names the coverage, and a sampled check its detection chance", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-verify-default-" });
  try {
    const gguf = makeFixture({ size: "tiny", dtype: "f32", seed: 43n });
    const modelPath = `${dir}/m.gguf`;
    await Deno.writeFile(modelPath, gguf);
    const model = await loadModel(modelPath);
    let record;
    try {
      record = await generate(model, modelIdFromBytes(gguf), {
        promptTokens: [1, 40, 50],
        maxTokens: 32,
        threads: 1,
        sampling: { seed: 5n, jobId: new Uint8Array(32), temperature: 0, topK: 0, topP: 1 },
      });
    } finally {
      await model.free();
    }
    const n = record.outputTokens.length;
    assert.ok(n >= 16, `a long enough output (${n})`);
    // One token changed in the middle, as the trial did.
    const i = Math.floor(n / 2);
    const tampered = [...record.outputTokens];
    tampered[i] = tampered[i] === 100 ? 101 : 100;
    await Deno.writeTextFile(
      `${dir}/job.json`,
      JSON.stringify({ ...record, outputTokens: tampered }),
    );
    const run = async (extra: string[]) => {
      const printed: string[] = [];
      const codes: number[] = [];
      const program = new Command().exitOverride();
      registerVerifyCommand(program, {}, {
        print: (l) => printed.push(l),
        exit: (c) => codes.push(c),
      });
      await program.parseAsync(
        ["verify", "--model", modelPath, "--job", `${dir}/job.json`, ...extra],
        { from: "user" },
      );
      return { text: printed.join("\n"), code: codes[0] };
    };
    const plain = await run([]);
    assert.equal(plain.code, VERIFY_EXIT.fraud, "the default check finds the changed token");
    assert.match(plain.text, new RegExp(`checked ${n} of ${n} output positions \\(all\\)`));
    const json = await run(["--json"]);
    assert.deepEqual(JSON.parse(json.text).coverage, {
      checked: n,
      outputPositions: n,
      detectionChance: 1,
    });
    const sampled = await run(["--positions", "sampled", "--k", "3", "--secret", "00".repeat(32)]);
    const m = sampled.text.match(
      /checked (\d+) of (\d+) output positions \(sampled: one changed token is caught with probability (\d+)%/,
    );
    assert.ok(m, sampled.text);
    assert.equal(Number(m[2]), n);
    assert.ok(Number(m[1]) < n);
    assert.equal(Number(m[3]), Math.round((100 * Number(m[1])) / n));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
