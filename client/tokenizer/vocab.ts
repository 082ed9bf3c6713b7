/**
 * @module A tokenizer vocabulary built from GGUF metadata exactly as llama.cpp's
 * `llama_vocab::impl::load` builds it: model and pre-tokenizer type, token texts, scores and
 * attributes, BPE merge ranks, special token ids, add-BOS/EOS flags, end-of-generation tokens and
 * the special-token list that splits text before tokenization.
 */

import { CamelidError } from "../../chain/errors.ts";
import { compilePreTokenizer, type PreTokenizer } from "./pretokenize.ts";
import { PRE_NAMES, PRE_TYPES } from "./pre_types.ts";
import { stdSort } from "./std_sort.ts";
import { utf8 } from "./unicode.ts";

/** Errors of the tokenizer: unsupported or malformed vocabulary metadata, bad token ids. */
export class TokenizerError extends CamelidError {}

/** Token attributes (llama.cpp's `llama_token_attr`). */
export const Attr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

/** GGUF `tokenizer.ggml.token_type` values to attributes. */
const TYPE_TO_ATTR: readonly number[] = [
  Attr.UNDEFINED, // 0 undefined
  Attr.NORMAL, // 1 normal
  Attr.UNKNOWN, // 2 unknown
  Attr.CONTROL, // 3 control
  Attr.USER_DEFINED, // 4 user defined
  Attr.UNUSED, // 5 unused
  Attr.BYTE, // 6 byte
];

/**
 * GGUF metadata: the repository's parsed map (`verifier-wasm/gguf.ts`, entries with a `value`) or a
 * plain object of key to value.
 */
export type TokenizerMetadata =
  | ReadonlyMap<string, { readonly value: unknown }>
  | Readonly<Record<string, unknown>>;

/** Reads one metadata value (undefined when absent). */
export function metaValue(meta: TokenizerMetadata, key: string): unknown {
  if (meta instanceof Map) return (meta as ReadonlyMap<string, { value: unknown }>).get(key)?.value;
  return (meta as Record<string, unknown>)[key];
}

function metaTyped<T>(
  meta: TokenizerMetadata,
  key: string,
  kind: string,
  check: (v: unknown) => v is T,
): T | undefined {
  const v = metaValue(meta, key);
  if (v === undefined) return undefined;
  if (!check(v)) throw new TokenizerError("tokenizer/bad-metadata", `${key}: not a ${kind}`);
  return v;
}

const metaString = (meta: TokenizerMetadata, key: string) =>
  metaTyped(meta, key, "string", (v): v is string => typeof v === "string");
const metaBool = (meta: TokenizerMetadata, key: string) =>
  metaTyped(meta, key, "boolean", (v): v is boolean => typeof v === "boolean");
const metaNumber = (meta: TokenizerMetadata, key: string) => {
  const v = metaTyped(
    meta,
    key,
    "number",
    (v): v is number | bigint => typeof v === "number" || typeof v === "bigint",
  );
  return v === undefined ? undefined : Number(v);
};

function metaArray<T>(
  meta: TokenizerMetadata,
  key: string,
  check: (x: unknown) => x is T,
): T[] | undefined {
  const v = metaValue(meta, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every(check)) {
    throw new TokenizerError("tokenizer/bad-metadata", `${key}: not an array of the right type`);
  }
  return v;
}

const isString = (x: unknown): x is string => typeof x === "string";
const isNumber = (x: unknown): x is number => typeof x === "number";

/**
 * Pre-tokenizer types this port does not handle: llama.cpp gives them hand-written splitters
 * beyond the expression (Kimi K2's Han handling, AFMoE's and Tiny Aya's digit grouping) or
 * expressions whose empty matches std::regex and JavaScript walk differently (SuperBPE), and the
 * whitespace type, which only the `whitespace` tokenizer model (its own session) can use.
 */
const UNSUPPORTED_TYPES = new Set(["KIMI_K2", "AFMOE", "TINY_AYA", "SUPERBPE", "WHITESPACE"]);

