/**
 * @module Chat prompts from a model's `tokenizer.chat_template`, rendered with `@huggingface/jinja`
 * the way llama.cpp's common chat code renders it (messages, `bos_token`, `eos_token`,
 * `add_generation_prompt`, optional `tools`; a leading BOS / trailing EOS the tokenizer adds
 * itself is cut from the text), then tokenized with special tokens parsed. The stop tokens are the
 * vocabulary's end-of-generation tokens, with the template's own end-of-turn token first.
 */

import { Template } from "@huggingface/jinja";
import { CamelidError } from "../chain/errors.ts";
import type { Tokenizer } from "./tokenizer/mod.ts";

/** Errors of chat prompts: no template, a template that fails, bad messages. */
export class ChatTemplateError extends CamelidError {}

/** One chat message. */
export interface ChatMessage {
  /** "system", "user", "assistant" or "tool". */
  role: string;
  /** The text. */
  content: string;
}

/** Options of {@link renderChat} and {@link chatPrompt}. */
export interface ChatOptions {
  /** Append the assistant turn's opening so the model answers (default true). */
  addGenerationPrompt?: boolean;
  /** A template to use instead of the vocabulary's `tokenizer.chat_template`. */
  template?: string;
  /** Tool definitions passed to templates that support them. */
  tools?: unknown[];
  /** Further template variables (e.g. `enable_thinking`). */
  extra?: Record<string, unknown>;
}

/** A rendered and tokenized chat prompt. */
export interface ChatPrompt {
  /** The prompt text as rendered (leading BOS cut when the tokenizer adds it). */
  text: string;
  /** Its tokens (BOS/EOS as the vocabulary says, special tokens parsed). */
  tokens: number[];
  /** The template's end-of-turn token (-1 when none is found): stop on it. */
  endOfTurn: number;
  /** All tokens to stop on: {@link endOfTurn} first, then the vocabulary's end-of-generation set. */
  stop: number[];
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new ChatTemplateError("chat/bad-template", `chat template does not parse: ${e}`, {
        cause: e,
      });
    }
    if (compiled.size > 16) compiled.clear();
    compiled.set(source, t);
  }
  return t;
}

/** Throws `ChatTemplateError` (`chat/bad-messages`) unless `messages` is a list of role/content. */
export function checkMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new ChatTemplateError("chat/bad-messages", "messages must be a non-empty array");
  }
  for (const [i, m] of messages.entries()) {
    if (
      typeof m !== "object" || m === null || typeof (m as ChatMessage).role !== "string" ||
      typeof (m as ChatMessage).content !== "string"
    ) {
      throw new ChatTemplateError(
        "chat/bad-messages",
        `message ${i} must be an object with string "role" and "content"`,
      );
    }
  }
}

/** The text of a special token (its piece with special tokens rendered), or "" when absent. */
function specialText(tok: Tokenizer, id: number): string {
  return id < 0 ? "" : new TextDecoder().decode(tok.tokenPiece(id, true));
}

/**
 * Renders `messages` with the vocabulary's chat template (or `opts.template`). Throws
 * `ChatTemplateError`: `chat/no-template`, `chat/bad-template`, `chat/render-failed`,
 * `chat/bad-messages`.
 */
export function renderChat(
  tok: Tokenizer,
  messages: ChatMessage[],
  opts: ChatOptions = {},
): string {
  checkMessages(messages);
  const source = opts.template ?? tok.vocab.chatTemplate;
  if (source === undefined) {
    throw new ChatTemplateError("chat/no-template", "the model has no tokenizer.chat_template");
  }
  const v = tok.vocab;
  const bos = specialText(tok, v.special.bos);
  const eos = specialText(tok, v.special.eos);
  const context: Record<string, unknown> = {
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    bos_token: bos,
    eos_token: eos,
    ...(opts.tools ? { tools: opts.tools } : {}),
    ...opts.extra,
  };
  if (opts.addGenerationPrompt ?? true) context.add_generation_prompt = true;
  const template = compile(source);
  let text: string;
  try {
    text = template.render(context);
  } catch (e) {
    throw new ChatTemplateError("chat/render-failed", `chat template failed: ${e}`, { cause: e });
  }
  if (v.addBos && bos && text.startsWith(bos)) text = text.slice(bos.length);
  if (v.addEos && eos && text.endsWith(eos)) text = text.slice(0, -eos.length);
  return text;
}

/**
 * The template's end-of-turn token: the first end-of-generation token the template writes after an
 * assistant message (falls back to the vocabulary's end-of-turn, then end-of-sequence token).
 */
export function endOfTurnToken(tok: Tokenizer, opts: ChatOptions = {}): number {
  const marker = "\u2063camelid-answer\u2063";
  const v = tok.vocab;
  try {
    const text = renderChat(tok, [
      { role: "user", content: "Hi" },
      { role: "assistant", content: marker },
    ], { ...opts, addGenerationPrompt: false });
    const at = text.indexOf(marker);
    if (at >= 0) {
      const after = tok.tokenize(text.slice(at + marker.length), {
        addSpecial: false,
        parseSpecial: true,
      });
      const found = after.find((id) => tok.isEog(id));
      if (found !== undefined) return found;
    }
  } catch (e) {
    if (!(e instanceof ChatTemplateError) || e.code !== "chat/render-failed") throw e;
  }
  return v.special.eot >= 0 ? v.special.eot : v.special.eos;
}

/** Messages to prompt text to tokens, with the tokens to stop generation on. */
export function chatPrompt(
  tok: Tokenizer,
  messages: ChatMessage[],
  opts: ChatOptions = {},
): ChatPrompt {
  const text = renderChat(tok, messages, opts);
  const tokens = tok.tokenize(text, { addSpecial: true, parseSpecial: true });
  const endOfTurn = endOfTurnToken(tok, opts);
  const eog = [...tok.vocab.eog].sort((a, b) => a - b);
  const stop = endOfTurn >= 0 ? [endOfTurn, ...eog.filter((id) => id !== endOfTurn)] : eog;
  return { text, tokens, endOfTurn, stop };
}
