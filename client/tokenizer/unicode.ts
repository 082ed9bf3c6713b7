/**
 * @module Codepoint classification and byte mappings exactly as llama.cpp's `unicode.cpp` does them:
 * category flags from llama.cpp's own tables (not the JavaScript engine's Unicode version), the
 * GPT-2 byte-to-codepoint map, and UTF-8 helpers.
 */

import { LOWERCASE, NFD_RANGES, RANGES, WHITESPACE } from "./unicode_data.ts";

/** llama.cpp's `unicode_cpt_flags` bits. */
export const Flag = {
  UNDEFINED: 0x0001,
  NUMBER: 0x0002,
  LETTER: 0x0004,
  SEPARATOR: 0x0008,
  ACCENT_MARK: 0x0010,
  PUNCTUATION: 0x0020,
  SYMBOL: 0x0040,
  CONTROL: 0x0080,
  CATEGORIES: 0x00ff,
  WHITESPACE: 0x0100,
} as const;

/** One past the largest codepoint. */
export const MAX_CODEPOINTS = 0x110000;

let table: Uint16Array | null = null;

function buildTable(): Uint16Array {
  const t = new Uint16Array(MAX_CODEPOINTS);
  const ranges = hexGroups(RANGES);
  for (let i = 1; i < ranges.length; i++) t.fill(ranges[i - 1][1], ranges[i - 1][0], ranges[i][0]);
  for (const h of WHITESPACE.trim().split(/\s+/)) t[parseInt(h, 16)] |= Flag.WHITESPACE;
  return t;
}

/**
 * Flags of codepoint `cpt` (0 when out of range, like llama.cpp's `unicode_cpt_flags{}` for
 * positions outside the text).
 */
export function cptFlags(cpt: number): number {
  table ??= buildTable();
  return cpt >= 0 && cpt < MAX_CODEPOINTS ? table[cpt] : 0;
}

/** Parses "a:b:..." hexadecimal groups of a data block. */
function hexGroups(block: string): number[][] {
  return block.trim().split(/\s+/).map((p) => p.split(":").map((h) => parseInt(h, 16)));
}

let lower: Map<number, number> | null = null;

/** llama.cpp's `unicode_tolower`: the lowercase codepoint, or `cpt` itself when it has none. */
export function toLower(cpt: number): number {
  lower ??= new Map(hexGroups(LOWERCASE).map(([a, b]) => [a, b]));
  return lower.get(cpt) ?? cpt;
}

let nfd: number[][] | null = null;

/**
 * llama.cpp's `unicode_cpts_normalize_nfd` for one codepoint: the first codepoint of its canonical
 * decomposition (llama.cpp keeps one codepoint per codepoint), or `cpt` itself.
 */
export function nfdFirst(cpt: number): number {
  nfd ??= hexGroups(NFD_RANGES);
  // The last range starting at or before cpt (llama.cpp's upper_bound - 1).
  let lo = 0;
  let hi = nfd.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (nfd[mid][0] <= cpt) lo = mid + 1;
    else hi = mid;
  }
  const r = nfd[lo - 1];
  return r && r[0] <= cpt && cpt <= r[1] ? r[2] : cpt;
}

/** GPT-2's byte-to-codepoint map (bytes 0-255 to printable codepoints). */
export const BYTE_TO_CPT: readonly number[] = (() => {
  const map = new Array<number>(256).fill(-1);
  const direct = (lo: number, hi: number) => {
    for (let c = lo; c <= hi; c++) map[c] = c;
  };
  direct(0x21, 0x7e);
  direct(0xa1, 0xac);
  direct(0xae, 0xff);
  let n = 0;
  for (let c = 0; c < 256; c++) if (map[c] < 0) map[c] = 256 + n++;
  return map;
})();

/** The inverse of {@link BYTE_TO_CPT}. */
export const CPT_TO_BYTE: ReadonlyMap<number, number> = new Map(
  BYTE_TO_CPT.map((cpt, byte) => [cpt, byte]),
);

/** Byte-level string of GPT-2: each UTF-8 byte of `text` as its mapped codepoint. */
export function byteEncode(text: string): string {
  let out = "";
  for (const b of utf8.encode(text)) out += String.fromCodePoint(BYTE_TO_CPT[b]);
  return out;
}

/** Shared UTF-8 encoder. */
export const utf8: TextEncoder = new TextEncoder();

/** Codepoints of `text` (lone surrogates become U+FFFD, as their UTF-8 encoding does). */
export function codepoints(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
  }
  return out;
}

/** UTF-8 length in bytes of codepoint `cpt`. */
export function utf8Length(cpt: number): number {
  return cpt < 0x80 ? 1 : cpt < 0x800 ? 2 : cpt < 0x10000 ? 3 : 4;
}
