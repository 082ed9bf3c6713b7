/**
 * @module Every supported pre-tokenizer name against llama.cpp, beyond the vocabularies llama.cpp
 * ships: GPT-2's vocabulary (Gemma 4's for the raw-UTF-8 types) relabelled with each
 * `tokenizer.ggml.pre` name, loaded by llama.cpp (vocabulary only) and by the TypeScript tokenizer,
 * compared on generated strings. The pre-tokenizer table is llama.cpp's own (regenerated here).
 */

import assert from "node:assert/strict";
import { ggufMetadata, SUPPORTED_PRE_TOKENIZERS, Tokenizer } from "../../client/tokenizer/mod.ts";
import { PRE_NAMES, PRE_TYPES } from "../../client/tokenizer/pre_types.ts";
import { writeGGUF } from "../../verifier-wasm/gguf_writer.ts";
import { LlamaVocab } from "../../compute/llama/vocab_only.ts";
import { GGUFValueType } from "../../verifier-wasm/gguf.ts";
import { formatTs, PRE_TYPES_PATH, renderPreTypes } from "./gen_pre_types.ts";
import { ensureLlamaCpp } from "./llama_cpp_data.ts";
import { generateStrings } from "./strings.ts";

/** Generated strings per pre-tokenizer type and flag set (each tokenized with two flag sets). */
const STRINGS = 300;

const dir = await ensureLlamaCpp();
const base = {
  byteLevel: ggufMetadata(await Deno.readFile(`${dir}/models/ggml-vocab-gpt-2.gguf`)),
  rawUtf8: ggufMetadata(await Deno.readFile(`${dir}/models/ggml-vocab-gemma-4.gguf`)),
};

Deno.test("the pre-tokenizer table is llama.cpp's (regenerated from its llama-vocab.cpp)", async () => {
  const src = await Deno.readTextFile(`${dir}/src/llama-vocab.cpp`);
  assert.equal(await Deno.readTextFile(PRE_TYPES_PATH), await formatTs(renderPreTypes(src)));
});

// Names with the same type and flags take the same code path: one of each is compared.
const seen = new Set<string>();
const names = SUPPORTED_PRE_TOKENIZERS.filter((name) => {
  const { type, flags } = PRE_NAMES.get(name)!;
  const key = type + JSON.stringify(flags);
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
});

Deno.test(`${names.length} pre-tokenizers (${SUPPORTED_PRE_TOKENIZERS.length} names) equal llama.cpp`, async (t) => {
  for (const name of names) {
    await t.step(name, async () => {
      const type = PRE_NAMES.get(name)!.type;
      const source = PRE_TYPES[type].byteEncode ? base.byteLevel : base.rawUtf8;
      const entries = [...source].map(([k, v]) =>
        [
          k,
          k === "tokenizer.ggml.model" ? { ...v, value: "gpt2" } : v,
        ] as [string, typeof v]
      ).filter(([k]) => k !== "tokenizer.ggml.pre");
      entries.push(["tokenizer.ggml.pre", { type: GGUFValueType.STRING, value: name }]);
      const bytes = writeGGUF(entries, []);
      const path = await Deno.makeTempFile({ suffix: ".gguf" });
      await Deno.writeFile(path, bytes);
      const tok = Tokenizer.fromMetadata(ggufMetadata(bytes));
      const llama = await LlamaVocab.load(path);
      try {
        assert.equal(tok.vocab.preType, type);
        assert.equal(tok.vocab.addBos, llama.model.addBos);
        const specials = tok.vocab.specialCache.slice(0, 50).map((id) => tok.vocab.tokens[id]);
        const bad: string[] = [];
        for (const s of generateStrings(STRINGS, 0x9e5 + name.length, specials)) {
          for (const [addSpecial, parseSpecial] of [[true, true], [false, false]]) {
            const want = llama.model.tokenize(s, addSpecial, parseSpecial);
            const got = tok.tokenize(s, { addSpecial, parseSpecial });
            const text = tok.detokenize(want, {
              removeSpecial: addSpecial,
              unparseSpecial: parseSpecial,
            });
            if (
              JSON.stringify(got) !== JSON.stringify(want) ||
              text !== llama.model.detokenize(want, addSpecial, parseSpecial)
            ) bad.push(JSON.stringify(s));
          }
        }
        assert.deepEqual(bad.slice(0, 3), [], `${name}: ${bad.length} mismatches`);
      } finally {
        await llama.free();
        await Deno.remove(path);
      }
    });
  }
});

Deno.test("pre-tokenizers llama.cpp splits with hand-written code beyond its table are refused", () => {
  for (const name of ["kimi-k2", "afmoe", "tiny_aya", "superbpe", "whitespace"]) {
    const meta = new Map(base.byteLevel);
    meta.set("tokenizer.ggml.pre", { type: GGUFValueType.STRING, value: name });
    assert.throws(
      () => Tokenizer.fromMetadata(meta),
      (e) => (e as { code?: string }).code === "tokenizer/unsupported-pre",
      name,
    );
  }
});
