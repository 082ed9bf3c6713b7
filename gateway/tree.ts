/**
 * @module The gateway's job-tree extension, `POST /v1/camelid/trees` (not an OpenAI endpoint): a
 * root prompt or chat, a split rule, a depth, a fan-out and a budget in coins; the tree runs on the
 * network from the gateway's wallet (client/job_tree.ts) and the answer is every node (job id,
 * compute node, verdict, text, attempts). With `"stream": true` the tree's events come as
 * server-sent events while it grows, then the tree, then `data: [DONE]`.
 */

import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { formatCoins, parseCoins } from "../chain/amount.ts";
import { CamelidError } from "../chain/errors.ts";
import { MAX_OUTPUT_TOKENS } from "../chain/job.ts";
import { checkMessages } from "../client/chat_template.ts";
import {
  runJobTree,
  type TreeEvent,
  treeJson,
  type TreeOptions,
  type TreeResult,
} from "../client/job_tree.ts";
import { DEFAULT_CHILD_TEMPLATE, isSplitRule, SPLIT_RULES } from "../client/split_rules.ts";
import { GatewayError } from "./errors.ts";
import type { JobSettings } from "./jobs.ts";
import type { ModelDirectory } from "./models.ts";
import { asObject, integer, number, refuseUnknown } from "./request.ts";

/** Deepest tree the gateway runs. */
export const MAX_TREE_DEPTH = 4;
/** Widest fan-out the gateway runs. */
export const MAX_TREE_FANOUT = 8;

const FIELDS = new Set([
  "model",
  "prompt",
  "messages",
  "split",
  "template",
  "depth",
  "fanout",
  "min_chars",
  "budget",
  "reward",
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "seed",
  "stream",
]);

/** A checked tree request. */
export interface TreeRequest {
  /** Model name, alias or id. */
  model: string;
  /** The root: a prompt or a chat. */
  root: TreeOptions["root"];
  /** Shape: split, template, depth, fan-out, shortest part, budget (base units). */
  shape: Pick<TreeOptions, "split" | "template" | "depth" | "fanout" | "minChars" | "budget">;
  /** Reward per job (base units), when given. */
  reward: bigint | null;
  /** Output budget per job. */
  maxTokens: number;
  /** Sampler settings. */
  sampler: TreeOptions["sampler"];
  /** Root seed, when given. */
  seed: bigint | null;
  /** Stream the events. */
  stream: boolean;
}

const bad = (param: string, message: string) =>
  new GatewayError(400, "invalid_value", message, param);

function coins(body: Record<string, unknown>, key: string): bigint | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  try {
    const units = parseCoins(String(v));
    if (units > 0n) return units;
  } catch { /* refused below */ }
  throw bad(key, `${key} must be a positive amount of coins, e.g. "0.5"`);
}

/** Checks a tree request body; `GatewayError` 400 naming the field at fault. */
export function parseTreeRequest(raw: unknown): TreeRequest {
  const body = asObject(raw);
  refuseUnknown(body, FIELDS);
  if (typeof body.model !== "string" || body.model === "") {
    throw bad("model", "model must be a non-empty string");
  }
  if ((body.prompt === undefined) === (body.messages === undefined)) {
    throw bad("prompt", "give exactly one of prompt and messages");
  }
  let root: TreeOptions["root"];
  if (body.prompt !== undefined) {
    if (typeof body.prompt !== "string" || body.prompt === "") {
      throw bad("prompt", "prompt must be a non-empty string");
    }
    root = { prompt: body.prompt };
  } else {
    try {
      checkMessages(body.messages);
    } catch (e) {
      throw bad("messages", (e as Error).message);
    }
    root = { messages: body.messages };
  }
  const split = body.split ?? "list";
  if (typeof split !== "string" || !isSplitRule(split)) {
    throw bad("split", `split must be one of ${SPLIT_RULES.join(", ")}`);
  }
  const template = body.template ?? DEFAULT_CHILD_TEMPLATE;
  if (typeof template !== "string" || !template.includes("{part}")) {
    throw bad("template", "template must be a string containing {part}");
  }
  const budget = coins(body, "budget");
  if (budget === null) throw bad("budget", "budget (coins the tree may lock) is required");
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw bad("stream", "stream must be a boolean");
  }
  const seed = integer(body, "seed", 0, Number.MAX_SAFE_INTEGER);
  return {
    model: body.model,
    root,
    shape: {
      split,
      template,
      depth: integer(body, "depth", 0, MAX_TREE_DEPTH) ?? 2,
      fanout: integer(body, "fanout", 1, MAX_TREE_FANOUT) ?? 3,
      minChars: integer(body, "min_chars", 1, 100_000) ?? 8,
      budget,
    },
    reward: coins(body, "reward"),
    maxTokens: integer(body, "max_tokens", 1, MAX_OUTPUT_TOKENS) ?? 128,
    sampler: {
      temperature: number(body, "temperature", 0, 2) ?? 0.8,
      topK: integer(body, "top_k", 0, 1 << 20) ?? 40,
      topP: (() => {
        const p = number(body, "top_p", 0, 1);
        if (p === 0) throw bad("top_p", "top_p must be above 0");
        return p ?? 0.95;
      })(),
    },
    seed: seed === undefined ? null : BigInt(seed),
    stream: body.stream === true,
  };
}

