/**
 * @module llama.cpp's tokenizer alone: loads a GGUF with `vocab_only` (no weights, any
 * architecture llama.cpp knows, e.g. the `ggml-vocab-*.gguf` files), for `--engine llama` and for
 * checking the TypeScript tokenizer against llama.cpp token for token.
 */

import { readVocabularyMetadata } from "../fixture.ts";
import { cString, LlamaError, MODEL_PARAMS, setField } from "./ffi.ts";
import { type LibraryOptions, loadLibrary, takeLlamaErrors } from "./library.ts";
import { LlamaModel } from "./llama.ts";

/** Extra libllama symbols for vocabulary inspection. */
const VOCAB_SYMBOLS = {
  llama_vocab_get_attr: { parameters: ["pointer", "i32"], result: "u32" },
  llama_vocab_eot: { parameters: ["pointer"], result: "i32" },
  llama_vocab_get_add_eos: { parameters: ["pointer"], result: "bool" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A vocabulary-only llama.cpp model: tokenize / detokenize plus attribute queries. */
export class LlamaVocab {
  private constructor(
    /** The model (vocabulary only: no contexts). */
    readonly model: LlamaModel,
    private readonly extra: Deno.DynamicLibrary<typeof VOCAB_SYMBOLS>,
    private readonly vocab: Deno.PointerObject,
  ) {}

  /**
   * Loads `path` with `vocab_only`. Throws `NotFoundError` (`model/not-found`), `DecodeError`
   * (`gguf/...`) or `LlamaError` (`llama/model-load-failed`).
   */
  static async load(path: string, opts: LibraryOptions = {}): Promise<LlamaVocab> {
    const metadata = await readVocabularyMetadata(path);
    const lib = loadLibrary(opts);
    const params = new Uint8Array(lib.llama.llama_model_default_params() as Uint8Array);
    setField(MODEL_PARAMS, params, "n_gpu_layers", 0);
    setField(MODEL_PARAMS, params, "vocab_only", true);
    takeLlamaErrors();
    const ptr = await lib.llama.llama_model_load_from_file(cString(path), params);
    if (!ptr) {
      const why = takeLlamaErrors().join("; ");
      throw new LlamaError(
        "llama/model-load-failed",
        `llama.cpp could not load the vocabulary of ${path}` + (why ? `: ${why}` : ""),
      );
    }
    const directory = { version: 3, alignment: 32, dataOffset: 0, metadata, tensors: [] };
    const model = new LlamaModel(lib.llama, ptr, path, directory);
    const names = [...Deno.readDirSync(lib.dir)].map((e) => e.name);
    const libName = names.find((n) => n === "libllama.so") ??
      names.filter((n) => n.startsWith("libllama.") && n.endsWith(".so")).sort()[0];
    const extra = Deno.dlopen(`${lib.dir}/${libName}`, VOCAB_SYMBOLS);
    return new LlamaVocab(model, extra, lib.llama.llama_model_get_vocab(model.pointer)!);
  }

  /** Token attributes (llama.cpp's `llama_token_attr` bits). */
  attr(token: number): number {
    return this.extra.symbols.llama_vocab_get_attr(this.vocab, token);
  }

  /** End-of-turn token, or -1. */
  get eot(): number {
    return this.extra.symbols.llama_vocab_eot(this.vocab);
  }

  /** Whether tokenize appends EOS when adding special tokens. */
  get addEos(): boolean {
    return this.extra.symbols.llama_vocab_get_add_eos(this.vocab);
  }

  /** Frees the model. */
  async free(): Promise<void> {
    await this.model.free();
    this.extra.close();
  }
}
