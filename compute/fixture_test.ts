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
import { FIXTURE_SHAPES, FIXTURE_TOKENS, fixtureVocab, makeFixture } from "./fixture.ts";

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

const GOLDEN_TINY_F16 = "6c70f03550b4bc79002c8eae06404d67ea6bb61dddb5e4c629e4e814cddd78e5";
