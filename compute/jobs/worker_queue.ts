/**
 * @module The job worker's queue: assigned jobs run one at a time (generation takes the CPU), each
 * generated, staked and answered with its receipt (then its delivery is encrypted); a job that
 * fails before it is staked is declined `failed` to its client and forgotten.
 */

import { generateOutput } from "./worker_generation.ts";
import { type ActiveJob, log, type WorkerContext } from "./worker_context.ts";
import { prepareDelivery } from "./worker_delivery.ts";
import { sendReceipt, stakeJob } from "./worker_stake.ts";

/** Queues generation, staking and the receipt of an assigned job. */
export function enqueue(ctx: WorkerContext, a: ActiveJob): void {
  ctx.queued++;
  const run = ctx.queue.then(() => work(ctx, a));
  ctx.queue = run.catch((e) => failed(ctx, a, e)).finally(() => ctx.queued--);
}

/**
 * A job that could not be run (generation or staking failed) before anything was staked: the
 * client is told at once (decline `failed`, so it offers again) and the job forgotten.
 */
async function failed(ctx: WorkerContext, a: ActiveJob, e: Error): Promise<void> {
  log.warn("Job {id} failed: {error}", { id: a.id, error: e.message });
  if (a.stakeTx) return; // staked: the receipt went out, the job goes on
  ctx.decline(a.client, a.id, "failed", e.message);
  await ctx.forget(a).catch(() => {});
}

/**
 * Generates the output (kept in KV), builds the stake on its commitment (kept in KV before it is
 * broadcast), broadcasts it and sends the receipt. Resumes from whichever of these a restart found.
 */
async function work(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  await generateOutput(ctx, a);
  await stakeJob(ctx, a);
  sendReceipt(ctx, a);
  prepareDelivery(a);
  log.info("Job {id}: {n} tokens generated, staked in {txid}", {
    id: a.id,
    n: a.output!.length,
    txid: a.stake!.txid,
  });
  ctx.fault("staked");
}
