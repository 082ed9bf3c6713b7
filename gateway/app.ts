/**
 * @module The OpenAI-compatible gateway as a Hono app: `POST /v1/chat/completions`,
 * `POST /v1/completions`, `GET /v1/models`, `GET /v1/models/:model` (and the job-tree extension
 * `POST /v1/camelid/trees`, gateway/tree.ts), in OpenAI's request, response,
 * stream (server-sent events ending with `data: [DONE]`) and error shapes. Every completion is a set
 * of network jobs paid from the gateway's wallet and verified before the answer, which carries a
 * `camelid` object (job id, compute node, verdict, escrow and payment txids) to audit on chain.
 * Bearer keys are checked when configured; requests are rate limited per key (or per address).
 * It streams on delivery: the chunks are sent once the jobs are verified.
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { getLogger } from "@logtape/logtape";
import { BucketMap } from "../relay/limits.ts";
import { remoteIp } from "../relay/middleware/remote_ip.ts";
import { ChatTemplateError } from "../client/chat_template.ts";
import { errorBody, GatewayError } from "./errors.ts";
import { ModelDirectory, type ServedModel } from "./models.ts";
import { parseChatRequest, parseTextRequest } from "./request.ts";
import { messagesPrompt, textPrompt } from "../client/prompt.ts";
import { complete, type Completion } from "./completion.ts";
import type { JobSettings } from "./jobs.ts";
import { treeEndpoint } from "./tree.ts";

const log = getLogger(["camelid", "gateway"]);

/** Output budget when a chat request sets none. */
export const DEFAULT_CHAT_MAX_TOKENS = 128;
/** Output budget when a text completion request sets none (OpenAI's default). */
export const DEFAULT_TEXT_MAX_TOKENS = 16;

/** Everything the gateway needs. */
export interface GatewayOptions extends JobSettings {
  /** Model names beyond `general.name`: alias -> model id. */
  aliases?: ReadonlyMap<string, string>;
  /** Bearer keys accepted; empty = no key needed (only on loopback: see the CLI). */
  apiKeys?: readonly string[];
  /** Requests per minute per key (or per client address without keys). */
  ratePerMinute?: number;
}

/** The model object of OpenAI's `/v1/models`. */
function modelObject(name: string, m: ServedModel): Record<string, unknown> {
  return {
    id: name,
    object: "model",
    created: 0,
    owned_by: "camelid",
    camelid: { model_id: m.modelId, compute_nodes: m.holders.length },
  };
}

function sameKey(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let d = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) d |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return d === 0;
}

/** The Hono app of the gateway. */
export function createGatewayApp(o: GatewayOptions): Hono {
  const directory = new ModelDirectory(o.node, o.aliases);
  const keys = o.apiKeys ?? [];
  const rate = o.ratePerMinute ?? 60;
  const buckets = new BucketMap(rate / 60, Math.max(1, rate));
  const app = new Hono();

  app.onError((e, c) => {
    const err = e instanceof GatewayError
      ? e
      : e instanceof ChatTemplateError
      ? new GatewayError(400, e.code.replace(/\W/g, "_"), e.message, "messages")
      : e instanceof SyntaxError
      ? new GatewayError(400, "invalid_json", `the request body is not JSON: ${e.message}`)
      : new GatewayError(500, "internal_error", e instanceof Error ? e.message : String(e));
    if (err.status >= 500) {
      log.warning("{status} {code}: {message}", {
        status: err.status,
        code: err.code,
        message: err.message,
      });
    }
    return c.json(errorBody(err), err.status);
  });
  app.notFound((c) => {
    const e = new GatewayError(404, "unknown_url", `no route ${c.req.method} ${c.req.path}`);
    return c.json(errorBody(e), 404);
  });

  app.use("/v1/*", async (c, next) => {
    let who = `ip:${remoteIp(c)}`;
    if (keys.length > 0) {
      const auth = c.req.header("authorization") ?? "";
      const given = auth.match(/^Bearer (.+)$/)?.[1];
      if (!given) {
        throw new GatewayError(
          401,
          "missing_api_key",
          "give an API key: Authorization: Bearer KEY",
        );
      }
      if (!keys.some((k) => sameKey(k, given))) {
        throw new GatewayError(401, "invalid_api_key", "the API key is not one of this gateway's");
      }
      who = `key:${given}`;
    }
    if (!buckets.take(who)) {
      throw new GatewayError(
        429,
        "rate_limit_exceeded",
        `more than ${rate} requests per minute; retry later`,
      );
    }
    await next();
  });

  app.get("/v1/models", async (c) => {
    const data = (await directory.list()).flatMap((m) => [
      modelObject(m.name, m),
      ...directory.aliasesOf(m.modelId).map((a) => modelObject(a, m)),
    ]);
    return c.json({ object: "list", data });
  });

  app.get("/v1/models/:model{.+}", async (c) => {
    const name = c.req.param("model");
    const m = await directory.resolve(name);
    return c.json(modelObject(name, m));
  });

  app.post("/v1/chat/completions", async (c) => {
    const req = parseChatRequest(await c.req.json(), DEFAULT_CHAT_MAX_TOKENS);
    const model = await directory.resolve(req.model);
    const prompt = messagesPrompt(model.tokenizer, req.messages);
    const started = performance.now();
    const done = await complete(o, model, req, prompt);
    log.info("chat {model}: {n} choice(s) in {ms} ms (user {user})", {
      model: req.model,
      n: req.n,
      ms: Math.round(performance.now() - started),
      user: req.user,
    });
    return req.stream
      ? streamCompletion(c, done, req.includeUsage, CHAT_CHUNKS)
      : c.json(chatBody(done));
  });

  app.post("/v1/camelid/trees", (c) => treeEndpoint(c, o, directory));

  app.post("/v1/completions", async (c) => {
    const req = parseTextRequest(await c.req.json(), DEFAULT_TEXT_MAX_TOKENS);
    const model = await directory.resolve(req.model);
    const done = await complete(o, model, req, textPrompt(model.tokenizer, req.prompt));
    return req.stream
      ? streamCompletion(c, done, req.includeUsage, TEXT_CHUNKS)
      : c.json(textBody(done));
  });

  return app;
}

