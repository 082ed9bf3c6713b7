/**
 * @module Fetches llama.cpp's own sources, vocabularies, tokenizer test vectors and chat templates
 * for the tokenizer tests: `npm pack node-llama-cpp@3.22.1`, then `git clone` of the
 * `llama/gitRelease.bundle` it ships, into `.camelid/cache/` (ignored by git). Done once per
 * machine; later calls reuse the checkout.
 */

import { NODE_LLAMA_CPP_VERSION } from "../../compute/llama/ffi.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const CACHE = `${REPO_ROOT}.camelid/cache`;

/** Path of the llama.cpp checkout made from node-llama-cpp's git bundle. */
export const LLAMA_CPP_DIR = `${CACHE}/llama.cpp-node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`;

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${err}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

let pending: Promise<string> | null = null;

/** Makes sure the llama.cpp checkout exists (downloading once) and returns its path. */
export function ensureLlamaCpp(): Promise<string> {
  pending ??= (async () => {
    if (await exists(`${LLAMA_CPP_DIR}/models/ggml-vocab-llama-spm.gguf`)) return LLAMA_CPP_DIR;
    await Deno.mkdir(CACHE, { recursive: true });
    const work = await Deno.makeTempDir({ dir: CACHE, prefix: "fetch-" });
    try {
      await run("npm", ["pack", `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, "--silent"], work);
      const tgz = `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}.tgz`;
      await run("tar", ["-xzf", tgz, "package/llama/gitRelease.bundle"], work);
      const clone = `${work}/llama.cpp`;
      await run("git", ["clone", "-q", `${work}/package/llama/gitRelease.bundle`, clone], work);
      await Deno.rename(clone, LLAMA_CPP_DIR).catch(async (e) => {
        if (!(await exists(`${LLAMA_CPP_DIR}/models`))) throw e;
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
    return LLAMA_CPP_DIR;
  })();
  return pending;
}

/** One of llama.cpp's tokenizer test vectors: input text and the expected token ids. */
export interface TokenizerVector {
  /** The input text. */
  text: string;
  /** Token ids (no BOS/EOS: llama.cpp's test tokenizes with `add_special = false`). */
  tokens: number[];
}

/** Reads `models/ggml-vocab-NAME.gguf.inp` / `.out` the way llama.cpp's test-tokenizer-0 does. */
export async function readVectors(dir: string, name: string): Promise<TokenizerVector[]> {
  const base = `${dir}/models/ggml-vocab-${name}.gguf`;
  const raw = await Deno.readTextFile(`${base}.inp`);
  const outLines = (await Deno.readTextFile(`${base}.out`)).split("\n");
  if (outLines.at(-1) === "") outLines.pop();
  const sep = "\n__ggml_vocab_test__\n";
  const inputs: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  if (inputs.length !== outLines.length) {
    throw new Error(`${base}: ${inputs.length} inputs but ${outLines.length} outputs`);
  }
  return inputs.map((text, i) => ({
    text,
    tokens: outLines[i].trim() === "" ? [] : outLines[i].trim().split(/\s+/).map(Number),
  }));
}
