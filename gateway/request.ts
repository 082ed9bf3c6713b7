/**
 * @module OpenAI request bodies of `POST /v1/chat/completions` and `POST /v1/completions`, checked
 * field by field: every field the gateway honours is validated, and any other field is refused with
 * a 400 naming it (never silently ignored).
 */

import { MAX_OUTPUT_TOKENS } from "../chain/job.ts";
import type { ChatMessage } from "../client/chat_template.ts";
import { GatewayError } from "./errors.ts";

/** The most choices one request may ask for (`n`). */
export const MAX_CHOICES = 8;
/** The most stop strings (as OpenAI). */
export const MAX_STOP = 4;

/** What both endpoints ask for, checked. */
export interface CompletionRequest {
  /** The model name as asked. */
  model: string;
  /** Most output tokens per choice. */
  maxTokens: number;
  /** Temperature (0 = greedy). */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  /** The caller's seed, when fixed. */
  seed: number | null;
  /** Stop strings, applied to the decoded text. */
  stop: string[];
  /** Choices (one job each). */
  n: number;
  /** Server-sent events. */
  stream: boolean;
  /** A usage chunk at the end of the stream (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The end user (OpenAI's `user`), for the log. */
  user: string | null;
}

/** A chat request: the messages to render with the model's chat template. */
export interface ChatRequest extends CompletionRequest {
  /** The conversation. */
  messages: ChatMessage[];
}

/** A text completion request: the prompt as text. */
export interface TextRequest extends CompletionRequest {
  /** The prompt. */
  prompt: string;
}

const bad = (param: string, message: string) =>
  new GatewayError(400, "invalid_value", message, param);

/** The number `body[key]` in [min, max], or undefined; `GatewayError` 400 naming `key` otherwise. */
export function number(body: Record<string, unknown>, key: string, min: number, max: number) {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw bad(key, `${key} must be a number in [${min}, ${max}]`);
  }
  return v;
}

/** The integer `body[key]` in [min, max], or undefined; `GatewayError` 400 naming `key` otherwise. */
export function integer(body: Record<string, unknown>, key: string, min: number, max: number) {
  const v = number(body, key, min, max);
  if (v !== undefined && !Number.isInteger(v)) throw bad(key, `${key} must be an integer`);
  return v;
}

/** `GatewayError` 400 `unsupported_parameter` naming the first field of `body` not in `allowed`. */
export function refuseUnknown(body: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  const unknown = Object.keys(body).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    throw new GatewayError(
      400,
      "unsupported_parameter",
      `unsupported parameter(s): ${unknown.join(", ")} (supported: ${[...allowed].join(", ")})`,
      unknown[0],
    );
  }
}

const COMMON = [
  "model",
  "max_tokens",
  "temperature",
  "top_p",
  "seed",
  "stop",
  "n",
  "stream",
  "stream_options",
  "user",
  "logprobs",
];
const CHAT_FIELDS = new Set([...COMMON, "messages", "max_completion_tokens"]);
const TEXT_FIELDS = new Set([...COMMON, "prompt"]);

