/**
 * @module BPE pre-tokenizers, ported from llama.cpp's `unicode.cpp` (`unicode_regex_split`): the
 * hand-written splitters llama.cpp uses for the GPT-2, Llama 3, Qwen 2 and Qwen 3.5 expressions,
 * and, for other expressions, llama.cpp's "collapsed" regex matching (each codepoint replaced by
 * one byte naming its category) run with a JavaScript regex of the same ECMAScript semantics.
 */

import { codepoints, cptFlags, Flag, toLower } from "./unicode.ts";

/** Codepoint lengths of consecutive pieces of a text. */
type Offsets = number[];

const OUT_OF_RANGE = -1;
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const APOS = 0x27;

/** Accessors over one fragment [ini, end) of a codepoint array, as in llama.cpp's splitters. */
function fragment(cpts: readonly number[], ini: number, end: number) {
  return {
    cpt: (pos: number) => (pos >= ini && pos < end ? cpts[pos] : OUT_OF_RANGE),
    flags: (pos: number) => (pos >= ini && pos < end ? cptFlags(cpts[pos]) : 0),
  };
}

/** Matches `'s|'t|'re|'ve|'m|'ll|'d` at `pos` (case-insensitive when `lower`); returns its length. */
function contraction(
  cpt: (pos: number) => number,
  pos: number,
  end: number,
  lower: boolean,
): number {
  if (cpt(pos) !== APOS || pos + 1 >= end) return 0;
  const low = (c: number) => (lower ? toLower(c) : c);
  const n1 = low(cpt(pos + 1));
  if (n1 === 0x73 || n1 === 0x74 || n1 === 0x6d || n1 === 0x64) return 2; // s t m d
  if (pos + 2 < end) {
    const n2 = low(cpt(pos + 2));
    if (
      (n1 === 0x72 && n2 === 0x65) || (n1 === 0x76 && n2 === 0x65) || (n1 === 0x6c && n2 === 0x6c)
    ) return 3; // re ve ll
  }
  return 0;
}

/** Runs `body` over each fragment with llama.cpp's `_add_token` bookkeeping. */
function splitEach(
  offsets: Offsets,
  body: (ini: number, end: number, add: (end: number) => number) => void,
): Offsets {
  const out: Offsets = [];
  let start = 0;
  for (const offset of offsets) {
    const ini = start;
    const end = start + offset;
    start = end;
    let prevEnd = ini;
    const add = (e: number) => {
      const len = e - prevEnd;
      if (len > 0) out.push(len);
      prevEnd = e;
      return len;
    };
    body(ini, end, add);
  }
  return out;
}

/**
 * The shared tail of the splitters: `\s+(?!\S)` (a run of `ws` spaces less its last one, unless
 * the run ends the fragment), else `\s+`, else a single codepoint. Returns the new position.
 */
function spaceRun(
  pos: number,
  ws: number,
  cpt: (pos: number) => number,
  add: (end: number) => number,
): number {
  if (ws > 1 && cpt(pos + ws) !== OUT_OF_RANGE) pos += ws - 1;
  else if (ws > 0) pos += ws;
  else pos++;
  add(pos);
  return pos;
}

const L = Flag.LETTER;
const N = Flag.NUMBER;
const W = Flag.WHITESPACE;
const M = Flag.ACCENT_MARK;

/** GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` */
function splitGpt2(cpts: readonly number[], offsets: Offsets): Offsets {
  return splitEach(offsets, (ini, end, add) => {
    const { cpt, flags } = fragment(cpts, ini, end);
    for (let pos = ini; pos < end;) {
      const c = cpt(pos);
      const f = flags(pos);
      const k = contraction(cpt, pos, end, false);
      if (k) {
        pos += add(pos + k);
        continue;
      }
      let f2 = c === SPACE ? flags(pos + 1) : f;
      if (f2 & L) {
        pos += c === SPACE ? 1 : 0;
        while (f2 & L) f2 = flags(++pos);
        add(pos);
        continue;
      }
      if (f2 & N) {
        pos += c === SPACE ? 1 : 0;
        while (f2 & N) f2 = flags(++pos);
        add(pos);
        continue;
      }
      if (!(f2 & (W | L | N)) && f2) {
        pos += c === SPACE ? 1 : 0;
        while (!(f2 & (W | L | N)) && f2) f2 = flags(++pos);
        add(pos);
        continue;
      }
      let ws = 0;
      while (flags(pos + ws) & W) ws++;
      pos = spaceRun(pos, ws, cpt, add);
    }
  });
}