/** The `tokenizer.ggml.pre` names this tokenizer supports. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = [...PRE_NAMES]
  .filter(([, v]) => !UNSUPPORTED_TYPES.has(v.type)).map(([name]) => name);

/** Tokenizer algorithm: SentencePiece-style (`llama`), BPE (`gpt2`, `gemma4`), WordPiece (`bert`). */
export type VocabType = "spm" | "bpe" | "wpm";

const byteLength = (s: string) => utf8.encode(s).length;

/** Texts llama.cpp treats as end-of-generation tokens (`special_eog_ids`). */
const EOG_TEXTS = new Set([
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "</s>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "[EOS]",
  "<|end_of_text|>",
  "<end_of_utterance>",
  "<eos>",
  "<turn|>",
  "<|tool_response>",
  "<｜end▁of▁sentence｜>",
  "[e~[",
]);

/** Auto-detected special tokens by text, when the metadata does not name them. */
const DETECT: ReadonlyArray<[string, readonly string[]]> = [
  ["eot", [
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
  ]],
  ["eom", ["<|eom_id|>"]],
  ["fimPre", [
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
  ]],
  ["fimSuf", [
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
  ]],
  ["fimMid", [
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
  ]],
  ["fimPad", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]],
  ["fimRep", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]],
  ["fimSep", ["<|file_sep|>"]],
];

/** Special token ids (-1 when the vocabulary has none). */
export interface SpecialTokens {
  bos: number;
  eos: number;
  eot: number;
  eom: number;
  unk: number;
  sep: number;
  pad: number;
  mask: number;
  fimPre: number;
  fimSuf: number;
  fimMid: number;
  fimPad: number;
  fimRep: number;
  fimSep: number;
}

/** The metadata key of each special token id, in llama.cpp's order (deprecated keys last). */
const SPECIAL_KEYS: ReadonlyArray<[keyof SpecialTokens, string]> = [
  ["bos", "bos_token_id"],
  ["eos", "eos_token_id"],
  ["eot", "eot_token_id"],
  ["eom", "eom_token_id"],
  ["unk", "unknown_token_id"],
  ["sep", "seperator_token_id"],
  ["pad", "padding_token_id"],
  ["mask", "mask_token_id"],
  ["fimPre", "fim_pre_token_id"],
  ["fimSuf", "fim_suf_token_id"],
  ["fimMid", "fim_mid_token_id"],
  ["fimPad", "fim_pad_token_id"],
  ["fimRep", "fim_rep_token_id"],
  ["fimSep", "fim_sep_token_id"],
  ["fimPre", "prefix_token_id"],
  ["fimSuf", "suffix_token_id"],
  ["fimMid", "middle_token_id"],
];

/** A vocabulary: everything the tokenizer needs, read from GGUF metadata. */
export class Vocab {
  /** Algorithm. */
  readonly type: VocabType;
  /** `tokenizer.ggml.model`. */
  readonly model: string;
  /** `tokenizer.ggml.pre` as llama.cpp reads it ("default" for SentencePiece). */
  readonly pre: string;
  /** llama.cpp's pre-tokenizer type (`LLAMA_VOCAB_PRE_TYPE_` less the prefix), e.g. "LLAMA3". */
  readonly preType: string;
  /** Token texts by id. */
  readonly tokens: string[];
  /** Token scores by id (float32 values). */
  readonly scores: Float32Array;
  /** Token attributes by id ({@link Attr} bits). */
  readonly attrs: Uint16Array;
  /** Text to id (the last id wins for duplicate texts, as in llama.cpp). */
  readonly tokenToId: Map<string, number>;
  /** BPE merge ranks keyed by {@link mergeKey} (the first rank wins for duplicate merges). */
  readonly bpeRanks: Map<string, number>;
  /** Special token ids. */
  readonly special: SpecialTokens;
  /** End-of-generation token ids. */
  readonly eog: ReadonlySet<number>;
  /** Control, user-defined and unknown token ids, longest text first. */
  readonly specialCache: number[];
  /** Whether tokenize adds BOS / EOS when asked to add special tokens. */
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** SentencePiece: prefix text with a space (after BOS or a special token). */
  readonly addSpacePrefix: boolean;
  /** Replace spaces by U+2581 before BPE (SentencePiece-style BPE, Gemma 4). */
  readonly escapeWhitespaces: boolean;
  /** Detokenize: llama.cpp's clean_up_tokenization_spaces passes. */
  readonly cleanSpaces: boolean;
  /** BPE: a word that is itself a token is not merged. */
  readonly ignoreMerges: boolean;
  /** BPE: words are GPT-2 byte-encoded (false: `<0xXX>` byte tokens). */
  readonly byteEncode: boolean;
  /** BPE pre-tokenizer (null for SentencePiece). */
  readonly preTokenizer: PreTokenizer | null;
  /** `tokenizer.chat_template`, when present. */
  readonly chatTemplate: string | undefined;
  /** WordPiece normalizer: lowercase (`tokenizer.ggml.normalizer.lowercase`, default true). */
  readonly lowercase: boolean;
  /** WordPiece normalizer: drop accents after NFD (default: as `lowercase`). */
  readonly stripAccents: boolean;
  /** Longest token text in UTF-8 bytes (bounds WordPiece's longest-match search). */
  readonly maxTokenBytes: number;