/** The statuses of tree and job errors that start no job or come from the request. */
function treeError(e: unknown): unknown {
  if (!(e instanceof CamelidError) || e instanceof GatewayError) return e;
  if (e.code === "tree/budget") return new GatewayError(402, e.code, e.message, "budget");
  if (e.code === "tree/bad-option" || e.code === "tree/bad-template") {
    return new GatewayError(400, e.code, e.message);
  }
  if (["tree/no-node", "job/no-node", "job/context-too-long"].includes(e.code)) {
    return new GatewayError(503, e.code, e.message, "model");
  }
  if (e.code === "job/reward-too-low") return new GatewayError(400, e.code, e.message, "reward");
  return e;
}

/** The JSON answer of a finished tree. */
export function treeBody(model: string, r: TreeResult): Record<string, unknown> {
  return { object: "camelid.tree", model, ...treeJson(r) };
}

/**
 * Answers `POST /v1/camelid/trees`: the reward per job is the request's, at most (and by default)
 * the gateway's price cap for the root prompt and twice the output budget (a child's prompt holds
 * its parent's answer); every job is verified like the gateway's others.
 */
export async function treeEndpoint(
  c: Context,
  o: JobSettings,
  directory: ModelDirectory,
): Promise<Response> {
  const req = parseTreeRequest(await c.req.json());
  const model = await directory.resolve(req.model);
  const rootTokens = "prompt" in req.root
    ? model.tokenizer.tokenize(req.root.prompt, { addSpecial: true, parseSpecial: false }).length
    : 0;
  const cap = (o.maxPricePer1k * BigInt(rootTokens + 2 * req.maxTokens)) / 1000n;
  if (req.reward !== null && req.reward > cap) {
    throw bad(
      "reward",
      `reward ${formatCoins(req.reward)} is above the gateway's price cap for these jobs (${
        formatCoins(cap)
      })`,
    );
  }
  const local = o.localModels.get(model.modelId);
  const options = (onEvent?: (e: TreeEvent) => void): TreeOptions => ({
    ...req.shape,
    node: o.node,
    secretKey: o.secretKey,
    modelId: model.modelId,
    tokenizer: model.tokenizer,
    root: req.root,
    maxTokens: req.maxTokens,
    reward: req.reward ?? cap,
    fee: o.fee,
    seed: req.seed ?? crypto.getRandomValues(new BigUint64Array(1))[0],
    sampler: req.sampler,
    job: {
      spendLock: o.spendLock,
      timeoutMs: o.timeoutMs,
      verifyWith: local,
      outsource: local ? undefined : {},
    },
    onEvent,
  });
  if (!req.stream) {
    const result = await runJobTree(options()).catch((e) => {
      throw treeError(e);
    });
    return c.json(treeBody(req.model, result));
  }
  return streamSSE(c, async (stream) => {
    const sent: Promise<void>[] = [];
    const send = (data: unknown) => sent.push(stream.writeSSE({ data: JSON.stringify(data) }));
    try {
      const result = await runJobTree(options((e) => send({ object: "camelid.tree.event", ...e })));
      send(treeBody(req.model, result));
    } catch (e) {
      const err = treeError(e);
      send({
        error: {
          message: (err as Error).message,
          code: (err as { code?: string }).code ?? "internal_error",
        },
      });
    }
    await Promise.all(sent);
    await stream.writeSSE({ data: "[DONE]" });
  });
}
