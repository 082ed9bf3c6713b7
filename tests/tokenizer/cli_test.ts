/**
 * @module `tokenize` / `detokenize` from the CLI, by model file (TypeScript and llama.cpp engines
 * agree) and by model id from a real node (metadata fetched from the first chunks and checked
 * against the id; a node that lies about the manifest or a chunk is caught).
 */

import assert from "node:assert/strict";
import { fetchModelMetadata, ModelMetadataError } from "../../client/model_metadata.ts";
import { makeFixture, readVocabularyMetadata } from "../../compute/fixture.ts";
import { modelIdOfFile } from "../../compute/model_file.ts";
import { runCli, spawnNode } from "../process_helpers.ts";
import { bundle } from "./bundle.ts";
import { ensureLlamaCpp } from "./llama_cpp_data.ts";

const dir = await ensureLlamaCpp();
const TEXT = "<|im_start|>user\nHello, wörld! 1234 🦙<|im_end|>\n";

Deno.test("tokenize / detokenize a model file: both engines agree, JSON and plain output", async () => {
  const vocab = `${dir}/models/ggml-vocab-qwen2.gguf`;
  const results: string[] = [];
  for (const engine of ["ts", "llama"]) {
    const r = await runCli([
      "tokenize",
      "--model",
      vocab,
      "--engine",
      engine,
      "--text",
      TEXT,
      "--parse-special",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    results.push(r.stdout.trim());
  }
  assert.equal(results[0], results[1]);
  const { tokens } = JSON.parse(results[0]) as { tokens: number[] };
  assert.equal(tokens[0], 151644); // <|im_start|>
  const plain = await runCli(["tokenize", "--model", vocab, "--text", "Hello world"]);
  assert.equal(plain.stdout.trim(), "9707,1879");
  const back = await runCli([
    "detokenize",
    "--model",
    vocab,
    "--tokens",
    JSON.stringify(tokens),
    "--special",
    "--json",
  ]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(JSON.parse(back.stdout), { text: TEXT });
  const bad = await runCli(["detokenize", "--model", vocab, "--tokens", "1,x"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  const chatFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(chatFile, JSON.stringify([{ role: "user", content: "Hi" }]));
    const chat = await runCli(["tokenize", "--model", vocab, "--messages", chatFile, "--json"]);
    assert.equal(chat.code, 0, chat.stderr);
    const c = JSON.parse(chat.stdout) as { tokens: number[]; text: string; stop: number[] };
    assert.ok(c.text.endsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
    assert.deepEqual(c.tokens.slice(-9), [
      151644,
      872,
      198,
      13048,
      151645,
      198,
      151644,
      77091,
      198,
    ]);
    assert.equal(c.stop[0], 151645); // <|im_end|>
    await Deno.writeTextFile(chatFile, JSON.stringify([{ role: "user" }]));
    const badChat = await runCli(["tokenize", "--model", vocab, "--messages", chatFile]);
    assert.equal(badChat.code, 1);
    assert.match(badChat.stderr, /chat\/bad-messages/);
  } finally {
    await Deno.remove(chatFile);
  }
  const both = await runCli(["tokenize", "--text", "x"]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /exactly one of --model/);
});

Deno.test("tokenize --model-id: the tokenizer comes from a node, checked against the id", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "camelid-tokenize-" });
  const model = `${tmp}/qwen2-fixture.gguf`;
  const vocabulary = await readVocabularyMetadata(`${dir}/models/ggml-vocab-qwen2.gguf`);
  await Deno.writeFile(model, makeFixture({ size: "tiny", dtype: "f16", seed: 9n, vocabulary }));
  const id = await modelIdOfFile(model);
  const node = await spawnNode(["--data-dir", `${tmp}/node`, "--no-mine", "--model", model]);
  try {
    const byId = await runCli([
      "tokenize",
      "--model-id",
      id,
      "--node",
      node.url,
      "--text",
      TEXT,
      "--parse-special",
      "--json",
    ]);
    assert.equal(byId.code, 0, byId.stderr);
    const byFile = await runCli([
      "tokenize",
      "--model",
      model,
      "--engine",
      "llama",
      "--text",
      TEXT,
      "--parse-special",
      "--json",
    ]);
    assert.equal(byId.stdout, byFile.stdout);

    // The same from Node: the bundled light client fetches and checks the tokenizer itself.
    const code = await bundle(
      `export { tokenizerForModel } from "../../client/model_metadata.ts";`,
    );
    await Deno.writeTextFile(`${tmp}/client.mjs`, code);
    await Deno.writeTextFile(
      `${tmp}/run.mjs`,
      `import { tokenizerForModel } from "./client.mjs";
const tok = await tokenizerForModel(${JSON.stringify(node.url)}, ${JSON.stringify(id)});
process.stdout.write(JSON.stringify({ tokens: tok.tokenize(${
        JSON.stringify(TEXT)
      }, { parseSpecial: true }) }));
`,
    );
    const fromNode = await new Deno.Command("node", { args: [`${tmp}/run.mjs`], stdout: "piped" })
      .output();
    assert.equal(fromNode.code, 0);
    assert.equal(new TextDecoder().decode(fromNode.stdout).trim(), byFile.stdout.trim());

    const m = await fetchModelMetadata(node.url, id);
    assert.ok(m.chunksRead >= 1 && m.chunksRead < Math.ceil(m.size / 2 ** 20));
    assert.equal(m.metadata.get("tokenizer.ggml.pre")?.value, "qwen2");

    // A node that lies: a changed manifest, a changed chunk, or a model it does not hold.
    const tamper =
      (rewrite: (url: string, body: Uint8Array) => Uint8Array): typeof fetch =>
      async (input, init) => {
        const res = await fetch(input, init);
        const body = rewrite(String(input), new Uint8Array(await res.arrayBuffer()));
        return new Response(body as Uint8Array<ArrayBuffer>, { status: res.status });
      };
    const fresh = (f: typeof fetch) => fetchModelMetadata(node.url, id, { fetch: f, cache: false });
    const flipByte = (url: string, body: Uint8Array) => {
      if (url.endsWith("/chunks/0")) body[100] ^= 1;
      return body;
    };
    await assert.rejects(
      fresh(tamper(flipByte)),
      (e) => e instanceof ModelMetadataError && e.code === "model/bad-chunk",
    );
    const changeLeaf = (url: string, body: Uint8Array) => {
      if (!url.endsWith(`/v1/models/${id}`)) return body;
      const j = JSON.parse(new TextDecoder().decode(body));
      j.leaves[0] = "00".repeat(32);
      return new TextEncoder().encode(JSON.stringify(j));
    };
    await assert.rejects(
      fresh(tamper(changeLeaf)),
      (e) => e instanceof ModelMetadataError && e.code === "model/bad-manifest",
    );
    await assert.rejects(
      fetchModelMetadata(node.url, "ab".repeat(32)),
      (e) => e instanceof ModelMetadataError && e.code === "model/unavailable",
    );
    const unknown = await runCli([
      "tokenize",
      "--model-id",
      "ab".repeat(32),
      "--node",
      node.url,
      "--text",
      "x",
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /model\/unavailable/);
  } finally {
    await node.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
