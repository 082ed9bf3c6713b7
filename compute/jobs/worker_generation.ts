/**
 * @module The job worker's generation: runs an assigned job with llama.cpp (the served model, or on
 * `dev` another one or a changed output when told to cheat) and notes the speed. The output is kept in
 * KV with the stake on it (worker_stake.ts), in one commit before the stake is broadcast.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { generate } from "../generate.ts";
import type { ActiveJob, WorkerContext } from "./worker_context.ts";

/** Generates the output of `a` unless it has one, and keeps it on `a`. */
export async function generateOutput(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  if (a.output && a.finishReason) return;
  const { cheat, models } = ctx.o;
  let path = models.path(toHex(a.job.modelId))!;
  if (cheat === "other-model") {
    path = models.ids().map((i) => models.path(i)!).find((p) => p !== path) ?? path;
  }
  const started = performance.now();
  const record = await generate(await ctx.model(path), toHex(a.job.modelId), {
    promptTokens: a.job.promptTokens,
    maxTokens: a.job.maxTokens,
    sampling: {
      seed: a.job.seed,
      jobId: fromHex(a.id),
      temperature: a.job.temperature,
      topK: a.job.topK,
      topP: a.job.topP,
    },
    threads: ctx.o.threads,
  });
  ctx.speed = record.outputTokens.length / Math.max(1e-3, (performance.now() - started) / 1000);
  let output = record.outputTokens;
  let finish = record.finishReason;
  if (cheat === "change-token" && output.length > 1) {
    const i = Math.floor(output.length / 2);
    output = [...output];
    output[i] = output[i] === 100 ? 101 : 100;
  }
  if (cheat === "truncate" && output.length > 2) {
    output = output.slice(0, Math.ceil(output.length / 2));
    finish = "stop";
  }
  a.output = output;
  a.finishReason = finish;
}