function common(body: Record<string, unknown>, defaultMaxTokens: number): CompletionRequest {
  if (typeof body.model !== "string" || body.model === "") {
    throw bad("model", "model must be a non-empty string");
  }
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) {
    throw new GatewayError(
      400,
      "unsupported_parameter",
      "logprobs are not at hand: a job delivers token ids, not their probabilities",
      "logprobs",
    );
  }
  let stop: string[] = [];
  if (typeof body.stop === "string") stop = [body.stop];
  else if (Array.isArray(body.stop)) stop = body.stop;
  else if (body.stop !== undefined && body.stop !== null) {
    throw bad("stop", "stop must be a string or an array of strings");
  }
  if (stop.length > MAX_STOP || !stop.every((s) => typeof s === "string" && s !== "")) {
    throw bad("stop", `stop must be at most ${MAX_STOP} non-empty strings`);
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw bad("stream", "stream must be a boolean");
  }
  const options = body.stream_options;
  if (options !== undefined && options !== null) {
    if (typeof options !== "object" || Array.isArray(options)) {
      throw bad("stream_options", "stream_options must be an object");
    }
    const extra = Object.keys(options).filter((k) => k !== "include_usage");
    if (extra.length) {
      throw new GatewayError(
        400,
        "unsupported_parameter",
        `unsupported stream_options: ${extra.join(", ")}`,
        `stream_options.${extra[0]}`,
      );
    }
  }
  if (body.user !== undefined && body.user !== null && typeof body.user !== "string") {
    throw bad("user", "user must be a string");
  }
  const seed = integer(body, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return {
    model: body.model,
    maxTokens: integer(body, "max_tokens", 1, MAX_OUTPUT_TOKENS) ?? defaultMaxTokens,
    temperature: number(body, "temperature", 0, 2) ?? 1,
    topP: (() => {
      const p = number(body, "top_p", 0, 1);
      if (p === 0) throw bad("top_p", "top_p must be above 0");
      return p ?? 1;
    })(),
    seed: seed ?? null,
    stop,
    n: integer(body, "n", 1, MAX_CHOICES) ?? 1,
    stream: body.stream === true,
    includeUsage: (options as { include_usage?: unknown } | undefined)?.include_usage === true,
    user: (body.user as string | undefined) ?? null,
  };
}

/** `body` as a JSON object; `GatewayError` 400 `invalid_json` otherwise. */
export function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError(400, "invalid_json", "the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** Checks a chat completion body; `GatewayError` 400 naming the field at fault. */
export function parseChatRequest(raw: unknown, defaultMaxTokens: number): ChatRequest {
  const body = asObject(raw);
  refuseUnknown(body, CHAT_FIELDS);
  const req = common(body, defaultMaxTokens);
  const mct = integer(body, "max_completion_tokens", 1, MAX_OUTPUT_TOKENS);
  if (mct !== undefined) {
    if (body.max_tokens !== undefined && body.max_tokens !== null && body.max_tokens !== mct) {
      throw bad("max_completion_tokens", "max_tokens and max_completion_tokens disagree");
    }
    req.maxTokens = mct;
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw bad("messages", "messages must be a non-empty array");
  }
  const checked = messages.map((m, i): ChatMessage => {
    const o = m as { role?: unknown; content?: unknown };
    if (typeof o !== "object" || o === null || typeof o.role !== "string") {
      throw bad(`messages[${i}]`, `messages[${i}] must be an object with a string role`);
    }
    const content = typeof o.content === "string" ? o.content : Array.isArray(o.content) &&
        o.content.every((p) => p?.type === "text" && typeof p.text === "string")
      ? o.content.map((p: { text: string }) => p.text).join("")
      : null;
    if (content === null) {
      throw bad(
        `messages[${i}].content`,
        `messages[${i}].content must be a string or text parts (other parts are not supported)`,
      );
    }
    const extra = Object.keys(o).filter((k) => k !== "role" && k !== "content" && k !== "name");
    if (extra.length) {
      throw new GatewayError(
        400,
        "unsupported_parameter",
        `unsupported message field(s): ${extra.join(", ")}`,
        `messages[${i}].${extra[0]}`,
      );
    }
    return { role: o.role, content };
  });
  return { ...req, messages: checked };
}

/** Checks a text completion body; `GatewayError` 400 naming the field at fault. */
export function parseTextRequest(raw: unknown, defaultMaxTokens: number): TextRequest {
  const body = asObject(raw);
  refuseUnknown(body, TEXT_FIELDS);
  const req = common(body, defaultMaxTokens);
  const p = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
  if (typeof p !== "string") {
    throw bad("prompt", "prompt must be a string (or an array of one string)");
  }
  return { ...req, prompt: p };
}