  /** Builds the vocabulary; throws `TokenizerError` for unsupported or malformed metadata. */
  constructor(meta: TokenizerMetadata) {
    const model = metaString(meta, "tokenizer.ggml.model");
    if (model === undefined) {
      throw new TokenizerError("tokenizer/missing", "no tokenizer.ggml.model in the metadata");
    }
    this.model = model;
    let pre = metaString(meta, "tokenizer.ggml.pre") ?? "";
    const sp: SpecialTokens = {
      bos: 1,
      eos: 2,
      eot: -1,
      eom: -1,
      unk: 0,
      sep: -1,
      pad: -1,
      mask: -1,
      fimPre: -1,
      fimSuf: -1,
      fimMid: -1,
      fimPad: -1,
      fimRep: -1,
      fimSep: -1,
    };
    let addSpacePrefix = false;
    let addBos = false;
    let addEos = false;
    let escapeWhitespaces = true;
    let cleanSpaces = false;
    let ignoreMerges = false;
    let byteEncode = true;
    let preTokenizer: PreTokenizer | null = null;
    let preType = "DEFAULT";
    const mergesRaw = metaArray(meta, "tokenizer.ggml.merges", isString);
    if (model === "llama") {
      this.type = "spm";
      pre = "default";
      addSpacePrefix = true;
      addBos = true;
    } else if (model === "bert") {
      this.type = "wpm";
      sp.bos = 101;
      sp.eos = -1;
      sp.unk = 100;
      sp.sep = 102;
      sp.pad = 0;
      sp.mask = 103;
      pre = "default";
      cleanSpaces = true;
      addBos = true;
    } else if (model === "gpt2" || model === "gemma4") {
      this.type = "bpe";
      if (!mergesRaw) {
        throw new TokenizerError("tokenizer/missing", "cannot find tokenizer merges in metadata");
      }
      if (model === "gpt2") {
        sp.bos = 11;
        sp.eos = 11;
        sp.unk = -1;
      } else {
        sp.bos = -1;
        sp.eos = -1;
        sp.unk = -1;
        pre = "gemma4";
      }
      escapeWhitespaces = false;
      cleanSpaces = true;
      const named = pre === "" ? { type: "DEFAULT", flags: {} } : PRE_NAMES.get(pre);
      if (!named || UNSUPPORTED_TYPES.has(named.type)) {
        throw new TokenizerError(
          "tokenizer/unsupported-pre",
          `pre-tokenizer ${JSON.stringify(pre)} is not supported (supported: ` +
            `${SUPPORTED_PRE_TOKENIZERS.join(", ")})`,
        );
      }
      if (pre === "") pre = "default";
      const f = named.flags;
      cleanSpaces = f.cleanSpaces ?? cleanSpaces;
      ignoreMerges = f.ignoreMerges ?? false;
      addBos = f.addBos ?? false;
      escapeWhitespaces = f.escapeWhitespaces ?? escapeWhitespaces;
      if (f.noBos) sp.bos = -1;
      preType = named.type;
      byteEncode = PRE_TYPES[named.type].byteEncode;
      preTokenizer = compilePreTokenizer(PRE_TYPES[named.type].exprs);
    } else {
      throw new TokenizerError(
        "tokenizer/unsupported-model",
        `tokenizer model ${
          JSON.stringify(model)
        } is not supported (supported: llama, gpt2, gemma4, bert)`,
      );
    }
    this.pre = pre;
    this.preType = preType;
    addSpacePrefix = metaBool(meta, "tokenizer.ggml.add_space_prefix") ?? addSpacePrefix;

    const texts = metaArray(meta, "tokenizer.ggml.tokens", isString);
    if (!texts) throw new TokenizerError("tokenizer/missing", "no tokenizer.ggml.tokens");
    const n = texts.length;
    const scoresRaw = metaArray(meta, "tokenizer.ggml.scores", isNumber);
    const typesRaw = metaArray(meta, "tokenizer.ggml.token_type", isNumber);
    if (scoresRaw && scoresRaw.length < n) {
      throw new TokenizerError("tokenizer/bad-metadata", "fewer scores than tokens");
    }
    if (typesRaw && typesRaw.length < n) {
      throw new TokenizerError("tokenizer/bad-metadata", "fewer token types than tokens");
    }
    this.tokens = new Array(n);
    this.scores = new Float32Array(n);
    this.attrs = new Uint16Array(n);
    this.tokenToId = new Map();
    for (let i = 0; i < n; i++) {
      const word = texts[i] === "" ? `[EMPTY_${i}]` : texts[i];
      this.tokenToId.set(word, i);
      this.tokens[i] = word;
      this.scores[i] = scoresRaw ? scoresRaw[i] : 0;
      this.attrs[i] = typesRaw ? (TYPE_TO_ATTR[typesRaw[i]] ?? Attr.UNDEFINED) : Attr.NORMAL;
    }

    // llama.cpp splits each merge at its first space after position 0 into a (first, second) pair.
    // Lookups only ever ask for pairs without spaces (symbols never hold one: byte-level BPE maps
    // the space to U+0120 and SentencePiece-style BPE escapes it), so the merge text itself is the
    // key of its pair ({@link mergeKey}); a merge with no such space can never match.
    this.bpeRanks = new Map();
    if (mergesRaw) {
      for (let i = 0; i < mergesRaw.length; i++) {
        const word = mergesRaw[i];
        if (word.indexOf(" ", 1) >= 0 && !this.bpeRanks.has(word)) this.bpeRanks.set(word, i);
      }
    }

    for (const [name, key] of SPECIAL_KEYS) {
      if (sp[name] >= 0 && sp[name] >= n) sp[name] = -1;
      const v = metaNumber(meta, `tokenizer.ggml.${key}`);
      if (v === undefined) continue;
      if (Number.isInteger(v) && v >= 0 && v < n) sp[name] = v;
    }
    addBos = metaBool(meta, "tokenizer.ggml.add_bos_token") ?? addBos;
    addEos = metaBool(meta, "tokenizer.ggml.add_eos_token") ?? addEos;
    if (preType === "GEMMA4") addBos = true;

    const attrs = this.attrs;
    const markControl = (id: number) => {
      attrs[id] |= Attr.CONTROL;
    };
    // Auto-detection by text. llama.cpp walks an unordered map, so with several candidates its pick
    // is unspecified; the first candidate in llama.cpp's list order is taken here.
    for (const [name, candidates] of DETECT) {
      if (sp[name as keyof SpecialTokens] !== -1) continue;
      const id = candidates.map((t) => this.tokenToId.get(t)).find((x) => x !== undefined);
      if (id === undefined) continue;
      sp[name as keyof SpecialTokens] = id;
      markControl(id);
    }
    for (const [text, id] of this.tokenToId) {
      if ((attrs[id] & Attr.CONTROL) && !(attrs[id] & Attr.UNUSED) && text.includes("unused")) {
        attrs[id] |= Attr.UNUSED;
      }
    }
    const eog = new Set<number>();
    for (const id of [sp.fimPad, sp.fimRep, sp.fimSep]) if (id !== -1) eog.add(id);
    for (const [text, id] of this.tokenToId) {
      if (EOG_TEXTS.has(text)) {
        eog.add(id);
        markControl(id);
      }
    }
    for (const text of ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]) {
      const id = this.tokenToId.get(text);
      if (id !== undefined) attrs[id] = Attr.USER_DEFINED;
    }
    for (const id of [sp.eos, sp.eot, sp.eom]) if (id !== -1) eog.add(id);
    const eogWith = (text: string) => [...eog].find((id) => this.tokens[id] === text);
    const endId = eogWith("<|end|>");
    const hasCall = eogWith("<|call|>") !== undefined || eogWith("<|calls|>") !== undefined;
    const hasReturn = eogWith("<|return|>") !== undefined;
    const hasFlush = eogWith("<|flush|>") !== undefined;
    if (endId !== undefined && hasCall && (hasReturn || hasFlush)) {
      eog.delete(endId);
      attrs[endId] = Attr.USER_DEFINED;
    }
    const sId = eogWith("</s>");
    if (sId !== undefined && eogWith("<|tool_response>") !== undefined) {
      eog.delete(sId);
      attrs[sId] = Attr.NORMAL;
    }

