import assert from "node:assert/strict";
import { sha256 } from "../chain/hash.ts";
import { toHex } from "../chain/bytes.ts";
import {
  ggufNumber,
  ggufString,
  ggufTensor,
  readGGUF,
  tensorToF32,
} from "../verifier-wasm/gguf.ts";
import { ggufMetadata, tokenizerFromGGUF } from "../client/tokenizer/mod.ts";
import { chatPrompt } from "../client/chat_template.ts";
import { ensureLlamaCpp } from "../tests/tokenizer/llama_cpp_data.ts";
import {
  FIXTURE_SHAPES,
  FIXTURE_TOKENS,
  fixtureVocab,
  makeFixture,
  readVocabularyMetadata,
} from "./fixture.ts";
import { generate } from "./generate.ts";
import { loadModel } from "./llama/llama.ts";

Deno.test("same options give the same bytes; another seed gives other weights", () => {
  const a = makeFixture({ size: "tiny", dtype: "f32", seed: 11n });
  const b = makeFixture({ size: "tiny", dtype: "f32", seed: 11n });
  const c = makeFixture({ size: "tiny", dtype: "f32", seed: 12n });
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    ggufTensor(readGGUF(a), "blk.0.attn_q.weight").data,
    ggufTensor(readGGUF(c), "blk.0.attn_q.weight").data,
  );
});

Deno.test("fixture bytes are pinned (golden hash of tiny f16 seed 1)", () => {
  const bytes = makeFixture({ size: "tiny", dtype: "f16", seed: 1n });
  assert.equal(toHex(sha256(bytes)), GOLDEN_TINY_F16);
});

Deno.test("tiny and small have the documented llama shapes and metadata", () => {
  for (const size of ["tiny", "small"] as const) {
    const shape = FIXTURE_SHAPES[size];
    const dtype = size === "tiny" ? "q8_0" : "f32";
    const f = readGGUF(makeFixture({ size, dtype, seed: 3n }));
    assert.equal(ggufString(f, "general.architecture"), "llama");
    assert.equal(ggufNumber(f, "llama.block_count"), shape.layers);
    assert.equal(ggufNumber(f, "llama.embedding_length"), shape.embd);
    assert.equal(ggufNumber(f, "llama.feed_forward_length"), shape.ff);
    assert.equal(ggufNumber(f, "llama.attention.head_count_kv"), shape.kvHeads);
    assert.equal(f.tensors.length, 3 + 9 * shape.layers);
    assert.deepEqual(ggufTensor(f, "blk.0.ffn_down.weight").dims, [shape.ff, shape.embd]);
    assert.deepEqual(ggufTensor(f, "blk.0.attn_k.weight").dims, [
      shape.embd,
      (shape.embd / shape.heads) * shape.kvHeads,
    ]);
    assert.equal(ggufTensor(f, "blk.0.attn_q.weight").typeName, dtype.toUpperCase());
    assert.equal(ggufTensor(f, "output_norm.weight").typeName, "F32");
  }
  const small = FIXTURE_SHAPES.small;
  assert.deepEqual([small.layers, small.embd, small.ff], [8, 512, 1408]);
});

Deno.test("vocabulary: bytes, specials, space piece, and synthetic tokens up to --vocab", () => {
  const f = readGGUF(makeFixture({ size: "tiny", dtype: "f16", seed: 1n, vocab: 32000 }));
  const tokens = f.metadata.get("tokenizer.ggml.tokens")!.value as string[];
  assert.equal(tokens.length, 32000);
  assert.equal(new Set(tokens).size, 32000);
  assert.equal(tokens[FIXTURE_TOKENS.eos], "</s>");
  assert.equal(tokens[FIXTURE_TOKENS.firstByte + 0x41], "<0x41>");
  assert.equal(tokens[FIXTURE_TOKENS.space], "\u2581");
  assert.deepEqual(ggufTensor(f, "output.weight").dims, [64, 32000]);
  assert.equal(fixtureVocab(260).tokens.length, 260);
});

Deno.test("eos bias only changes the end token's output row on the constant channel", () => {
  const plain = readGGUF(makeFixture({ size: "tiny", dtype: "f32", seed: 2n }));
  const biased = readGGUF(makeFixture({ size: "tiny", dtype: "f32", seed: 2n, eosBias: 40 }));
  const a = tensorToF32(ggufTensor(plain, "output.weight"));
  const b = tensorToF32(ggufTensor(biased, "output.weight"));
  const diff = [...a.keys()].filter((i) => a[i] !== b[i]);
  assert.deepEqual(diff, [FIXTURE_TOKENS.eos * 64]);
  assert.equal(b[FIXTURE_TOKENS.eos * 64], 40);
});