function usage(done: Completion) {
  const completion = done.choices.reduce((s, ch) => s + ch.outputTokens.length, 0);
  return {
    prompt_tokens: done.promptTokens,
    completion_tokens: completion,
    total_tokens: done.promptTokens + completion,
  };
}

function head(done: Completion, prefix: string, object: string) {
  return {
    id: `${prefix}-${done.choices[0].audit.job_id}`,
    object,
    created: Math.floor(Date.now() / 1000),
    model: done.model,
  };
}

/** OpenAI's `chat.completion` object for `done`. */
export function chatBody(done: Completion): Record<string, unknown> {
  return {
    ...head(done, "chatcmpl", "chat.completion"),
    choices: done.choices.map((ch, index) => ({
      index,
      message: { role: "assistant", content: ch.text, refusal: null },
      logprobs: null,
      finish_reason: ch.finish,
      camelid: ch.audit,
    })),
    usage: usage(done),
    camelid: done.choices[0].audit,
  };
}

/** OpenAI's `text_completion` object for `done`. */
export function textBody(done: Completion): Record<string, unknown> {
  return {
    ...head(done, "cmpl", "text_completion"),
    choices: done.choices.map((ch, index) => ({
      index,
      text: ch.text,
      logprobs: null,
      finish_reason: ch.finish,
      camelid: ch.audit,
    })),
    usage: usage(done),
    camelid: done.choices[0].audit,
  };
}

/** How one endpoint's stream writes a choice: its opening, each piece of text, and its end. */
interface ChunkShapes {
  /** The `id` prefix and `object` of every chunk. */
  prefix: string;
  object: string;
  /** The chunk choice opening choice `index` (none for text completions). */
  open?: (index: number) => Record<string, unknown>;
  /** The chunk choice carrying `text`. */
  piece: (index: number, text: string) => Record<string, unknown>;
  /** The chunk choice ending with `finish`. */
  end: (index: number, finish: string) => Record<string, unknown>;
}

const CHAT_CHUNKS: ChunkShapes = {
  prefix: "chatcmpl",
  object: "chat.completion.chunk",
  open: (index) => ({ index, delta: { role: "assistant", content: "" }, finish_reason: null }),
  piece: (index, content) => ({ index, delta: { content }, logprobs: null, finish_reason: null }),
  end: (index, finish) => ({ index, delta: {}, logprobs: null, finish_reason: finish }),
};

const TEXT_CHUNKS: ChunkShapes = {
  prefix: "cmpl",
  object: "text_completion",
  piece: (index, text) => ({ index, text, logprobs: null, finish_reason: null }),
  end: (index, finish) => ({ index, text: "", logprobs: null, finish_reason: finish }),
};

/**
 * Server-sent events of `done` in OpenAI's chunk format: each choice's pieces, its end (with its
 * `camelid` object), the usage when asked, then `data: [DONE]`.
 */
function streamCompletion(
  c: Context,
  done: Completion,
  includeUsage: boolean,
  shapes: ChunkShapes,
): Response {
  const h = head(done, shapes.prefix, shapes.object);
  return streamSSE(c, async (stream) => {
    const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      stream.writeSSE({ data: JSON.stringify({ ...h, choices, ...extra }) });
    for (const [index, ch] of done.choices.entries()) {
      if (shapes.open) await send([shapes.open(index)]);
      for (const piece of ch.pieces) await send([shapes.piece(index, piece)]);
      await send([shapes.end(index, ch.finish)], { camelid: ch.audit });
    }
    if (includeUsage) await send([], { usage: usage(done) });
    await stream.writeSSE({ data: "[DONE]" });
  });
}
