/**
 * @module CLI commands `tokenize` and `detokenize`: text (or a chat, rendered with the model's chat
 * template) to token ids and back with a model's own tokenizer, from a GGUF file (`--model`) or from a node by model id (`--model-id`, the metadata
 * checked against the id), in TypeScript (`--engine ts`, the default) or with llama.cpp
 * (`--engine llama`, a file only).
 */

import type { Command } from "commander";
import { type ChatMessage, chatPrompt, checkMessages } from "../client/chat_template.ts";
import { tokenizerForModel } from "../client/model_metadata.ts";
import { Tokenizer } from "../client/tokenizer/mod.ts";
import { readVocabularyMetadata } from "./fixture.ts";
import { LlamaVocab } from "./llama/vocab_only.ts";

/** Options shared by both commands. */
interface SourceOptions {
  model?: string;
  modelId?: string;
  node: string;
  engine: string;
  json?: boolean;
}

/** Text and token operations of one engine. */
interface Engine {
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): number[];
  detokenize(tokens: number[], unparseSpecial: boolean): string;
  /** The TypeScript tokenizer (chat templates need the metadata). */
  tokenizer?: Tokenizer;
  close(): Promise<void>;
}

async function openEngine(o: SourceOptions): Promise<Engine> {
  if (!["ts", "llama"].includes(o.engine)) throw new RangeError("--engine must be ts or llama");
  if ((o.model === undefined) === (o.modelId === undefined)) {
    throw new RangeError("give exactly one of --model FILE and --model-id ID");
  }
  if (o.engine === "llama") {
    if (o.model === undefined) {
      throw new RangeError("--engine llama needs --model FILE (llama.cpp reads a file)");
    }
    const v = await LlamaVocab.load(o.model);
    return {
      tokenize: (text, addSpecial, parseSpecial) =>
        v.model.tokenize(text, addSpecial, parseSpecial),
      detokenize: (tokens, unparse) => {
        v.model.checkTokens(tokens);
        return v.model.detokenize(tokens, false, unparse);
      },
      close: () => v.free(),
    };
  }
  const tok = o.model !== undefined
    ? Tokenizer.fromMetadata(await readVocabularyMetadata(o.model))
    : await tokenizerForModel(o.node, o.modelId!);
  return {
    tokenize: (text, addSpecial, parseSpecial) => tok.tokenize(text, { addSpecial, parseSpecial }),
    detokenize: (tokens, unparseSpecial) => tok.detokenize(tokens, { unparseSpecial }),
    tokenizer: tok,
    close: () => Promise.resolve(),
  };
}

/** Parses token ids given as "1,2,3", "1 2 3" or a JSON array. */
export function parseTokenIds(s: string): number[] {
  const t = s.trim();
  const parts = t.startsWith("[") ? t.slice(1, -1) : t;
  if (!t.startsWith("[") !== !t.endsWith("]") || !/^\s*(\d+(\s*[,\s]\s*\d+)*)?\s*$/.test(parts)) {
    throw new RangeError(`--tokens must be token ids (1,2,3 or [1,2,3]), got ${s}`);
  }
  return parts.split(/[,\s]+/).filter((x) => x !== "").map(Number);
}

/** Reads a chat from a JSON file; throws `ChatTemplateError` (`chat/bad-messages`) when malformed. */
export async function readMessages(path: string): Promise<ChatMessage[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new RangeError(`${path} does not exist`);
    if (e instanceof SyntaxError) throw new RangeError(`${path} is not JSON: ${e.message}`);
    throw e;
  }
  checkMessages(parsed);
  return parsed;
}

function addSourceOptions(cmd: Command): Command {
  return cmd
    .option("--model <file>", "GGUF model (or vocabulary-only GGUF) file")
    .option("--model-id <id>", "model id: the tokenizer comes from --node, checked against the id")
    .option("--node <url>", "node API URL (with --model-id)", "http://127.0.0.1:8787")
    .option("--engine <engine>", "ts (TypeScript, no FFI) or llama (llama.cpp)", "ts")
    .option("--json", "print JSON");
}

/** Registers `tokenize` and `detokenize` on `program`. */
export function registerTokenizeCommands(program: Command): void {
  addSourceOptions(
    program.command("tokenize").description("text to token ids with a model's tokenizer"),
  )
    .option("--text <text>", "text to tokenize")
    .option(
      "--messages <file>",
      'a chat as JSON ([{"role": "user", "content": "..."}]) rendered with the model\'s template',
    )
    .option("--no-special", "do not add BOS/EOS")
    .option("--parse-special", "read special tokens' texts in the input as those tokens")
    .action(
      async (
        o: SourceOptions & {
          text?: string;
          messages?: string;
          special: boolean;
          parseSpecial?: boolean;
        },
      ) => {
        if ((o.text === undefined) === (o.messages === undefined)) {
          throw new RangeError("give exactly one of --text TEXT and --messages FILE");
        }
        if (o.messages !== undefined && o.engine !== "ts") {
          throw new RangeError("--messages needs --engine ts (the chat template is rendered here)");
        }
        const messages = o.messages === undefined ? undefined : await readMessages(o.messages);
        const engine = await openEngine(o);
        try {
          if (messages) {
            const p = chatPrompt(engine.tokenizer!, messages);
            console.log(
              o.json
                ? JSON.stringify({ tokens: p.tokens, text: p.text, stop: p.stop })
                : p.tokens.join(","),
            );
            return;
          }
          const tokens = engine.tokenize(o.text!, o.special, !!o.parseSpecial);
          console.log(o.json ? JSON.stringify({ tokens }) : tokens.join(","));
        } finally {
          await engine.close();
        }
      },
    );
  addSourceOptions(
    program.command("detokenize").description("token ids to text with a model's tokenizer"),
  )
    .requiredOption("--tokens <ids>", "token ids: 1,2,3 or [1,2,3]")
    .option("--special", "render control tokens (BOS, end of turn, ...) as their text")
    .action(async (o: SourceOptions & { tokens: string; special?: boolean }) => {
      const tokens = parseTokenIds(o.tokens);
      const engine = await openEngine(o);
      try {
        const text = engine.detokenize(tokens, !!o.special);
        console.log(o.json ? JSON.stringify({ text }) : text);
      } finally {
        await engine.close();
      }
    });
}
