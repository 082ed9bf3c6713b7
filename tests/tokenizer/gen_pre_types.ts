/**
 * @module Generates `client/tokenizer/pre_types.ts` from llama.cpp's `src/llama-vocab.cpp`: the
 * pre-tokenizer expression lists of every BPE pre-tokenizer type (`llm_tokenizer_bpe`) and the
 * `tokenizer.ggml.pre` names with the flags `llama_vocab::impl::load` sets for them, copied from the
 * C++ source rather than transcribed (non-ASCII ranges written as escapes, so no editor can
 * normalize them). Run: `deno run -A tests/tokenizer/gen_pre_types.ts`.
 */

import { ensureLlamaCpp } from "./llama_cpp_data.ts";

/** Path of the generated module. */
export const PRE_TYPES_PATH = new URL("../../client/tokenizer/pre_types.ts", import.meta.url)
  .pathname;

/** Decodes the body of a C string literal (the escapes llama-vocab.cpp uses). */
function cString(body: string): string {
  return body.replace(
    /\\(["\\nrt])/g,
    (_, c: string) => c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c,
  );
}

/** A JavaScript string literal with every non-ASCII or control character escaped. */
function jsString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xffff) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += `\\u{${c.toString(16)}}`;
  }
  return out + '"';
}

/** Expression lists and byte encoding of every pre-tokenizer type, from the constructor switch. */
function parseTypes(src: string): Map<string, { exprs: string[]; byteEncode: boolean }> {
  const start = src.indexOf("llm_tokenizer_bpe(const llama_vocab & vocab) {");
  const end = src.indexOf("std::vector<std::string> regex_exprs;", start);
  const body = src.slice(start, end);
  const types = new Map<string, { exprs: string[]; byteEncode: boolean }>();
  let labels: string[] = [];
  for (const part of body.split(/(?=case LLAMA_VOCAB_PRE_TYPE_|default:)/)) {
    const label = part.match(/^case LLAMA_VOCAB_PRE_TYPE_(\w+):/)?.[1] ??
      (part.startsWith("default:") ? "DEFAULT" : null);
    if (!label) continue;
    labels.push(label);
    const open = part.indexOf("regex_exprs = {");
    if (open < 0) continue; // falls through to the next label
    const close = part.indexOf("};", open);
    const lines = part.slice(open, close).split("\n").filter((l) => !l.trim().startsWith("//"));
    const exprs = [...lines.join("\n").matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => cString(m[1]));
    const byteEncode = !/byte_encode = false/.test(part.slice(close));
    for (const l of labels) types.set(l, { exprs, byteEncode });
    labels = [];
  }
  return types;
}

/** `tokenizer.ggml.pre` names, their type and flags, from `load`'s if/else chain. */
function parseNames(src: string): { names: string[]; type: string; flags: string[] }[] {
  const start = src.indexOf('} else if (tokenizer_pre == "default") {');
  const end = src.indexOf('throw std::runtime_error(format("unknown pre-tokenizer type', start);
  const out: { names: string[]; type: string; flags: string[] }[] = [];
  for (const block of src.slice(start, end).split(/\}\s*else if\s*\(/).slice(1)) {
    const brace = block.indexOf("{");
    const names = [...block.slice(0, brace).matchAll(/tokenizer_pre == "([^"]+)"/g)].map((m) =>
      m[1]
    );
    const stmts = block.slice(brace + 1).split(";").map((s) => s.trim()).filter((s) =>
      s && !s.startsWith("}")
    );
    const type = stmts.find((s) => s.startsWith("pre_type = "))!.match(/PRE_TYPE_(\w+)/)![1];
    const flags = stmts.filter((s) => !s.startsWith("pre_type = "));
    out.push({ names, type, flags });
  }
  return out;
}

/** Renders the generated module's source from llama-vocab.cpp's text. */
export function renderPreTypes(src: string): string {
  const types = parseTypes(src);
  const names = parseNames(src);
  const typeLines = [...types].map(([t, v]) =>
    `  ${t}: {\n    exprs: [\n${v.exprs.map((e) => `      ${jsString(e)},\n`).join("")}    ],\n` +
    `    byteEncode: ${v.byteEncode},\n  },`
  );
  const flagObject = (flags: string[]) => {
    const fields: string[] = [];
    for (const f of flags) {
      const m = f.match(/^(\w+) = (true|false|LLAMA_TOKEN_NULL)$/);
      if (m && m[1] === "special_bos_id") fields.push("noBos: true");
      else if (m) {
        fields.push(`${m[1].replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}: ${m[2]}`);
      } else if (f !== "normalizer_opts.lowercase = false") throw new Error(`unknown flag: ${f}`);
    }
    return fields.length ? `{ ${fields.join(", ")} }` : "{}";
  };
  const nameLines = names.flatMap(({ names, type, flags }) =>
    names.map((n) =>
      `  [${jsString(n)}, { type: ${jsString(type)}, flags: ${flagObject(flags)} }],`
    )
  );
  return `/**
 * @module llama.cpp's BPE pre-tokenizer types and names (generated from llama.cpp's
 * src/llama-vocab.cpp by tests/tokenizer/gen_pre_types.ts; do not edit by hand).
 */

/** Expressions (applied in order) and GPT-2 byte encoding of each pre-tokenizer type. */
export const PRE_TYPES: Readonly<
  Record<string, { readonly exprs: readonly string[]; readonly byteEncode: boolean }>
> = {
${typeLines.join("\n")}
};

/** Flags \`llama_vocab::impl::load\` sets for a pre-tokenizer name (over the BPE defaults). */
export interface PreFlags {
  readonly ignoreMerges?: boolean;
  readonly addBos?: boolean;
  readonly cleanSpaces?: boolean;
  readonly escapeWhitespaces?: boolean;
  readonly addSep?: boolean;
  /** The BOS id is cleared (the metadata may still name one). */
  readonly noBos?: boolean;
}

/** \`tokenizer.ggml.pre\` names: their pre-tokenizer type and flags. */
export const PRE_NAMES: ReadonlyMap<string, { readonly type: string; readonly flags: PreFlags }> =
  new Map([
${nameLines.map((l) => "  " + l).join("\n")}
  ]);
`;
}

/** Formats TypeScript source with `deno fmt` (the project's settings), as committed files are. */
export async function formatTs(source: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "ts", "--line-width", "100", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const dir = await ensureLlamaCpp();
  const src = await Deno.readTextFile(`${dir}/src/llama-vocab.cpp`);
  await Deno.writeTextFile(PRE_TYPES_PATH, await formatTs(renderPreTypes(src)));
  console.log(`wrote ${PRE_TYPES_PATH}`);
}
