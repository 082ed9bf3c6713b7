/**
 * @module The TypeScript tokenizer against llama.cpp: every test vector llama.cpp ships for each
 * supported vocabulary, and 10,000 generated strings per vocabulary compared with llama.cpp's own
 * `llama_tokenize` / `llama_detokenize` (the FFI binding, vocabulary-only load), plus token
 * attributes and end-of-generation tokens. Data comes from node-llama-cpp's llama.cpp bundle.
 */

import assert from "node:assert/strict";
import {
  ggufMetadata,
  Tokenizer,
  TokenizerError,
  tokenizerFromGGUF,
} from "../../client/tokenizer/mod.ts";
import { writeGGUF } from "../../verifier-wasm/gguf_writer.ts";
import { LlamaVocab } from "../../compute/llama/vocab_only.ts";
import { renderUnicodeData, UNICODE_DATA_PATH } from "./gen_unicode_data.ts";
import { ensureLlamaCpp, readVectors } from "./llama_cpp_data.ts";
import { prng } from "../prng.ts";
import { generateStrings } from "./strings.ts";

/** Vocabularies with llama.cpp test vectors (`.inp` / `.out`) that the tokenizer supports. */
const WITH_VECTORS = [
  "llama-spm",
  "phi-3",
  "llama-bpe",
  "qwen2",
  "qwen35",
  "gpt-2",
  "mpt",
  "starcoder",
  "refact",
  "command-r",
  "falcon",
  "deepseek-coder",
  "deepseek-llm",
  "gemma-4",
  "bert-bge",
];
/** Further vocabularies in the bundle (no vectors): SentencePiece Baichuan, default-BPE GPT-NeoX. */
const WITHOUT_VECTORS = ["baichuan", "gpt-neox"];

/** Generated strings compared with llama.cpp per vocabulary. */
const GENERATED = 10_000;

const dir = await ensureLlamaCpp();
const vocabPath = (name: string) => `${dir}/models/ggml-vocab-${name}.gguf`;
const load = async (name: string) => tokenizerFromGGUF(await Deno.readFile(vocabPath(name)));

for (const name of WITH_VECTORS) {
  Deno.test(`llama.cpp's test vectors: ${name}`, async () => {
    const tok = await load(name);
    const vectors = await readVectors(dir, name);
    assert.ok(vectors.length >= 46);
    for (const v of vectors) {
      const got = tok.tokenize(v.text, { addSpecial: false, parseSpecial: false });
      assert.deepEqual(got, v.tokens, `${name}: ${JSON.stringify(v.text)}`);
    }
  });
}

