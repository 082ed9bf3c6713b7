/**
 * @module Tokenizer benchmarks, side by side in one run: the TypeScript tokenizer against llama.cpp's
 * `llama_tokenize` (FFI, vocabulary-only load) on the same 1,000 generated strings per vocabulary,
 * and building each tokenizer from the GGUF bytes.
 */

import { ggufMetadata, Tokenizer } from "../../client/tokenizer/mod.ts";
import { LlamaVocab } from "../../compute/llama/vocab_only.ts";
import { ensureLlamaCpp } from "../tokenizer/llama_cpp_data.ts";
import { generateStrings } from "../tokenizer/strings.ts";

const dir = await ensureLlamaCpp();

for (const name of ["llama-spm", "llama-bpe", "qwen2", "gemma-4"]) {
  const path = `${dir}/models/ggml-vocab-${name}.gguf`;
  const bytes = await Deno.readFile(path);
  const tok = Tokenizer.fromMetadata(ggufMetadata(bytes));
  const llama = await LlamaVocab.load(path);
  const specials = tok.vocab.specialCache.slice(0, 50).map((id) => tok.vocab.tokens[id]);
  const strings = generateStrings(1000, 0xbe7c, specials);
  const chars = strings.reduce((n, s) => n + s.length, 0);
  const group = `tokenize 1000 strings (${chars} UTF-16 units): ${name}`;
  Deno.bench({ name: `llama.cpp (FFI): ${name}`, group, baseline: true }, () => {
    for (const s of strings) llama.model.tokenize(s, true, true);
  });
  Deno.bench({ name: `TypeScript: ${name}`, group }, () => {
    for (const s of strings) tok.tokenize(s, { parseSpecial: true });
  });
  Deno.bench({ name: `TypeScript, fresh word cache: ${name}`, group }, () => {
    const fresh = new Tokenizer(tok.vocab);
    for (const s of strings) fresh.tokenize(s, { parseSpecial: true });
  });
  const meta = ggufMetadata(bytes);
  Deno.bench(
    { name: `parse GGUF metadata: ${name}`, group: `load: ${name}`, baseline: true },
    () => {
      ggufMetadata(bytes);
    },
  );
  Deno.bench({ name: `build the tokenizer from metadata: ${name}`, group: `load: ${name}` }, () => {
    Tokenizer.fromMetadata(meta);
  });
}
