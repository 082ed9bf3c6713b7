/**
 * The whole loop as a user runs it: `main.ts model fixture`, `main.ts generate --json > job.json`,
 * `main.ts verify --job job.json --model FILE`, as real subprocesses, with the documented exit
 * codes (0 honest, 2 fraud, 3 inconclusive, 1 usage or other error).
 */

import assert from "node:assert/strict";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test("generate | verify: honest 0, tampered 2, wrong model 3, bad usage 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-verify-cli-" });
  try {
    const model = `${dir}/m.gguf`;
    const other = `${dir}/other.gguf`;
    for (const [file, seed] of [[model, "31"], [other, "32"]]) {
      const r = await run([
        "model",
        "fixture",
        "--size",
        "tiny",
        "--dtype",
        "f32",
        "--seed",
        seed,
        "--out",
        file,
      ]);
      assert.equal(r.code, 0, r.err);
    }
    const gen = await run([
      "generate",
      "--model",
      model,
      "--prompt-tokens",
      "1,40,50,60",
      "--max-tokens",
      "24",
      "--seed",
      "5",
      "--temperature",
      "0.9",
      "--threads",
      "1",
      "--json",
    ]);
    assert.equal(gen.code, 0, gen.err);
    const jobPath = `${dir}/job.json`;
    await Deno.writeTextFile(jobPath, gen.out);
    const job = JSON.parse(gen.out);

    const honest = await run([
      "verify",
      "--model",
      model,
      "--job",
      jobPath,
      "--positions",
      "sampled",
    ]);
    assert.equal(honest.code, 0, honest.out + honest.err);
    assert.match(honest.out, /^verdict: honest \(backend wasm, sampled positions/);

    const all = await run([
      "verify",
      "--model",
      model,
      "--job",
      jobPath,
      "--backend",
      "llama",
      "--positions",
      "all",
      "--json",
    ]);
    assert.equal(all.code, 0, all.out + all.err);
    const v = JSON.parse(all.out);
    assert.equal(v.verdict, "honest");
    assert.equal(v.backend, "llama");
    assert.equal(v.checked.length, job.outputTokens.length);

    const bad = structuredClone(job);
    bad.outputTokens[10] = bad.outputTokens[10] === 150 ? 151 : 150;
    const badPath = `${dir}/bad.json`;
    await Deno.writeTextFile(badPath, JSON.stringify(bad));
    const fraud = await run([
      "verify",
      "--model",
      model,
      "--job",
      badPath,
      "--backend",
      "onnx",
      "--positions",
      "all",
    ]);
    assert.equal(fraud.code, 2, fraud.out + fraud.err);
    assert.match(fraud.out, /verdict: fraud/);
    assert.match(fraud.out, /position 10: claimed token/);

    const wrong = await run(["verify", "--model", other, "--job", jobPath]);
    assert.equal(wrong.code, 3, wrong.out + wrong.err);
    assert.match(wrong.out, /model id mismatch/);

    const usage = await run(["verify", "--model", model, "--job", jobPath, "--backend", "gpu"]);
    assert.equal(usage.code, 1);
    assert.match(usage.err, /--backend must be wasm, onnx or llama/);
    const missing = await run(["verify", "--model", model, "--job", `${dir}/nope.json`]);
    assert.equal(missing.code, 1);
    const notJson = await run(["verify", "--model", model, "--job", model]);
    assert.equal(notJson.code, 1);
    assert.match(notJson.err, /not JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
