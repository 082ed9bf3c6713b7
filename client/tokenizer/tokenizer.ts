/**
 * @module The tokenizer: text to token ids and back, equal to llama.cpp's `llama_tokenize` /
 * `llama_token_to_piece` / `llama_detokenize` (special tokens split out first, BOS/EOS as the
 * metadata says, SentencePiece space prefix, BPE pre-tokenizers, clean-up of spaces).
 */

import { BpeSession, spmTokenize, wpmTokenize } from "./models.ts";
import { CPT_TO_BYTE, utf8 } from "./unicode.ts";
import { Attr, TokenizerError, type TokenizerMetadata, Vocab } from "./vocab.ts";

/** Options of {@link Tokenizer.tokenize}. */
export interface TokenizeOptions {
  /** Add BOS/EOS as the vocabulary asks (default true). */
  addSpecial?: boolean;
  /** Match control tokens' texts in the input as those tokens (default false). */
  parseSpecial?: boolean;
}

/** Options of {@link Tokenizer.detokenize}. */
export interface DetokenizeOptions {
  /** Drop a leading BOS / trailing EOS the vocabulary adds (default false). */
  removeSpecial?: boolean;
  /** Render control tokens as their text (default false: they render as nothing). */
  unparseSpecial?: boolean;
}

/** A piece of the input: raw text, or a special token already recognised. */
type Fragment = { text: string } | { token: number };

const isCSpace = (c: string) =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

/** Tokenizer over a {@link Vocab}. */
export class Tokenizer {
  private readonly bpe: BpeSession | null;
  private readonly pieces: (Uint8Array | undefined)[];

  /** A tokenizer for `vocab`. */
  constructor(readonly vocab: Vocab) {
    this.bpe = vocab.type === "bpe" ? new BpeSession(vocab) : null;
    this.pieces = new Array(vocab.size);
  }

  /** Builds the tokenizer from GGUF metadata (see {@link Vocab}). */
  static fromMetadata(meta: TokenizerMetadata): Tokenizer {
    return new Tokenizer(new Vocab(meta));
  }

  /** Vocabulary size. */
  get size(): number {
    return this.vocab.size;
  }

  /** Text to token ids. */
  tokenize(text: string, opts: TokenizeOptions = {}): number[] {
    const addSpecial = opts.addSpecial ?? true;
    const parseSpecial = opts.parseSpecial ?? false;
    const v = this.vocab;
    // Lone surrogates become U+FFFD, as their UTF-8 encoding does on the way to llama.cpp.
    const raw = text.isWellFormed() ? text : text.toWellFormed();
    const fragments = raw.length ? this.partition(raw, parseSpecial) : [];
    const out: number[] = [];
    if (v.type === "wpm") {
      // llama.cpp adds BOS and SEP whenever special tokens are asked for.
      if (addSpecial) out.push(this.specialId("bos"));
      for (const f of fragments) {
        if ("text" in f) wpmTokenize(v, f.text, out);
        else out.push(f.token);
      }
      if (addSpecial) out.push(this.specialId("sep"));
    } else if (v.type === "spm") {
      let prevSpecial = true;
      if (addSpecial && v.addBos) out.push(this.specialId("bos"));
      for (const f of fragments) {
        if ("text" in f) {
          const t = (v.addSpacePrefix && prevSpecial ? " " : "") + f.text;
          spmTokenize(v, t.replaceAll(" ", "\u2581"), out);
          prevSpecial = false;
        } else {
          out.push(f.token);
          prevSpecial = true;
        }
      }
      if (addSpecial && v.addEos) out.push(this.specialId("eos"));
    } else {
      if (addSpecial && v.addBos) out.push(this.specialId("bos"));
      for (const f of fragments) {
        if ("text" in f) {
          this.bpe!.tokenize(v.escapeWhitespaces ? f.text.replaceAll(" ", "\u2581") : f.text, out);
        } else out.push(f.token);
      }
      if (addSpecial && v.addEos) out.push(this.specialId("eos"));
    }
    return out;
  }

  /**
   * The BOS or EOS id the vocabulary adds; throws `TokenizerError` (`tokenizer/no-special-token`)
   * when it has none (llama.cpp aborts there).
   */
  private specialId(which: "bos" | "eos" | "sep"): number {
    const id = this.vocab.special[which];
    if (id < 0) {
      throw new TokenizerError(
        "tokenizer/no-special-token",
        `the vocabulary adds ${which.toUpperCase()} but has none (tokenize without special tokens)`,
      );
    }
    return id;
  }

  /**
   * llama.cpp's `tokenizer_st_partition`: for each special token, longest first, split every raw
   * fragment at its occurrences (control and unknown tokens only when `parseSpecial`), honouring
   * the tokens' LSTRIP / RSTRIP attributes.
   */
  private partition(text: string, parseSpecial: boolean): Fragment[] {
    const v = this.vocab;
    let frags: Fragment[] = [{ text }];
    for (const id of v.specialCache) {
      const attr = v.attrs[id];
      if (!parseSpecial && (attr & (Attr.CONTROL | Attr.UNKNOWN))) continue;
      const tok = v.tokens[id];
      if (!frags.some((f) => "text" in f && f.text.includes(tok))) continue;
      const next: Fragment[] = [];
      for (const f of frags) {
        if (!("text" in f)) {
          next.push(f);
          continue;
        }
        let rest = f.text;
        for (;;) {
          const at = rest.indexOf(tok);
          if (at < 0) {
            if (rest.length) next.push({ text: rest });
            break;
          }
          let leftEnd = at;
          if (attr & Attr.LSTRIP) { while (leftEnd > 0 && isCSpace(rest[leftEnd - 1])) leftEnd--; }
          if (leftEnd > 0) next.push({ text: rest.slice(0, leftEnd) });
          next.push({ token: id });
          let rightStart = at + tok.length;
          if (attr & Attr.RSTRIP) {
            while (rightStart < rest.length && isCSpace(rest[rightStart])) rightStart++;
          }
          rest = rest.slice(rightStart);
          if (!rest.length) break;
        }
      }
      frags = next;
    }
    return frags;
  }