/**
 * Llama 3 (`maxDigits` 3), Qwen 2 (`maxDigits` 1) and Qwen 3.5 (`marks`: letter runs take \p{M}):
 * `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+`
 */
function splitLlama3Family(maxDigits: number, marks: boolean) {
  const letter = marks ? L | M : L;
  return (cpts: readonly number[], offsets: Offsets): Offsets =>
    splitEach(offsets, (ini, end, add) => {
      const { cpt, flags } = fragment(cpts, ini, end);
      for (let pos = ini; pos < end;) {
        const c = cpt(pos);
        const f = flags(pos);
        const k = contraction(cpt, pos, end, true);
        if (k) {
          pos += add(pos + k);
          continue;
        }
        if (!(c === CR || c === LF || (f & N))) {
          if ((f & letter) || (flags(pos + 1) & letter)) {
            pos++;
            while (flags(pos) & letter) pos++;
            add(pos);
            continue;
          }
        }
        if (f & N) {
          if (maxDigits === 1) {
            pos++;
            add(pos);
            continue;
          }
          let digitsStart = pos;
          while (flags(pos) & N) {
            if (++pos - digitsStart >= maxDigits) {
              add(pos);
              digitsStart = pos;
            }
          }
          add(pos);
          continue;
        }
        const notPunct = W | letter | N;
        let f2 = c === SPACE ? flags(pos + 1) : f;
        if (!(f2 & notPunct) && f) {
          pos += c === SPACE ? 1 : 0;
          while (!(f2 & notPunct) && f2) f2 = flags(++pos);
          let c2 = cpt(pos);
          while (c2 === CR || c2 === LF) c2 = cpt(++pos);
          add(pos);
          continue;
        }
        let ws = 0;
        let lastEndRN = 0;
        while (flags(pos + ws) & W) {
          const c2 = cpt(pos + ws);
          if (c2 === CR || c2 === LF) lastEndRN = pos + ws + 1;
          ws++;
        }
        if (lastEndRN > 0) {
          pos = lastEndRN;
          add(pos);
          continue;
        }
        pos = spaceRun(pos, ws, cpt, add);
      }
    });
}

/** `[^\n]+|[\n]+`: runs of non-newlines and runs of newlines. */
function splitNewlines(cpts: readonly number[], offsets: Offsets): Offsets {
  const out: Offsets = [];
  let start = 0;
  for (const offset of offsets) {
    const end = start + offset;
    let pos = start;
    while (pos < end) {
      const nl = cpts[pos] === LF;
      const runStart = pos;
      while (pos < end && (cpts[pos] === LF) === nl) pos++;
      out.push(pos - runStart);
    }
    start = end;
  }
  return out;
}

/** GPT-2's expression (llama.cpp's hand-written splitter replaces it). */
export const GPT2_RE =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
/** English contractions, case-insensitive, as llama.cpp writes them without `(?i:)`. */
export const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
/** Llama 3's expression. */
export const LLAMA3_RE = CONTRACTIONS +
  "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen 2's expression. */
export const QWEN2_RE = CONTRACTIONS +
  "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen 3.5's expression. */
export const QWEN35_RE = CONTRACTIONS +
  "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Runs of newlines and of everything else (Gemma 4). */
export const NEWLINES_RE = "[^\\n]+|[\\n]+";

/** llama.cpp's hand-written splitters, keyed by the exact expression they replace. */
const CUSTOM: ReadonlyMap<string, (cpts: readonly number[], offsets: Offsets) => Offsets> = new Map(
  [
    [GPT2_RE, splitGpt2],
    [LLAMA3_RE, splitLlama3Family(3, false)],
    [QWEN2_RE, splitLlama3Family(1, false)],
    [QWEN35_RE, splitLlama3Family(1, true)],
    [NEWLINES_RE, splitNewlines],
  ],
);