Deno.test("bad fixture options are rejected", () => {
  assert.throws(() => makeFixture({ size: "huge" as "tiny", dtype: "f32", seed: 1n }), RangeError);
  assert.throws(() => makeFixture({ size: "tiny", dtype: "q4" as "f32", seed: 1n }), RangeError);
  assert.throws(() => makeFixture({ size: "tiny", dtype: "f32", seed: -1n }), RangeError);
  assert.throws(
    () => makeFixture({ size: "tiny", dtype: "f32", seed: 1n, vocab: 100 }),
    RangeError,
  );
  assert.throws(
    () => makeFixture({ size: "tiny", dtype: "f32", seed: 1n, eosBias: NaN }),
    RangeError,
  );
});

Deno.test("a fixture on a real vocabulary: Llama 3's 128k tokens and a chat template", async () => {
  const dir = await ensureLlamaCpp();
  const vocabulary = await readVocabularyMetadata(`${dir}/models/ggml-vocab-llama-bpe.gguf`);
  const template = await Deno.readTextFile(
    `${dir}/models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja`,
  );
  const bytes = makeFixture({
    size: "tiny",
    dtype: "q8_0",
    seed: 5n,
    vocabulary,
    chatTemplate: template,
    eosBias: 7,
  });
  const f = readGGUF(bytes);
  assert.equal(ggufNumber(f, "llama.vocab_size"), 128256);
  assert.deepEqual(ggufTensor(f, "output.weight").dims, [64, 128256]);
  assert.equal(ggufString(f, "tokenizer.chat_template"), template);
  assert.equal(ggufString(f, "tokenizer.ggml.pre"), "llama-bpe");
  assert.match(ggufString(f, "general.name"), /^camelid-fixture-tiny-q8_0-5-llama-bpe$/);
  const eos = ggufNumber(f, "tokenizer.ggml.eos_token_id");
  const out = tensorToF32(ggufTensor(f, "output.weight"));
  assert.ok(Math.abs(out[eos * 64] - 7) < 0.1, "eos bias on the vocabulary's own EOS row");
  for (const [k, v] of vocabulary) {
    if (k.startsWith("tokenizer.") && k !== "tokenizer.chat_template") {
      assert.deepEqual(f.metadata.get(k)?.value, v.value, k);
    }
  }
  const path = await Deno.makeTempFile({ suffix: ".gguf" });
  try {
    await Deno.writeFile(path, bytes);
    const model = await loadModel(path);
    try {
      const tok = tokenizerFromGGUF(bytes);
      const prompt = chatPrompt(tok, [{ role: "user", content: "Hello, world! 123" }]);
      assert.deepEqual(prompt.tokens, model.tokenize(prompt.text, true, true));
      assert.equal(tok.vocab.tokens[prompt.endOfTurn], "<|eot_id|>");
      assert.ok(model.isEog(prompt.endOfTurn));
      const rec = await generate(model, "00".repeat(32), {
        promptTokens: prompt.tokens,
        maxTokens: 4,
        sampling: { seed: 1n, jobId: new Uint8Array(32), temperature: 0, topK: 0, topP: 1 },
        threads: 1,
      });
      assert.ok(rec.outputTokens.length >= 1 && rec.outputTokens.every((t) => t < 128256));
      assert.equal(tok.detokenize(rec.outputTokens), model.detokenize(rec.outputTokens));
    } finally {
      await model.free();
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("model fixture --vocab FILE --chat-template FILE writes the real vocabulary", async () => {
  const dir = await ensureLlamaCpp();
  const out = await Deno.makeTempFile({ suffix: ".gguf" });
  const main = new URL("../main.ts", import.meta.url).pathname;
  const tpl = `${dir}/models/templates/Qwen-Qwen2.5-7B-Instruct.jinja`;
  try {
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        // --force: `out` is a temp file that already exists.
        args: [
          "run",
          "-A",
          main,
          "model",
          "fixture",
          "--size",
          "tiny",
          "--out",
          out,
          "--force",
          ...args,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await run([
      "--vocab",
      `${dir}/models/ggml-vocab-qwen2.gguf`,
      "--chat-template",
      tpl,
    ]);
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const meta = ggufMetadata(await Deno.readFile(out));
    assert.equal(meta.get("tokenizer.ggml.pre")?.value, "qwen2");
    assert.equal(meta.get("tokenizer.chat_template")?.value, await Deno.readTextFile(tpl));
    assert.equal((meta.get("tokenizer.ggml.tokens")?.value as string[]).length, 151936);
    const missing = await run(["--vocab", `${dir}/models/no-such-vocab.gguf`]);
    assert.notEqual(missing.code, 0);
    const err = new TextDecoder().decode(missing.stderr).trim().split("\n");
    assert.equal(err.length, 1, "one-line error");
    assert.match(err[0], /does not exist/);
  } finally {
    await Deno.remove(out);
  }
});

const GOLDEN_TINY_F16 = "6c70f03550b4bc79002c8eae06404d67ea6bb61dddb5e4c629e4e814cddd78e5";
