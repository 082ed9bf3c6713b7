/**
 * @module The compute node's job worker: takes offers for models it serves when it can run them (a
 * bounded queue whose places acceptances hold for a short time), declines the others with a signed
 * reason, checks the escrow, generates with llama.cpp, stakes on a commitment to the output, sends
 * the receipt, accepts a payment, delivers the output encrypted to the client, broadcasts the payment
 * once it is mineable (its output is the job's held reward, claimed at the end of its epoch:
 * held_rewards.ts) and releases its stake after the dispute window. Every assignment, output,
 * stake, held payment and delivery is in KV (job_store.ts) before it is acted on; `start()` restores
 * them and resumes. On `dev` it can be told to cheat, for dispute tests.
 *
 * This file wires the parts together: worker_context.ts (shared state), worker_offers.ts (offers,
 * withdrawals, assignments), worker_queue.ts with worker_generation.ts and worker_stake.ts (generation,
 * stake, receipt), worker_payment.ts (payments, held reward hand-off), worker_delivery.ts (delivery,
 * claim answers), worker_upkeep.ts (per block) and worker_restore.ts (start).
 */

import { decodeJobMessage, isJobPayload, type JobMessage } from "../../client/job_messages.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { log, WorkerContext, type WorkerOptions } from "./worker_context.ts";
import { heldPlaces, onAssign, onOffer, onWithdraw } from "./worker_offers.ts";
import { onPayment } from "./worker_payment.ts";
import { restoreJob } from "./worker_restore.ts";
import { onBlock } from "./worker_upkeep.ts";

export type { CheatMode, JobFault, WorkerNetwork, WorkerOptions } from "./worker_context.ts";
export { ACCEPT_HOLD_MS, ESCROW_PARENTS_WAIT_MS } from "./worker_offers.ts";

/** The job worker of a compute node. */
export class JobWorker {
  readonly #ctx: WorkerContext;
  /** The node's reward address. */
  readonly rewardAddress: string;

  /** Creates a worker and subscribes to the network and the chain. */
  constructor(options: WorkerOptions) {
    this.#ctx = new WorkerContext(options);
    this.rewardAddress = this.#ctx.rewardAddress;
    options.network.events.addEventListener("message", (e) => {
      const env = (e as CustomEvent<{ envelope: Envelope }>).detail.envelope;
      if (env.type !== "direct" || !isJobPayload(env.payload)) return;
      let m: JobMessage;
      try {
        m = decodeJobMessage(env.payload);
      } catch (err) {
        log.debug("Ignored a malformed job message: {error}", { error: (err as Error).message });
        return;
      }
      this.#onMessage(env, m).catch((err) =>
        log.warn("Job message failed: {error}", { error: (err as Error).message })
      );
    });
    options.chain.events.addEventListener("block", () => {
      onBlock(this.#ctx).catch((err) =>
        log.warn("Job upkeep failed: {error}", { error: (err as Error).message })
      );
    });
  }

  /** Jobs in progress (for status). */
  get active(): number {
    return this.#ctx.jobs.size;
  }

  /** Jobs queued or running until staked (generation takes the CPU; the sprint duty yields to it). */
  get running(): number {
    return this.#ctx.queued;
  }

  /** What this compute node advertises in `/v1/status`: models, speed, terms. */
  status(): Record<string, unknown> {
    const ctx = this.#ctx;
    return {
      models: ctx.o.models.ids(),
      rewardAddress: this.rewardAddress,
      stake: ctx.o.stake.toString(),
      minReward: ctx.o.minReward.toString(),
      queue: { active: ctx.queued, held: heldPlaces(ctx), size: ctx.o.queueSize },
      contexts: Object.fromEntries(ctx.contexts),
      tokensPerSecond: ctx.speed === null ? null : Math.round(ctx.speed),
      jobs: ctx.jobs.size,
      heldRewards: ctx.rewards.status(),
      pools: ctx.pools.status(),
      validatorRewards: ctx.validatorRewards.status(),
      distributionsKept: ctx.distributions.kept,
    };
  }

  /**
   * Restores the jobs kept in KV and resumes each where it stopped: generation for an assigned job
   * without a stake, the stake transaction and receipt for a staked one, the delivery for a paid one;
   * the payment and the release follow the blocks. Also loads the served models (for their contexts).
   */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    for (const stored of await ctx.store.all()) restoreJob(ctx, stored);
    await onBlock(ctx).catch((err) =>
      log.warn("Job upkeep failed: {error}", { error: (err as Error).message })
    );
    for (const id of ctx.o.models.ids()) {
      ctx.model(ctx.o.models.path(id)!).then((m) => ctx.contexts.set(id, m.nCtxTrain))
        .catch((e) => log.warn("Model {id} not loaded: {error}", { id, error: e.message }));
    }
  }

  async #onMessage(env: Envelope, m: JobMessage): Promise<void> {
    const ctx = this.#ctx;
    if (m.t === "offer") return await onOffer(ctx, env, m);
    if (m.t === "payment") {
      if (await onPayment(ctx, env, m)) await onBlock(ctx);
      return;
    }
    if (m.t === "assign") return await onAssign(ctx, env, m.jobId);
    if (m.t === "withdraw") return onWithdraw(ctx, env, m.jobId);
    if (m.t === "distribution") await ctx.distributions.receive(env.from, m);
  }
}
