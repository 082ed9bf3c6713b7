/**
 * @module The job worker's offer intake: an offer for a model this node serves, that fits its
 * context, expires late enough, is backed by a valid escrow paying at least the smallest reward and
 * leaves enough funds for the stakes is accepted, and holds a queue place for a short time; the
 * others are declined with a signed reason. A withdrawal frees the place; an assignment is recorded
 * in KV and queued for generation.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { equalBytes } from "../../chain/bytes.ts";
import { hash160, sha256d } from "../../chain/hash.ts";
import { decodeJob, encodeJob, type Job } from "../../chain/job.ts";
import { jobEscrowScript } from "../../chain/script.ts";
import { decodeTransaction, txid } from "../../chain/tx.ts";
import type { OfferMessage } from "../../client/job_messages.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { type ActiveJob, log, storedState, type WorkerContext } from "./worker_context.ts";
import { enqueue } from "./worker_queue.ts";
import { sendReceipt } from "./worker_stake.ts";

/** How long an acceptance holds a queue place while the client has not assigned the job (ms). */
export const ACCEPT_HOLD_MS = 15_000;

/**
 * How long an offer whose escrow arrived as an orphan waits for its parents (the client's earlier
 * unconfirmed spends, relayed in batches) before it is declined `bad-escrow`, ms.
 */
export const ESCROW_PARENTS_WAIT_MS = 5_000;

/** Acceptances not yet assigned that still hold a queue place. */
export function heldPlaces(ctx: WorkerContext): number {
  const now = Date.now();
  let held = 0;
  for (const a of ctx.jobs.values()) {
    if (!a.assigned && (a.holdUntil ?? 0) > now) held++;
  }
  return held;
}

/** Jobs that hold a place and will lock a stake: held acceptances and assigned jobs not staked. */
function unstaked(ctx: WorkerContext): number {
  let n = heldPlaces(ctx);
  for (const a of ctx.jobs.values()) if (a.assigned && !a.stakeTx) n++;
  return n;
}

/** Whether every queue place is taken: jobs queued to run (until staked) and held acceptances. */
function full(ctx: WorkerContext): boolean {
  return ctx.queued + heldPlaces(ctx) >= ctx.o.queueSize;
}

/** Value of the escrow output if it is a valid escrow for this job (mempool or chain). */
async function escrowValue(
  ctx: WorkerContext,
  o: { txid: string; vout: number },
  job: Job,
  jobId: Uint8Array,
): Promise<bigint | null> {
  const { chain } = ctx.o;
  const want = jobEscrowScript(jobId, hash160(job.clientKey), job.expiryHeight);
  const pooled = chain.mempool.get(o.txid)?.tx.outputs[o.vout];
  const coin = pooled ?? (await chain.store.getCoins([o]))[0] ?? null;
  if (!coin || !equalBytes(coin.scriptPubKey, want)) return null;
  return coin.value;
}