  /** Throws `TokenizerError` (`tokenizer/bad-token`) unless `id` is a token id. */
  checkToken(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.size) {
      throw new TokenizerError(
        "tokenizer/bad-token",
        `token id ${id} is out of range [0, ${this.vocab.size})`,
      );
    }
  }

  /** The bytes of one token (llama.cpp's `llama_token_to_piece` with `special` = true, no lstrip). */
  private piece(id: number): Uint8Array {
    const cached = this.pieces[id];
    if (cached) return cached;
    const v = this.vocab;
    const attr = v.attrs[id];
    const text = v.tokens[id];
    let bytes: Uint8Array;
    if (attr & (Attr.UNKNOWN | Attr.CONTROL | Attr.USER_DEFINED)) {
      bytes = utf8.encode(text);
    } else if (attr & Attr.NORMAL) {
      if (v.type !== "bpe" || v.escapeWhitespaces) {
        bytes = utf8.encode(text.replaceAll("\u2581", " "));
      } else bytes = decodeByteLevel(text);
    } else if (attr & Attr.BYTE) {
      bytes = Uint8Array.of(parseInt(text.slice(3, 5), 16));
    } else bytes = new Uint8Array(0);
    this.pieces[id] = bytes;
    return bytes;
  }

  /**
   * The bytes of token `id` as llama.cpp's `llama_token_to_piece` returns them: control and unknown
   * tokens are empty unless `special`; `lstrip` leading spaces are dropped.
   */
  tokenPiece(id: number, special = false, lstrip = 0): Uint8Array {
    this.checkToken(id);
    if (!special && (this.vocab.attrs[id] & (Attr.UNKNOWN | Attr.CONTROL))) {
      return new Uint8Array(0);
    }
    let p = this.piece(id);
    for (let i = 0; i < lstrip && p.length && p[0] === 0x20; i++) p = p.subarray(1);
    return p;
  }

  /** Token ids to UTF-8 bytes (llama.cpp's `llama_detokenize`). */
  detokenizeBytes(tokens: readonly number[], opts: DetokenizeOptions = {}): Uint8Array {
    const v = this.vocab;
    for (const t of tokens) this.checkToken(t);
    let ids = tokens;
    let removeSpace = v.addSpacePrefix;
    if (opts.removeSpecial && v.addBos && ids.length > 0 && ids[0] === v.special.bos) {
      removeSpace = false;
      ids = ids.slice(1);
    }
    if (opts.removeSpecial && v.addEos && ids.length > 0 && ids[ids.length - 1] === v.special.eos) {
      ids = ids.slice(0, -1);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      const p = this.tokenPiece(id, opts.unparseSpecial ?? false, removeSpace ? 1 : 0);
      removeSpace = false;
      parts.push(p);
      total += p.length;
    }
    let text: Uint8Array = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      text.set(p, at);
      at += p.length;
    }
    if (v.cleanSpaces) text = cleanSpaces(text);
    return text;
  }

  /** Token ids to text (invalid UTF-8 replaced by U+FFFD). */
  detokenize(tokens: readonly number[], opts: DetokenizeOptions = {}): string {
    return new TextDecoder().decode(this.detokenizeBytes(tokens, opts));
  }

  /** Whether `id` ends generation (EOS, end-of-turn and the like). */
  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }
}

/** GPT-2 byte-level token text to its bytes (llama.cpp's `llama_decode_text`). */
function decodeByteLevel(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const b = CPT_TO_BYTE.get(ch.codePointAt(0)!);
    if (b !== undefined) {
      out.push(b);
      continue;
    }
    const hex = [...utf8.encode(ch)].map((x) => x.toString(16).padStart(2, "0")).join("");
    out.push(...utf8.encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(out);
}

const SP = 0x20;
const APOS = 0x27;

/** llama.cpp's three clean-up passes over detokenized bytes. */
function cleanSpaces(text: Uint8Array): Uint8Array {
  const t = Array.from(text);
  // " ?", " !", " .", " ,": drop the space.
  let total = t.length ? 1 : 0;
  for (let i = 1; i < t.length; i++) {
    const x = t[i];
    if (t[i - 1] === SP && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) total--;
    t[total++] = x;
  }
  // " ' ": drop both spaces.
  const total2 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total2; i++) {
    const x = t[i];
    if (x === APOS && i + 1 < total2 && t[i - 1] === SP && t[i + 1] === SP) {
      total--;
      t[++i] = 0;
    }
    t[total++] = x;
  }
  // " 's", " 'm", " 're", " 've": drop the space.
  const total3 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total3; i++) {
    const x = t[i];
    if (t[i - 1] === SP && x === APOS && i + 1 < total3) {
      const x1 = t[i + 1];
      if (x1 === 0x73 || x1 === 0x6d) total--;
      else if (i + 2 < total3) {
        const x2 = t[i + 2];
        if ((x1 === 0x72 && x2 === 0x65) || (x1 === 0x76 && x2 === 0x65)) total--;
      }
    }
    t[total++] = x;
  }
  return Uint8Array.from(t.slice(0, total));
}
