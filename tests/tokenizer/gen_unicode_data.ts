/**
 * @module Generates `client/tokenizer/unicode_data.ts` from llama.cpp's `src/unicode-data.cpp` (the
 * codepoint categories, whitespace set and lowercase map llama.cpp's pre-tokenizers use), so the
 * TypeScript tokenizer classifies every codepoint exactly as llama.cpp does, independent of the
 * JavaScript engine's Unicode version. Run: `deno run -A tests/tokenizer/gen_unicode_data.ts`.
 */

import { ensureLlamaCpp } from "./llama_cpp_data.ts";

/** Path of the generated module. */
export const UNICODE_DATA_PATH = new URL("../../client/tokenizer/unicode_data.ts", import.meta.url)
  .pathname;

function section(src: string, name: string): string {
  const start = src.indexOf(name);
  if (start < 0) throw new Error(`unicode-data.cpp has no ${name}`);
  const open = src.indexOf("{", src.indexOf("=", start));
  const close = src.indexOf("};", open);
  return src.slice(open + 1, close);
}

function pairs(body: string): [number, number][] {
  return [...body.matchAll(/\{(0x[0-9A-Fa-f]+),\s*(0x[0-9A-Fa-f]+)\}/g)].map((
    m,
  ) => [Number(m[1]), Number(m[2])]);
}

/** Renders the generated module's source from llama.cpp's `unicode-data.cpp` text. */
export function renderUnicodeData(src: string): string {
  const ranges = pairs(section(src, "unicode_ranges_flags"));
  const whitespace = [...section(src, "unicode_set_whitespace").matchAll(/0x[0-9A-Fa-f]+/g)].map(
    (m) => Number(m[0]),
  );
  const lower = pairs(section(src, "unicode_map_lowercase"));
  const nfd = [
    ...section(src, "unicode_ranges_nfd").matchAll(
      /\{(0x[0-9A-Fa-f]+),\s*(0x[0-9A-Fa-f]+),\s*(0x[0-9A-Fa-f]+)\}/g,
    ),
  ].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
  const hex = (n: number) => n.toString(16);
  const block = (xs: string[]) => {
    const out: string[] = [];
    for (let i = 0; i < xs.length; i += 16) out.push(xs.slice(i, i + 16).join(" "));
    return out.join("\n");
  };
  return `/**
 * @module Codepoint data of llama.cpp's pre-tokenizers (generated from llama.cpp's
 * src/unicode-data.cpp by tests/tokenizer/gen_unicode_data.ts; do not edit by hand). Hexadecimal
 * numbers in template literals, so that formatting never touches them.
 */

/** "start:flags" of each range of equal category flags (llama.cpp's unicode_cpt_flags low byte). */
export const RANGES = \`
${block(ranges.map(([s, f]) => `${hex(s)}:${hex(f)}`))}
\`;

/** Codepoints llama.cpp treats as whitespace. */
export const WHITESPACE = \`
${block(whitespace.map(hex))}
\`;

/** "codepoint:lowercase" pairs of llama.cpp's lowercase map (\`unicode_tolower\`). */
export const LOWERCASE = \`
${block(lower.map(([a, b]) => `${hex(a)}:${hex(b)}`))}
\`;

/** "first:last:nfd" ranges of llama.cpp's one-codepoint NFD map (\`unicode_cpts_normalize_nfd\`). */
export const NFD_RANGES = \`
${block(nfd.map(([a, b, c]) => `${hex(a)}:${hex(b)}:${hex(c)}`))}
\`;
`;
}

if (import.meta.main) {
  const dir = await ensureLlamaCpp();
  const src = await Deno.readTextFile(`${dir}/src/unicode-data.cpp`);
  await Deno.writeTextFile(UNICODE_DATA_PATH, renderUnicodeData(src));
  console.log(`wrote ${UNICODE_DATA_PATH}`);
}