    const cache: number[] = [];
    for (let id = 0; id < n; id++) {
      if (attrs[id] & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) cache.push(id);
    }
    // Longest first, in the (unstable) order llama.cpp's std::sort leaves equal lengths.
    const len = new Map(cache.map((id) => [id, byteLength(this.tokens[id])]));
    stdSort(cache, (a, b) => len.get(a)! > len.get(b)!);
    this.specialCache = cache;

    this.applyModelAttrs(meta, cache);

    this.special = sp;
    this.eog = eog;
    this.addBos = addBos;
    this.addEos = addEos;
    this.addSpacePrefix = addSpacePrefix;
    this.escapeWhitespaces = escapeWhitespaces;
    this.cleanSpaces = cleanSpaces;
    this.ignoreMerges = ignoreMerges;
    this.byteEncode = byteEncode;
    this.preTokenizer = preTokenizer;
    this.chatTemplate = metaString(meta, "tokenizer.chat_template");
    const lowercase = metaBool(meta, "tokenizer.ggml.normalizer.lowercase") ?? true;
    this.lowercase = lowercase;
    this.stripAccents = metaBool(meta, "tokenizer.ggml.normalizer.strip_accents") ?? lowercase;
    this.maxTokenBytes = this.tokens.reduce((m, t) => Math.max(m, byteLength(t)), 0);
  }

  /** llama.cpp's per-model strip attributes (by general.name and tokenizer.ggml.pre). */
  private applyModelAttrs(meta: TokenizerMetadata, cache: readonly number[]): void {
    const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const name = asciiLower(metaString(meta, "general.name") ?? "");
    const pre = metaString(meta, "tokenizer.ggml.pre") ?? "";
    const set = (text: string, attr: number, on: boolean) => {
      const id = this.tokenToId.get(text);
      if (id === undefined) {
        throw new TokenizerError("tokenizer/bad-metadata", `token ${text} is missing`);
      }
      this.attrs[id] = on ? this.attrs[id] | attr : this.attrs[id] & ~attr;
    };
    if (["jina-v2-de", "jina-v2-es", "jina-v2-code"].some((p) => pre.includes(p))) {
      if (this.tokenToId.has("<mask>")) set("<mask>", Attr.LSTRIP, true);
    } else if (name.includes("phi-3") || name.includes("phi3")) {
      for (const id of cache) this.attrs[id] |= Attr.RSTRIP;
      set("</s>", Attr.RSTRIP, true);
      for (const t of ["<unk>", "<s>", "<|endoftext|>"]) set(t, Attr.RSTRIP, false);
    } else if (name.includes("modern-bert")) {
      if (this.tokenToId.has("[MASK]")) set("[MASK]", Attr.LSTRIP, true);
    }
  }

  /** Number of tokens. */
  get size(): number {
    return this.tokens.length;
  }

  /** Id of a token text, or -1. */
  textToToken(text: string): number {
    return this.tokenToId.get(text) ?? -1;
  }

  /** Rank of the BPE merge of `left` and `right`, or -1. */
  bpeRank(left: string, right: string): number {
    return this.bpeRanks.get(mergeKey(left, right)) ?? -1;
  }
}

/** Key of a merge pair of space-free symbols: the merge's text in `tokenizer.ggml.merges`. */
export function mergeKey(left: string, right: string): string {
  return left + " " + right;
}
