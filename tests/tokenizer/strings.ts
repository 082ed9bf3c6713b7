/**
 * @module A seeded, deterministic generator of hard tokenizer inputs: unicode from many scripts,
 * emoji sequences, combining marks, odd whitespace, runs of spaces and newlines, digits, code,
 * English contractions and the texts of the vocabulary's special tokens (whole and cut).
 */

import { prng } from "../prng.ts";

const WORDS = [
  "Hello",
  "world",
  "the",
  "The",
  "tokenizer",
  "llama",
  "İstanbul",
  "naïve",
  "Äpfel",
  "straße",
  "нещо",
  "Български",
  "日本語",
  "中文字符",
  "한국어",
  "ภาษาไทย",
  "हिन्दी",
  "العربية",
  "ελληνικά",
  "ካንትሪ",
  "កាន់តែពិសេស",
  "Ǆemal",
  "ǅ",
  "ﬁnance",
  "ＡＢＣ",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "a̐éö̲",
  "e\u0301",
  "\u0915\u094d\u0937",
  "🦙",
  "🦙.cpp",
  "👩‍👩‍👧‍👦",
  "👍🏽",
  "🏳️‍🌈",
  "🇩🇪🇫🇷",
  "❤️",
  "∑∫√∞",
  "€$¥£",
];
const CODE = [
  "function f(x) { return x * 2; }",
  "if (a && b) {\n\treturn;\n}",
  'printf("%d\\n", n);',
  "def main():\n    pass\n",
  '<div class="x">',
  "</s>",
  "a->b",
  "x[i] += 1;",
  "#include <stdio.h>",
  "SELECT * FROM t WHERE id = 3;",
  "```python\n",
  '{"key": [1, 2.5, null]}',
  "~/.bashrc",
];
const SPACES = [
  " ",
  "  ",
  "   ",
  "\t",
  "\n",
  "\n\n",
  "\r\n",
  " \n",
  "\n ",
  "\u00a0",
  "\u3000",
  "\u2028",
  "\u2009",
  "\u200b",
  "\ufeff",
  "\u0085",
  "\v",
  "\f",
  "\r",
];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "'x", "'"];
const PUNCT = [
  ".",
  ",",
  "!",
  "?",
  "...",
  "—",
  "–",
  "«»",
  "“”",
  "()",
  "[]",
  "{}",
  "::",
  ";",
  "'",
  '"',
  "@",
  "#",
  "%",
  "&",
  "*",
  "+",
  "=",
  "<",
  ">",
  "|",
  "\\",
  "/",
  "_",
  "^",
  "`",
  "~",
  "¿",
  "¡",
  "…",
];

/** Random codepoint from a few interesting ranges (no surrogates). */
function codepoint(r: () => number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x00, 0x1f],
    [0x80, 0x2ff],
    [0x300, 0x36f],
    [0x370, 0x52f],
    [0x590, 0x6ff],
    [0x900, 0xdff],
    [0x1100, 0x11ff],
    [0x2000, 0x206f],
    [0x2190, 0x2bff],
    [0x3000, 0x30ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xe000, 0xe0ff],
    [0xfe00, 0xfe0f],
    [0xff00, 0xffef],
    [0x1f300, 0x1faff],
    [0x10000, 0x1012f],
    [0x1d400, 0x1d7ff],
    [0x20000, 0x2a6df],
    [0xe0000, 0xe007f],
    [0x10fff0, 0x10ffff],
  ];
  const [lo, hi] = ranges[Math.floor(r() * ranges.length)];
  return String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
}

/** Generates `count` strings from `seed`, mixing in the vocabulary's `specials` texts. */
export function generateStrings(
  count: number,
  seed: number,
  specials: readonly string[],
): string[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const parts: string[] = [];
    const pieces = 1 + Math.floor(r() * 10);
    for (let p = 0; p < pieces; p++) {
      const k = r();
      if (k < 0.18) parts.push(pick(WORDS));
      else if (k < 0.28) parts.push(pick(SPACES).repeat(1 + Math.floor(r() * 4)));
      else if (k < 0.33) parts.push(" ".repeat(1 + Math.floor(r() * 12)));
      else if (k < 0.34) {
        // Long runs: whitespace, digits, one letter, one emoji, a word (up to 300 repeats).
        const unit = pick([" ", "\n", " \n", "\t", "7", "a", "🦙", "ab", "ﾟ", "\u0301", "..."]);
        parts.push(unit.repeat(20 + Math.floor(r() * 280)));
      } else if (k < 0.42) parts.push(String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 9)))));
      else if (k < 0.5) parts.push(pick(CODE));
      else if (k < 0.56) parts.push(pick(CONTRACTIONS));
      else if (k < 0.64) parts.push(pick(PUNCT));
      else if (k < 0.74 && specials.length) {
        const s = pick(specials);
        parts.push(r() < 0.8 ? s : s.slice(0, Math.max(1, Math.floor(r() * s.length))));
      } else if (k < 0.86) {
        let s = "";
        const len = 1 + Math.floor(r() * 6);
        for (let i = 0; i < len; i++) s += codepoint(r);
        parts.push(s);
      } else {
        let s = "";
        const len = 1 + Math.floor(r() * 8);
        for (let i = 0; i < len; i++) s += String.fromCharCode(0x61 + Math.floor(r() * 26));
        parts.push(r() < 0.3 ? s.toUpperCase() : s);
      }
      if (r() < 0.4) parts.push(" ");
    }
    out.push(parts.join(""));
  }
  return out;
}