/** Compares tokenizer and llama.cpp on `strings` with the given flags; returns mismatches. */
function compare(
  tok: Tokenizer,
  llama: LlamaVocab,
  strings: readonly string[],
  addSpecial: boolean,
  parseSpecial: boolean,
): string[] {
  const bad: string[] = [];
  for (const s of strings) {
    const want = llama.model.tokenize(s, addSpecial, parseSpecial);
    const got = tok.tokenize(s, { addSpecial, parseSpecial });
    if (got.length !== want.length || got.some((t, i) => t !== want[i])) {
      bad.push(`${JSON.stringify(s)}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
      continue;
    }
    // Detokenize with the same flags turned around: drop BOS/EOS when they were added, render
    // control tokens when they were parsed.
    const opts = { removeSpecial: addSpecial, unparseSpecial: parseSpecial };
    const text = tok.detokenize(want, opts);
    const llamaText = llama.model.detokenize(want, addSpecial, parseSpecial);
    if (text !== llamaText) {
      bad.push(`detokenize ${JSON.stringify(s)}: ${JSON.stringify(text)} != ${llamaText}`);
    }
  }
  return bad;
}

for (const name of [...WITH_VECTORS, ...WITHOUT_VECTORS]) {
  Deno.test(`equals llama.cpp on ${GENERATED} generated strings: ${name}`, async () => {
    const tok = await load(name);
    const llama = await LlamaVocab.load(vocabPath(name));
    try {
      const v = tok.vocab;
      assert.equal(tok.size, llama.model.nVocab);
      for (let id = 0; id < tok.size; id++) {
        assert.equal(v.attrs[id], llama.attr(id), `attributes of token ${id}`);
        assert.equal(tok.isEog(id), llama.model.isEog(id), `end of generation: token ${id}`);
      }
      assert.equal(v.addBos, llama.model.addBos);
      assert.equal(v.addEos, llama.addEos);
      if (v.addBos) assert.equal(v.special.bos, llama.model.bos);
      assert.equal(v.special.eot, llama.eot, "end-of-turn token");
      // Special token texts (whole and cut) are mixed into the strings.
      const specials = v.specialCache.slice(0, 300).map((id) => v.tokens[id]);
      const strings = generateStrings(GENERATED, 0x5eed + name.length, specials);
      const bad = [
        ...compare(tok, llama, strings, true, true),
        ...compare(tok, llama, strings.slice(0, GENERATED / 5), false, false),
      ];
      assert.deepEqual(bad.slice(0, 5), [], `${bad.length} mismatches`);
    } finally {
      await llama.free();
    }
  });
}

Deno.test("detokenize options: BOS removal, control tokens, pieces", async () => {
  const tok = await load("llama-spm");
  const ids = tok.tokenize(" Hello world</s>", { parseSpecial: true });
  assert.equal(ids[0], tok.vocab.special.bos);
  assert.equal(ids.at(-1), tok.vocab.special.eos);
  assert.equal(tok.detokenize(ids), "  Hello world");
  assert.equal(tok.detokenize(ids, { removeSpecial: true }), "  Hello world");
  assert.equal(tok.detokenize(ids, { unparseSpecial: true }), "<s>  Hello world</s>");
  assert.deepEqual([...tok.tokenPiece(ids[0])], []);
  assert.equal(new TextDecoder().decode(tok.tokenPiece(ids[0], true)), "<s>");
  const qwen = await load("qwen2");
  const chat = qwen.tokenize("<|im_start|>user\nhi<|im_end|>", { parseSpecial: true });
  assert.equal(qwen.detokenize(chat, { unparseSpecial: true }), "<|im_start|>user\nhi<|im_end|>");
  assert.ok(qwen.isEog(chat.at(-1)!));
  assert.ok(!qwen.isEog(chat[0]));
});

Deno.test("bad token ids and unsupported vocabularies give typed errors", async () => {
  const tok = await load("gpt-2");
  for (const id of [-1, 1.5, tok.size, Number.NaN]) {
    assert.throws(() => tok.detokenize([id]), (e) => e instanceof TokenizerError);
    assert.throws(
      () => tok.tokenPiece(id),
      (e) => e instanceof TokenizerError && e.code === "tokenizer/bad-token",
    );
  }
  const t5 = ggufMetadata(await Deno.readFile(vocabPath("nomic-bert-moe")));
  assert.throws(
    () => Tokenizer.fromMetadata(t5),
    (e) => e instanceof TokenizerError && e.code === "tokenizer/unsupported-model",
  );
  const meta = new Map(ggufMetadata(await Deno.readFile(vocabPath("gpt-2"))));
  meta.set("tokenizer.ggml.pre", { type: 8, value: "no-such-pre" });
  assert.throws(
    () => Tokenizer.fromMetadata(meta),
    (e) => e instanceof TokenizerError && e.code === "tokenizer/unsupported-pre",
  );
  meta.delete("tokenizer.ggml.tokens");
  meta.set("tokenizer.ggml.pre", { type: 8, value: "gpt-2" });
  assert.throws(
    () => Tokenizer.fromMetadata(meta),
    (e) => e instanceof TokenizerError && e.code === "tokenizer/missing",
  );
  // A vocabulary that adds a BOS it does not have (llama.cpp aborts): typed error, and only then.
  const noBos = new Map(ggufMetadata(await Deno.readFile(vocabPath("gpt-2"))));
  noBos.set("tokenizer.ggml.pre", { type: 8, value: "chatglm-bpe" }); // clears the default BOS
  noBos.delete("tokenizer.ggml.bos_token_id");
  noBos.set("tokenizer.ggml.add_bos_token", { type: 7, value: true });
  const noBosTok = Tokenizer.fromMetadata(noBos);
  assert.throws(
    () => noBosTok.tokenize("Hello"),
    (e) => e instanceof TokenizerError && e.code === "tokenizer/no-special-token",
  );
  assert.deepEqual(noBosTok.tokenize("Hello", { addSpecial: false }), [15496]);
  // Plain objects work as metadata too.
  const plain = Object.fromEntries(
    [...ggufMetadata(await Deno.readFile(vocabPath("gpt-2")))].map(([k, v]) => [k, v.value]),
  );
  assert.deepEqual(Tokenizer.fromMetadata(plain).tokenize("Hello world"), [15496, 995]);
});

Deno.test("the codepoint tables are llama.cpp's (regenerated from its unicode-data.cpp)", async () => {
  const src = await Deno.readTextFile(`${dir}/src/unicode-data.cpp`);
  assert.equal(await Deno.readTextFile(UNICODE_DATA_PATH), renderUnicodeData(src));
});

Deno.test("overlapping special tokens of equal length split in llama.cpp's std::sort order", async () => {
  // GPT-2's vocabulary with 36 user-defined tokens of 2 and 3 letters from a 3-letter alphabet,
  // placed at shuffled ids: which of two overlapping tokens wins depends on the (unstable) order
  // libstdc++'s std::sort leaves tokens of equal length in.
  const meta = ggufMetadata(await Deno.readFile(vocabPath("gpt-2")));
  const tokens = [...meta.get("tokenizer.ggml.tokens")!.value as string[]];
  const types = [...meta.get("tokenizer.ggml.token_type")!.value as number[]];
  const letters = ["\u01c2", "\u01c3", "\u01c0"];
  const crafted = letters.flatMap((a) =>
    letters.flatMap((b) => [a + b, ...letters.map((c) => a + b + c)])
  );
  const r = prng(7);
  const order = crafted.map((_, i) => i).sort(() => r() - 0.5);
  let id = 40000;
  for (const i of order) {
    tokens[id] = crafted[i];
    types[id] = 4; // user defined: split out even without parse_special
    id += 1 + Math.floor(r() * 5);
  }
  const entries = [...meta].map(([k, v]) =>
    [
      k,
      k === "tokenizer.ggml.tokens"
        ? { ...v, value: tokens }
        : k === "tokenizer.ggml.token_type"
        ? { ...v, value: types }
        : v,
    ] as const
  );
  const bytes = writeGGUF(entries.map(([k, v]) => [k, v]), []);
  const path = await Deno.makeTempFile({ suffix: ".gguf" });
  await Deno.writeFile(path, bytes);
  const tok = tokenizerFromGGUF(bytes);
  const llama = await LlamaVocab.load(path);
  try {
    const bad: string[] = [];
    for (let n = 0; n < 3000; n++) {
      let s = "";
      const len = 1 + Math.floor(r() * 12);
      for (let i = 0; i < len; i++) s += r() < 0.1 ? " " : letters[Math.floor(r() * 3)];
      const want = llama.model.tokenize(s, true, false);
      const got = tok.tokenize(s);
      if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(s);
    }
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} mismatches`);
  } finally {
    await llama.free();
    await Deno.remove(path);
  }
});
