import assert from "node:assert/strict";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { TEMP_DIR } from "./fixtures.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("model fixture is deterministic and model id prints the Merkle root", async () => {
  const a = `${TEMP_DIR}/cli-a.gguf`;
  const b = `${TEMP_DIR}/cli-b.gguf`;
  for (const out of [a, b]) {
    const r = await cli(
      "model",
      "fixture",
      "--size",
      "tiny",
      "--dtype",
      "q8_0",
      "--seed",
      "5",
      "--out",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
  }
  const bytes = await Deno.readFile(a);
  assert.deepEqual(await Deno.readFile(b), bytes);
  const id = await cli("model", "id", a);
  assert.equal(id.code, 0, id.stderr);
  assert.equal(id.stdout.trim(), modelIdFromBytes(bytes));
});

Deno.test("generate --json prints one reproducible job record; text mode streams", async () => {
  const model = `${TEMP_DIR}/cli-gen.gguf`;
  const made = await cli("model", "fixture", "--size", "tiny", "--seed", "3", "--out", model);
  assert.equal(made.code, 0, made.stderr);
  const args = [
    "generate",
    "--model",
    model,
    "--prompt-tokens",
    "1,40,50",
    "--max-tokens",
    "6",
    "--seed",
    "18446744073709551615",
    "--temperature",
    "0.7",
    "--top-k",
    "20",
    "--top-p",
    "0.9",
    "--job-id",
    "ab".repeat(32),
    "--threads",
    "1",
    "--json",
  ];
  const first = await cli(...args);
  assert.equal(first.code, 0, first.stderr);
  const rec = JSON.parse(first.stdout);
  assert.deepEqual(rec.promptTokens, [1, 40, 50]);
  assert.equal(rec.outputTokens.length, 6);
  assert.equal(rec.seed, "18446744073709551615");
  assert.equal(rec.jobId, "ab".repeat(32));
  assert.equal(rec.modelId, modelIdFromBytes(await Deno.readFile(model)));
  assert.deepEqual([rec.temperature, rec.topK, rec.topP, rec.finishReason], [
    0.7,
    20,
    0.9,
    "length",
  ]);
  const second = JSON.parse((await cli(...args)).stdout);
  assert.deepEqual(second.outputTokens, rec.outputTokens);
  const text = await cli(
    "generate",
    "--model",
    model,
    "--prompt",
    "hi there",
    "--max-tokens",
    "4",
    "--seed",
    "1",
    "--threads",
    "1",
  );
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /4 tokens, finish length/);
});

Deno.test("CLI errors are clear and exit with status 1", async () => {
  const missing = await cli(
    "generate",
    "--model",
    `${TEMP_DIR}/nope.gguf`,
    "--prompt",
    "x",
    "--max-tokens",
    "2",
    "--seed",
    "1",
  );
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /model\/not-found/);
  const both = await cli(
    "generate",
    "--model",
    "m",
    "--prompt",
    "x",
    "--prompt-tokens",
    "1",
    "--max-tokens",
    "2",
    "--seed",
    "1",
  );
  assert.equal(both.code, 1);
  assert.match(both.stderr, /exactly one of --prompt or --prompt-tokens/);
  const badSize = await cli("model", "fixture", "--size", "huge", "--out", `${TEMP_DIR}/x.gguf`);
  assert.equal(badSize.code, 1);
  assert.match(badSize.stderr, /--size must be tiny or small/);
  const badSeed = await cli(
    "generate",
    "--model",
    "m",
    "--prompt",
    "x",
    "--max-tokens",
    "2",
    "--seed",
    "-3",
  );
  assert.equal(badSeed.code, 1);
});
