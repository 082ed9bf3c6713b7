/**
 * @module The two tokenization algorithms, ported from llama.cpp's `llm_tokenizer_spm_session`
 * (SentencePiece-style: merge the adjacent pair whose merged text is the highest-scoring token,
 * bytes for what never forms a token) and `llm_tokenizer_bpe_session` (per pre-tokenized word:
 * merge the adjacent pair with the lowest merge rank).
 */

import { Heap } from "./heap.ts";
import { byteEncode, codepoints, cptFlags, Flag, nfdFirst, toLower, utf8 } from "./unicode.ts";
import { TokenizerError, type Vocab } from "./vocab.ts";

const HEX = "0123456789ABCDEF";

/** `<0xXX>` byte token text. */
function byteTokenText(b: number): string {
  return `<0x${HEX[b >> 4]}${HEX[b & 15]}>`;
}

/** SentencePiece byte fallback: `<0xXX>`, else the byte itself as text (llama.cpp's byte_to_token). */
function spmByteToken(vocab: Vocab, b: number): number {
  const id = vocab.textToToken(byteTokenText(b));
  if (id >= 0) return id;
  const plain = b < 0x80 ? vocab.textToToken(String.fromCharCode(b)) : -1;
  if (plain < 0) {
    throw new TokenizerError("tokenizer/no-byte-token", `no token for byte 0x${b.toString(16)}`);
  }
  return plain;
}

interface Symbol {
  /** Start (UTF-16 index into the text) and length (UTF-16 units); length 0 once merged away. */
  start: number;
  len: number;
  prev: number;
  next: number;
}

/** Splits `text` into one linked symbol per codepoint. */
function charSymbols(text: string): Symbol[] {
  const symbols: Symbol[] = [];
  let i = 0;
  for (const ch of text) {
    symbols.push({ start: i, len: ch.length, prev: symbols.length - 1, next: symbols.length + 1 });
    i += ch.length;
  }
  if (symbols.length) symbols[symbols.length - 1].next = -1;
  return symbols;
}

/** Merges the symbol after `left` into it and unlinks the merged one. */
function mergeRight(symbols: Symbol[], left: number): void {
  const l = symbols[left];
  const r = symbols[l.next];
  l.len += r.len;
  r.len = 0;
  l.next = r.next;
  if (r.next >= 0) symbols[r.next].prev = left;
}

interface SpmBigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** SentencePiece-style tokenization of `text` (spaces already escaped), appended to `out`. */
export function spmTokenize(vocab: Vocab, text: string, out: number[]): void {
  const symbols = charSymbols(text);
  const queue = new Heap<SpmBigram>((a, b) =>
    a.score > b.score || (a.score === b.score && a.left < b.left)
  );
  const tryAdd = (left: number, right: number) => {
    if (left === -1 || right === -1) return;
    const l = symbols[left];
    const s = text.slice(l.start, l.start + l.len + symbols[right].len);
    const id = vocab.textToToken(s);
    if (id < 0) return;
    queue.push({ left, right, score: vocab.scores[id], size: s.length });
  };
  for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);
  for (let b = queue.pop(); b; b = queue.pop()) {
    const l = symbols[b.left];
    const r = symbols[b.right];
    // Stale when either side changed since the pair was queued (lengths only grow).
    if (l.len === 0 || r.len === 0 || l.len + r.len !== b.size) continue;
    mergeRight(symbols, b.left);
    tryAdd(l.prev, b.left);
    tryAdd(b.left, l.next);
  }
  // Every merged symbol is a token (pairs are queued only then); a single codepoint that is not
  // becomes its UTF-8 bytes. llama.cpp's rev_merge lookup can only hit multi-codepoint texts, so
  // it never applies here.
  for (let i = symbols.length ? 0 : -1; i !== -1; i = symbols[i].next) {
    const s = symbols[i];
    const piece = text.slice(s.start, s.start + s.len);
    const id = vocab.textToToken(piece);
    if (id >= 0) {
      out.push(id);
      continue;
    }
    for (const b of utf8.encode(piece)) out.push(spmByteToken(vocab, b));
  }
}

interface BpeBigram {
  left: number;
  right: number;
  text: string;
  rank: number;
}

/** BPE over pre-tokenized words, with a bounded per-word cache (words are independent). */
export class BpeSession {
  private readonly cache = new Map<string, number[]>();

  /** A session for `vocab` (its pre-tokenizer must be set). */
  constructor(private readonly vocab: Vocab, private readonly cacheLimit = 50_000) {}

