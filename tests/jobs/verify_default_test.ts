/**
 * `verify` checks every position by default, as `job submit` does, and always says how many positions
 * it checked; a sampled check also gives its detection chance. Real llama.cpp generates the record,
 * the real WASM verifier checks it.
 */

import assert from "node:assert/strict";
import { Command } from "commander";
import { fixtureRecord } from "../fixture_job.ts";
import { registerVerifyCommand, VERIFY_EXIT } from "../../verifier-wasm/cli.ts";

Deno.test("verify defaults to every position, names the coverage, and a sampled check its detection chance", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-verify-default-" });
  try {
    const { modelPath, record } = await fixtureRecord(dir, 43n, 32, {
      seed: 5n,
      temperature: 0,
      topK: 0,
      topP: 1,
    });
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
