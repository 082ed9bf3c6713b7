/**
 * @module The job worker's upkeep per block: notes the height of each stake, answers claims,
 * broadcasts payments once mineable (after a dispute window), releases stakes once they mature
 * (after two), and claims the held rewards and the undistributed validation pools whose epoch
 * ended, and the validator rewards paid to the node's key (validator_rewards.ts), submitting the
 * kept distributions paying it once their payments are known (distribution_keeper.ts). A refused spend is
 * retried on a later block when its code says a block may cure it, and given up otherwise.
 */

import { fromHex } from "../../chain/bytes.ts";
import { releaseTx } from "../../chain/job_tx.ts";
import { payToAddressScript } from "../../chain/script.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import { type ActiveJob, log, type WorkerContext } from "./worker_context.ts";
import { answerClaims } from "./worker_delivery.ts";
import { broadcastPayment } from "./worker_payment.ts";

/** Codes of a refused job spend that a later block may cure (a window not yet open, a pending claim). */
const RETRYABLE_SPEND_CODES = new Set([
  "job/dispute-window",
  "job/claim-pending",
  "job/answer-window",
]);

/**
 * Runs a job spend `step` of job `a`; when it is refused, logs `warning` (a template of `{id}` and
 * `{error}`) and, unless its code is one a later block may cure, runs `giveUp`.
 */
async function broadcastOrGiveUp(
  a: { id: string },
  warning: string,
  step: () => Promise<void>,
  giveUp: () => Promise<void>,
): Promise<void> {
  try {
    await step();
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    log.warn(warning, { id: a.id, error: (e as Error).message });
    if (!RETRYABLE_SPEND_CODES.has(code)) await giveUp();
  }
}

/** Releases a matured stake to the node's wallet (or forgets the job when the stake is gone). */
async function release(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  const { chain } = ctx.o;
  const coin = (await chain.store.getCoins([{ txid: a.stake!.txid, vout: a.stake!.vout }]))[0];
  if (!coin) {
    log.warn("Job {id}: the stake is gone (slashed?)", { id: a.id });
    return await ctx.forget(a);
  }
  const tx = releaseTx(
    { ...a.stake!, value: coin.value, scriptPubKey: coin.scriptPubKey },
    { payTo: payToAddressScript(ctx.rewardAddress), fee: ctx.o.fee },
    fromHex(a.id),
    ctx.o.secretKey,
  );
  await chain.processTx(encodeTransaction(tx));
  log.info("Job {id}: stake released ({txid})", { id: a.id, txid: txid(tx) });
  await ctx.forget(a);
}

/**
 * Per block: record stake heights, broadcast mineable payments (each recorded as a held reward
 * first), release matured stakes, claim the held rewards and the undistributed pools whose epoch
 * ended; submit the kept distributions paying the node; find and claim its validator rewards.
 */
export async function onBlock(ctx: WorkerContext): Promise<void> {
  const { chain } = ctx.o;
  const W = chain.params.jobs.disputeWindow;
  const next = chain.tip().height + 1;
  for (const a of ctx.jobs.values()) {
    if (a.stake && a.stakeHeight === undefined) {
      const loc = await chain.getTransaction(a.stake.txid);
      if (loc?.height != null) {
        a.stakeHeight = loc.height;
        if (a.assigned) await ctx.save(a);
      }
    }
    if (a.stakeHeight === undefined || !a.stake) continue;
    await answerClaims(ctx, a);
    if (a.payment && !a.paymentSent && next >= a.stakeHeight + W) {
      await broadcastOrGiveUp(
        a,
        "Job {id}: payment not accepted: {error}",
        () => broadcastPayment(ctx, a),
        async () => {
          a.paymentSent = true;
          await ctx.save(a);
        },
      );
    }
    if (!a.released && next >= a.stakeHeight + 2 * W) {
      await broadcastOrGiveUp(a, "Job {id}: stake not released: {error}", async () => {
        await release(ctx, a);
        a.released = true;
      }, async () => {
        a.released = true;
        await ctx.forget(a);
      });
    }
  }
  await ctx.rewards.onBlock();
  await ctx.pools.onBlock();
  await ctx.distributions.onBlock();
  await ctx.validatorRewards.onBlock();
}