  /** Tokenizes one text fragment, appending to `out`. */
  tokenize(text: string, out: number[]): void {
    const vocab = this.vocab;
    for (const raw of vocab.preTokenizer!.split(text)) {
      const word = vocab.byteEncode ? byteEncode(raw) : raw;
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.word(word);
        if (this.cache.size >= this.cacheLimit) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private word(word: string): number[] {
    const vocab = this.vocab;
    let symbols: Symbol[];
    if (
      (vocab.ignoreMerges && vocab.textToToken(word) >= 0) ||
      (vocab.preType === "GEMMA4" && /^\n*$/.test(word) && vocab.textToToken(word) >= 0)
    ) {
      symbols = [{ start: 0, len: word.length, prev: -1, next: -1 }];
    } else {
      symbols = charSymbols(word);
    }
    const text = (s: Symbol) => word.slice(s.start, s.start + s.len);
    const queue = new Heap<BpeBigram>((a, b) =>
      a.rank < b.rank || (a.rank === b.rank && a.left < b.left)
    );
    const add = (left: number, right: number) => {
      if (left === -1 || right === -1) return;
      const lt = text(symbols[left]);
      const rt = text(symbols[right]);
      const rank = vocab.bpeRank(lt, rt);
      if (rank < 0) return;
      queue.push({ left, right, text: lt + rt, rank });
    };
    for (let i = 1; i < symbols.length; i++) add(i - 1, i);
    for (let b = queue.pop(); b; b = queue.pop()) {
      const l = symbols[b.left];
      const r = symbols[b.right];
      if (l.len === 0 || r.len === 0) continue;
      if (text(l) + text(r) !== b.text) continue;
      mergeRight(symbols, b.left);
      add(l.prev, b.left);
      add(b.left, l.next);
    }
    const out: number[] = [];
    for (const s of symbols) {
      if (s.len === 0) continue;
      const piece = text(s);
      const id = vocab.textToToken(piece);
      if (id >= 0) {
        out.push(id);
        continue;
      }
      for (const b of utf8.encode(piece)) {
        // A lone byte >= 0x80 is not valid UTF-8, so no token text can equal it.
        const t = vocab.byteEncode
          ? (b < 0x80 ? vocab.textToToken(String.fromCharCode(b)) : -1)
          : vocab.textToToken(byteTokenText(b));
        if (t >= 0) out.push(t);
      }
    }
    return out;
  }
}

/** BERT's CJK ideograph ranges as llama.cpp's WordPiece pre-processing tests them. */
function isChineseChar(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
    (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/**
 * llama.cpp's WordPiece pre-processing: optional NFD (one codepoint each) and accent stripping,
 * lowercase, split at whitespace, punctuation, ASCII symbols and CJK ideographs (those three as
 * one-character words); control characters, NUL and U+FFFD dropped.
 */
function wpmWords(vocab: Vocab, text: string): string[] {
  const words: string[] = [""];
  for (let c of codepoints(text)) {
    if (vocab.stripAccents) c = nfdFirst(c);
    const f = cptFlags(c);
    if (f & Flag.WHITESPACE) {
      if (words[words.length - 1] !== "") words.push("");
      continue;
    }
    if (c === 0 || c === 0xfffd || (f & Flag.CONTROL)) continue;
    if (vocab.stripAccents && (f & Flag.ACCENT_MARK)) continue;
    const s = String.fromCodePoint(vocab.lowercase ? toLower(c) : c);
    if ((f & Flag.PUNCTUATION) || (c < 0x7f && (f & Flag.SYMBOL)) || isChineseChar(c)) {
      if (words[words.length - 1] !== "") words.push("");
      words[words.length - 1] = s;
      words.push("");
    } else words[words.length - 1] += s;
  }
  if (words[words.length - 1] === "") words.pop();
  return words;
}

/**
 * WordPiece (llama.cpp's `llm_tokenizer_wpm_session`): each word, prefixed with U+2581, is cut
 * greedily into the longest tokens from the left; a word with an uncovered rest becomes UNK.
 */
export function wpmTokenize(vocab: Vocab, text: string, out: number[]): void {
  for (const word of wpmWords(vocab, text)) {
    if (word === "") continue;
    const chars = [..."\u2581" + word];
    const offsets = [0];
    for (const ch of chars) offsets.push(offsets[offsets.length - 1] + utf8.encode(ch).length);
    const start = out.length;
    for (let i = 0; i < chars.length;) {
      let end = -1;
      for (let j = chars.length; j > i; j--) {
        if (offsets[j] - offsets[i] > vocab.maxTokenBytes) continue;
        const id = vocab.textToToken(chars.slice(i, j).join(""));
        if (id >= 0) {
          out.push(id);
          end = j;
          break;
        }
      }
      if (end < 0) {
        out.length = start;
        break;
      }
      i = end;
    }
    if (out.length === start) out.push(vocab.special.unk);
  }
}
