/**
 * @module The light client's tokenizer: built from a GGUF's metadata only, equal to llama.cpp token
 * for token. Pure TypeScript (Deno, Node, browsers): no FFI, no file access.
 */

import { DecodeError } from "../../chain/errors.ts";
import { type GGUFMetadata, readGGUFDirectory } from "../../verifier-wasm/gguf.ts";
import { Tokenizer } from "./tokenizer.ts";

export { Tokenizer } from "./tokenizer.ts";
export type { DetokenizeOptions, TokenizeOptions } from "./tokenizer.ts";
export { Attr, SUPPORTED_PRE_TOKENIZERS, TokenizerError, Vocab } from "./vocab.ts";
export type { SpecialTokens, TokenizerMetadata, VocabType } from "./vocab.ts";

/**
 * Metadata of a GGUF file from its bytes: the whole file, or a prefix holding the header when
 * `fileLength` (the whole file's size) is given. Vocabulary-only files (no tensors, no final
 * padding, like llama.cpp's `ggml-vocab-*.gguf`) are accepted. Throws `DecodeError` (`gguf/...`).
 */
export function ggufMetadata(bytes: Uint8Array, fileLength = bytes.length): GGUFMetadata {
  try {
    return readGGUFDirectory(bytes, fileLength).metadata;
  } catch (e) {
    // A file with no tensors may end right after its metadata, short of the data alignment.
    if (!(e instanceof DecodeError) || e.code !== "gguf/truncated" || fileLength !== bytes.length) {
      throw e;
    }
    const padded = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
    padded.set(bytes);
    const dir = readGGUFDirectory(padded, padded.length);
    if (dir.tensors.length !== 0) throw e;
    return dir.metadata;
  }
}

/** A tokenizer from GGUF bytes (see {@link ggufMetadata}). */
export function tokenizerFromGGUF(bytes: Uint8Array, fileLength = bytes.length): Tokenizer {
  return Tokenizer.fromMetadata(ggufMetadata(bytes, fileLength));
}