/** The \p{..} categories llama.cpp's collapsed matching knows, with their flag. */
const UCAT: ReadonlyMap<string, number> = new Map([
  ["\\p{N}", Flag.NUMBER],
  ["\\p{L}", Flag.LETTER],
  ["\\p{P}", Flag.PUNCTUATION],
  ["\\p{M}", Flag.ACCENT_MARK],
  ["\\p{S}", Flag.SYMBOL],
  ["\\p{Lu}", Flag.LETTER],
  ["\\p{Ll}", Flag.LETTER],
  ["\\p{Lt}", Flag.LETTER],
  ["\\p{Lm}", Flag.LETTER],
  ["\\p{Lo}", Flag.LETTER],
]);

/** The byte standing for each category in collapsed text. */
const UCAT_CPT: ReadonlyMap<number, number> = new Map([
  [Flag.NUMBER, 0xd1],
  [Flag.LETTER, 0xd2],
  [Flag.PUNCTUATION, 0xd3],
  [Flag.ACCENT_MARK, 0xd4],
  [Flag.SYMBOL, 0xd5],
]);

/** The ASCII members of each category, as llama.cpp writes them into a collapsed class. */
const UCAT_ASCII: ReadonlyMap<number, string> = new Map([
  [Flag.NUMBER, "\x30-\x39"],
  [Flag.LETTER, "\x41-\x5A\x61-\x7A"],
  [Flag.PUNCTUATION, "\x21-\x23\x25-\x2A\x2C-\x2F\x3A-\x3B\x3F-\x40\\\x5B-\\\x5D\x5F\\\x7B\\\x7D"],
  [Flag.ACCENT_MARK, ""],
  [Flag.SYMBOL, "\\\x24\\\x2B\x3C-\x3E\x5E\x60\\\x7C\\\x7E"],
]);

function usesCategory(expr: string): boolean {
  for (const k of UCAT.keys()) if (expr.includes(k)) return true;
  return false;
}

/** llama.cpp's rewrite of an expression for collapsed text (\p{X} to its byte and ASCII set). */
function collapseRegex(expr: string): string {
  let out = "";
  let inside = false;
  for (let i = 0; i < expr.length; i++) {
    if (expr[i] === "[" && (i === 0 || expr[i - 1] !== "\\")) {
      out += "[";
      inside = true;
      continue;
    }
    if (inside && expr[i] === "]" && expr[i - 1] !== "\\") {
      out += "]";
      inside = false;
      continue;
    }
    if (expr[i] === "\\" && i + 3 < expr.length && expr[i + 1] === "p" && expr[i + 2] === "{") {
      const close = expr.indexOf("}", i + 3);
      if (close >= 0 && close <= i + 10) {
        const flag = UCAT.get(expr.slice(i, close + 1));
        if (flag !== undefined) {
          if (!inside) out += "[";
          out += String.fromCharCode(UCAT_CPT.get(flag)!) + UCAT_ASCII.get(flag)!;
          if (!inside) out += "]";
          i = close;
          continue;
        }
      }
    }
    out += expr[i];
  }
  return out;
}

/**
 * Rewrites `\s` / `\S` to the C locale's six ASCII spaces (std::regex's meaning; JavaScript's
 * `\s` also takes U+FEFF and other codepoints that llama.cpp's text never holds as spaces).
 */
function asciiSpaces(source: string): string {
  let out = "";
  let inside = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === "\\" && i + 1 < source.length) {
      const next = source[i + 1];
      if (next === "s") out += inside ? "\\t\\n\\v\\f\\r " : "[\\t\\n\\v\\f\\r ]";
      else if (next === "S" && !inside) out += "[^\\t\\n\\v\\f\\r ]";
      else if (next === "S") throw new RangeError("\\S inside a character class is not supported");
      else out += ch + next;
      i++;
      continue;
    }
    if (ch === "[") inside = true;
    else if (ch === "]") inside = false;
    out += ch;
  }
  return out;
}

