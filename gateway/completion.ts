/**
 * @module A completion request as network jobs: the prompt's tokens (client/prompt.ts: chat
 * messages rendered with the model's chat template), `n` choices run at once on different compute nodes where there
 * are several, the output decoded up to its end-of-generation or end-of-turn token and cut at the
 * first stop string, with usage counted in tokens. The caller's seed is made reproducible (bit 63 set, see
 * verifier-wasm/sampler.ts); without one, each choice gets a random seed.
 */

import { networkParams } from "../chain/params.ts";
import type { PromptTokens } from "../client/prompt.ts";
import { DistinctJobs } from "./distinct_jobs.ts";
import { FIXED_SEED_FLAG } from "../verifier-wasm/sampler.ts";
import type { Tokenizer } from "../client/tokenizer/mod.ts";
import type { CompletionRequest } from "./request.ts";
import type { ResolvedModel } from "./models.ts";
import { checkFunds, type ChoiceResult, type JobSettings, rewardFor, runChoice } from "./jobs.ts";

/** One choice, decoded. */
export interface DecodedChoice extends ChoiceResult {
  /** The text, cut at the first stop string. */
  text: string;
  /** The text as it grew token by token (cut like `text`): what a stream sends. */
  pieces: string[];
  /** "stop" (end of turn, or a stop string) or "length". */
  finish: "stop" | "length";
}

/** A finished completion: its choices and token counts. */
export interface Completion {
  /** The model name as asked. */
  model: string;
  /** Prompt tokens. */
  promptTokens: number;
  /** The choices, in order. */
  choices: DecodedChoice[];
}

const distinct = new DistinctJobs();

/** The job seed of choice `i`: the caller's (fixed, so it repeats) or a random one. */
export function jobSeed(seed: number | null, i: number): bigint {
  if (seed === null) {
    const r = crypto.getRandomValues(new BigUint64Array(1))[0];
    return r & (FIXED_SEED_FLAG - 1n);
  }
  return FIXED_SEED_FLAG | BigInt.asUintN(63, BigInt(seed) + BigInt(i));
}

/**
 * Decodes an output: up to its first end-of-generation token (or one of `stopTokens`, e.g. the
 * chat template's end of turn), then cut at the first of the `stop` strings.
 */
export function decodeOutput(
  tok: Tokenizer,
  result: ChoiceResult,
  stop: readonly string[],
  stopTokens: readonly number[] = [],
): DecodedChoice {
  const end = result.outputTokens.findIndex((t) => tok.isEog(t) || stopTokens.includes(t));
  const tokens = end < 0 ? result.outputTokens : result.outputTokens.slice(0, end);
  const grown: string[] = [];
  for (let k = 1; k <= tokens.length; k++) grown.push(tok.detokenize(tokens.slice(0, k)));
  const full = grown.at(-1) ?? "";
  let cut = -1;
  for (const s of stop) {
    const at = full.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  const text = cut >= 0 ? full.slice(0, cut) : full;
  const ended = cut >= 0 || end >= 0;
  const pieces: string[] = [];
  let sent = "";
  for (const g of grown) {
    const now = g.length > text.length ? text : g;
    if (!now.startsWith(sent) || now.endsWith("\ufffd")) continue; // wait for whole characters
    if (now.length > sent.length) pieces.push(now.slice(sent.length));
    sent = now;
    if (now === text) break;
  }
  if (sent !== text) pieces.push(text.slice(sent.length));
  return { ...result, text, pieces, finish: ended ? "stop" : result.finishReason };
}

/**
 * Runs `req` (already tokenized as `prompt`) on `model`: `n` jobs at once, each on its own
 * compute node while there are enough, each paid and verified; the first failure is thrown.
 */
export async function complete(
  o: JobSettings,
  model: ResolvedModel,
  req: CompletionRequest,
  prompt: PromptTokens,
): Promise<Completion> {
  const promptTokens = prompt.tokens;
  const keyed = model.holders.filter((h) => h.key !== null);
  const spread = req.n > 1 && keyed.length >= req.n;
  const expiry = networkParams((await o.node.status()).network).jobs.defaultExpiry;
  const terms = Array.from({ length: req.n }, (_, i) => {
    const seed = jobSeed(req.seed, i);
    const same = [
      model.modelId,
      promptTokens.join(","),
      req.maxTokens,
      seed,
      req.temperature,
      req.topP,
    ]
      .join("|");
    return {
      modelId: model.modelId,
      promptTokens,
      maxTokens: req.maxTokens,
      seed,
      temperature: req.temperature,
      topP: req.topP,
      reward: rewardFor(
        spread ? [keyed[i]] : model.holders,
        promptTokens.length + req.maxTokens,
        o.maxPricePer1k,
      ),
      computeNode: spread ? keyed[i].key : null,
      expiryBlocks: expiry + distinct.next(same),
    };
  });
  // Each job spends an escrow and its fee; the fraud or claim paths may need one fee more.
  await checkFunds(o, terms.reduce((s, t) => s + t.reward + 2n * o.fee, 0n));
  const results = await Promise.allSettled(terms.map((t) => runChoice(o, t)));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return {
    model: req.model,
    promptTokens: promptTokens.length,
    choices: results.map((r) =>
      decodeOutput(
        model.tokenizer,
        (r as PromiseFulfilledResult<ChoiceResult>).value,
        req.stop,
        prompt.stop,
      )
    ),
  };
}
