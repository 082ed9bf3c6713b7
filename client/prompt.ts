/**
 * @module A light client's prompt and answer with the model's own tokenizer (from the node's
 * checked metadata, client/model_metadata.ts): prompt text or a chat (rendered with the model's
 * chat template) to token ids, and output tokens back to text, cut at the chat's end-of-turn token.
 * No FFI and no file access.
 */

import { type ChatMessage, chatPrompt } from "./chat_template.ts";
import type { Tokenizer } from "./tokenizer/mod.ts";

/** A prompt as tokens, with the tokens that end the answer. */
export interface PromptTokens {
  /** Prompt token ids (BOS as the vocabulary says). */
  tokens: number[];
  /** Tokens that end the answer (a chat's end-of-turn first); empty for plain text. */
  stop: number[];
}

/** Tokenizes plain `text` (BOS/EOS as the vocabulary says, special-token text kept as text). */
export function textPrompt(tok: Tokenizer, text: string): PromptTokens {
  return { tokens: tok.tokenize(text, { addSpecial: true, parseSpecial: false }), stop: [] };
}

/** Renders `messages` with the model's chat template (generation prompt added) and tokenizes it. */
export function messagesPrompt(tok: Tokenizer, messages: ChatMessage[]): PromptTokens {
  const p = chatPrompt(tok, messages);
  return { tokens: p.tokens, stop: p.stop };
}

/**
 * The answer's text: output tokens up to the first stop token (the compute node stops at the
 * vocabulary's end-of-generation tokens; a chat's end-of-turn is one of them or is cut here),
 * without control tokens.
 */
export function answerText(tok: Tokenizer, output: number[], stop: number[]): string {
  const stops = new Set(stop);
  const end = output.findIndex((t) => stops.has(t));
  return tok.detokenize(end < 0 ? output : output.slice(0, end), { unparseSpecial: false });
}