/** A client's offer: accepted (a queue place held for {@link ACCEPT_HOLD_MS}) or declined. */
export async function onOffer(ctx: WorkerContext, env: Envelope, m: OfferMessage): Promise<void> {
  const bytes = fromHex(m.job);
  const job = decodeJob(bytes);
  const id = toHex(sha256d(bytes));
  const known = ctx.jobs.get(id);
  if (known && (known.assigned || (known.holdUntil ?? 0) > Date.now())) return;
  if (!equalBytes(env.from, job.clientKey)) {
    return log.info("Offer {id} not signed by its client", { id });
  }
  const modelId = toHex(job.modelId);
  const path = ctx.o.models.path(modelId);
  if (!path) return ctx.decline(env.from, id, "model-not-held", `no model ${modelId} here`);
  const context = (await ctx.model(path)).nCtxTrain;
  const needed = job.promptTokens.length + job.maxTokens;
  if (needed > context) {
    return ctx.decline(
      env.from,
      id,
      "context-too-long",
      `prompt ${job.promptTokens.length} + max ${job.maxTokens} tokens exceed the context of ${context}`,
    );
  }
  if (full(ctx)) {
    return ctx.decline(env.from, id, "busy", `all ${ctx.o.queueSize} queue places taken`);
  }
  const { chain } = ctx.o;
  const W = chain.params.jobs.disputeWindow;
  const earliest = chain.tip().height + 2 * W + 5;
  if (job.expiryHeight < earliest) {
    return ctx.decline(
      env.from,
      id,
      "expires-too-soon",
      `expiry height ${job.expiryHeight}, this node needs at least ${earliest}`,
    );
  }
  const escrowTx = fromHex(m.escrowTx);
  if (txid(decodeTransaction(escrowTx)) !== m.escrow.txid) {
    return ctx.decline(env.from, id, "bad-escrow", "the escrow tx is not the named one");
  }
  // Already known, or invalid (then no coin below), or an orphan: an escrow spending the client's
  // change from its previous escrow, whose parent is still on its way through the relay.
  let refused: string | null = null;
  // Named by its sender, so that an orphan is held (per-source limits) rather than refused.
  const admitted = await chain.processTx(escrowTx, `offer:${toHex(env.from)}`).catch((e) => {
    refused = (e as { code?: string }).code ?? "tx/invalid";
    return null;
  });
  let value = await escrowValue(ctx, m.escrow, job, fromHex(id));
  for (
    const end = Date.now() + ESCROW_PARENTS_WAIT_MS;
    value === null && admitted?.status === "orphan" && Date.now() < end;
  ) {
    await new Promise((r) => setTimeout(r, 100));
    value = await escrowValue(ctx, m.escrow, job, fromHex(id));
  }
  if (value === null) {
    return ctx.decline(
      env.from,
      id,
      "bad-escrow",
      `no escrow for this job and client${
        refused ? ` (the escrow tx was refused: ${refused})` : ""
      }`,
    );
  }
  if (value < ctx.o.minReward) {
    return ctx.decline(
      env.from,
      id,
      "reward-too-low",
      `reward ${value} units, this node takes at least ${ctx.o.minReward}`,
    );
  }
  // Every job accepted or queued and not yet staked will lock a stake too.
  const funds = (await ctx.spendable()).reduce((sum, c) => sum + c.value, 0n);
  const stakes = BigInt(unstaked(ctx) + 1) * (ctx.o.stake + ctx.o.fee);
  if (funds < stakes) {
    return ctx.decline(
      env.from,
      id,
      "stake-too-small",
      `${funds} units spendable, the stakes of this job and those waiting need ${stakes}`,
    );
  }
  if (full(ctx)) { // checks above awaited: another offer may have taken the last place
    return ctx.decline(env.from, id, "busy", `all ${ctx.o.queueSize} queue places taken`);
  }
  const active: ActiveJob = {
    id,
    job,
    client: job.clientKey,
    escrow: { ...m.escrow, value },
    holdUntil: Date.now() + ACCEPT_HOLD_MS,
  };
  ctx.jobs.set(id, active);
  ctx.send(env.from, { t: "accept", jobId: id, rewardAddress: ctx.rewardAddress });
  log.info("Offered to take job {id} ({reward} units)", { id, reward: value.toString() });
  // An unassigned acceptance lapses, so other offers can use the queue place.
  setTimeout(() => {
    if (!active.assigned && ctx.jobs.get(id) === active) ctx.jobs.delete(id);
  }, ACCEPT_HOLD_MS);
}

/** The client took another node: the place this acceptance held is free again. */
export function onWithdraw(ctx: WorkerContext, env: Envelope, id: string): void {
  const a = ctx.jobs.get(id);
  if (!a || a.assigned || !equalBytes(env.from, a.client)) return;
  ctx.jobs.delete(id);
  log.info("Offer {id} withdrawn by its client", { id });
}

/**
 * The client took this node: record the assignment in KV, then generate (queued, bounded). A second
 * assignment (the client did not get the receipt) is answered with the receipt again.
 */
export async function onAssign(ctx: WorkerContext, env: Envelope, id: string): Promise<void> {
  const active = ctx.jobs.get(id);
  if (active && !equalBytes(env.from, active.client)) return;
  if (active?.assigned) {
    if (active.stakeTx && !active.payment) sendReceipt(ctx, active);
    return;
  }
  if (!active || (active.holdUntil ?? 0) <= Date.now() && full(ctx)) {
    ctx.jobs.delete(id);
    return ctx.decline(env.from, id, "not-accepted", "no acceptance held for this job");
  }
  active.assigned = true;
  await ctx.store.assign(id, encodeJob(active.job), storedState(active));
  log.info("Assigned job {id}", { id });
  ctx.fault("assigned");
  enqueue(ctx, active);
}