/** Splits with a regex like std::regex_iterator: matches and the gaps between them are pieces. */
function splitRegex(text: string, re: RegExp, offsets: Offsets, unitsToCpts?: number[]): Offsets {
  const out: Offsets = [];
  let start = 0; // in codepoints
  for (const offset of offsets) {
    // Each fragment is matched on its own, as std::regex_iterator over [start, start + offset).
    const fromUnit = unitsToCpts ? cptToUnit(unitsToCpts, start) : start;
    const toUnit = unitsToCpts ? cptToUnit(unitsToCpts, start + offset) : start + offset;
    const sub = text.slice(fromUnit, toUnit);
    const pos = (unit: number) => (unitsToCpts ? unitsToCpts[fromUnit + unit] - start : unit);
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(sub); m; m = re.exec(sub)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      const at = pos(m.index);
      const after = pos(m.index + m[0].length);
      if (at > last) out.push(at - last);
      out.push(after - at);
      last = after;
    }
    if (last < offset) out.push(offset - last);
    start += offset;
  }
  return out;
}

function cptToUnit(unitsToCpts: number[], cpt: number): number {
  // unitsToCpts is non-decreasing; find the first unit whose codepoint index is `cpt`.
  let lo = 0;
  let hi = unitsToCpts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (unitsToCpts[mid] < cpt) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Compiled form of one expression list, reusable across calls. */
export interface PreTokenizer {
  /** Splits `text` into words (GPT-2 byte-encoded when the tokenizer byte-encodes). */
  split(text: string): string[];
}

/** Builds the pre-tokenizer for llama.cpp's list of expressions. */
export function compilePreTokenizer(exprs: readonly string[]): PreTokenizer {
  const steps = exprs.map((expr) => {
    const custom = CUSTOM.get(expr);
    if (custom) return { kind: "custom" as const, custom };
    if (usesCategory(expr)) {
      for (const ch of expr) {
        if (ch.codePointAt(0)! >= 128) {
          throw new RangeError("expression mixes unicode categories and non-ASCII characters");
        }
      }
      return {
        kind: "collapsed" as const,
        re: new RegExp(asciiSpaces(collapseRegex(expr)), "g"),
      };
    }
    return { kind: "wide" as const, re: new RegExp(asciiSpaces(expr), "gu") };
  });
  const needCollapse = steps.some((s) => s.kind === "collapsed");
  const needWide = steps.some((s) => s.kind === "wide");
  return {
    split(text: string): string[] {
      const cpts = codepoints(text);
      let collapsed = "";
      if (needCollapse) {
        const chars: string[] = new Array(cpts.length);
        for (let i = 0; i < cpts.length; i++) {
          const c = cpts[i];
          if (c < 128) {
            chars[i] = String.fromCharCode(c);
            continue;
          }
          const f = cptFlags(c);
          if (f & Flag.WHITESPACE) chars[i] = "\x0b";
          else chars[i] = String.fromCharCode(UCAT_CPT.get(f & Flag.CATEGORIES) ?? 0xd0);
        }
        collapsed = chars.join("");
      }
      let wide = "";
      let wideUnits: number[] = [];
      if (needWide) {
        const parts: string[] = [];
        wideUnits = [];
        for (let i = 0; i < cpts.length; i++) {
          const c = cpts[i] > 0x7f && (cptFlags(cpts[i]) & Flag.WHITESPACE) ? 0x0b : cpts[i];
          const s = String.fromCodePoint(c);
          parts.push(s);
          for (let u = 0; u < s.length; u++) wideUnits.push(i);
        }
        wideUnits.push(cpts.length);
        wide = parts.join("");
      }
      let offsets: Offsets = [cpts.length];
      for (const step of steps) {
        if (step.kind === "custom") offsets = step.custom(cpts, offsets);
        else if (step.kind === "collapsed") offsets = splitRegex(collapsed, step.re, offsets);
        else offsets = splitRegex(wide, step.re, offsets, wideUnits);
      }
      const words: string[] = [];
      let start = 0;
      for (const n of offsets) {
        words.push(String.fromCodePoint(...cpts.slice(start, start + n)));
        start += n;
      }
      return words;
    },
  };
}
