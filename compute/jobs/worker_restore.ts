/**
 * @module The job worker's restore on start: each job kept in KV is taken back into memory and
 * resumed where it stopped (generation for an assigned job without a stake, the stake transaction
 * and receipt for a staked one, the delivery for a paid one).
 */

import { decodeJob } from "../../chain/job.ts";
import type { StoredJob } from "./job_store.ts";
import { type ActiveJob, log, type WorkerContext } from "./worker_context.ts";
import { deliver } from "./worker_delivery.ts";
import { enqueue } from "./worker_queue.ts";
import { sendReceipt } from "./worker_stake.ts";

/** Takes a stored job back into memory and resumes it. */
export function restoreJob(ctx: WorkerContext, { id, jobBytes, state, output }: StoredJob): void {
  const a: ActiveJob = {
    ...state,
    id,
    job: decodeJob(jobBytes),
    assigned: true,
    output: output ? [...output.tokens] : undefined,
    finishReason: output?.finishReason,
  };
  ctx.jobs.set(id, a);
  log.info("Job {id} restored ({step})", {
    id,
    step: a.payment ? "paid" : a.stake ? "staked" : "assigned",
  });
  if (!a.stakeTx) return enqueue(ctx, a);
  ctx.o.chain.processTx(a.stakeTx).catch(() => {}); // known already, or mined
  if (!a.payment) sendReceipt(ctx, a);
  else if (ctx.o.cheat !== "withhold") deliver(ctx, a).catch(() => {});
}
