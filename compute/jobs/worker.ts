/**
 * @module The compute node's job worker: takes offers for models it serves when it can run them (a
 * bounded queue whose places acceptances hold for a short time), declines the others with a signed
 * reason, checks the escrow, generates with llama.cpp, stakes on a commitment to the output, sends
 * the receipt, accepts a payment, delivers the output encrypted to the client, broadcasts the payment
 * once it is mineable (its output is the job's held reward, claimed at the end of its epoch:
 * held_rewards.ts) and releases its stake after the dispute window. Every assignment, output,
 * stake, held payment and delivery is in KV (job_store.ts) before it is acted on; `start()` restores
 * them and resumes. On `dev` it can be told to cheat, for dispute tests.
 */

import { getLogger } from "@logtape/logtape";
import { encrypt } from "eciesjs";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { hash160, sha256d } from "../../chain/hash.ts";
import { decodeJob, encodeJob, type Job } from "../../chain/job.ts";
import {
  type DeclineReason,
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type JobMessage,
  MAX_DECLINE_DETAIL,
  type OfferMessage,
  type PaymentMessage,
} from "../../client/job_messages.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import type { ChainNode } from "../../chain/node.ts";
import {
  heldRewardScriptOfStake,
  jobEscrowScript,
  payToAddressScript,
} from "../../chain/script.ts";
import { decodeTransaction, encodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import { equalBytes } from "../../chain/bytes.ts";
import { parsePay, type PayData } from "../../chain/job_unlock.ts";
import { answerOutput, fundJobOutput, releaseTx, stakeOutput } from "../../chain/job_tx.ts";
import { outputCommitment } from "../../verifier-wasm/rastic.ts";
import { generate } from "../generate.ts";
import type { LlamaModel } from "../llama/llama.ts";
import type { ModelStore } from "../model_store.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { ComputeJobStore, type StoredJob, type StoredJobState } from "./job_store.ts";
import { HeldRewards } from "./held_rewards.ts";
import { inProcessSpendLock, type SpendLock, walletCoins } from "./wallet_coins.ts";

const log = getLogger(["camelid", "compute"]);

/** How long an acceptance holds a queue place while the client has not assigned the job (ms). */
export const ACCEPT_HOLD_MS = 15_000;

/**
 * How long an offer whose escrow arrived as an orphan waits for its parents (the client's earlier
 * unconfirmed spends, relayed in batches) before it is declined `bad-escrow`, ms.
 */
export const ESCROW_PARENTS_WAIT_MS = 5_000;

/** Crash tests (dev only): the steps of the job flow at which `CAMELID_FAULT=job:<step>` kills the node. */
export type JobFault = "assigned" | "staked" | "paid" | "delivered";

/** Ways a dev-network compute node can be told to cheat (dispute tests). */
export type CheatMode =
  | "none"
  | "change-token"
  | "truncate"
  | "other-model"
  | "withhold"
  | "bad-answer";

/** What the worker needs from the network service. */
export interface WorkerNetwork {
  /** Emits "message" events ({ envelope }). */
  events: EventTarget;
  /** Sends a direct payload to a key. */
  send(payload: Uint8Array, to?: Uint8Array | string): unknown;
}

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

/** Options of {@link JobWorker}. */
export interface WorkerOptions {
  /** The node's chain. */
  chain: ChainNode;
  /** The node's network. */
  network: WorkerNetwork;
  /** Models served. */
  models: ModelStore;
  /** Loads a llama model by path (cached by the worker). */
  loadModel: (path: string) => Promise<LlamaModel>;
  /** The node wallet's secret key (stakes, reward address). */
  secretKey: Uint8Array;
  /** Stake per job, base units. */
  stake: bigint;
  /** Smallest reward taken, base units. */
  minReward: bigint;
  /** Jobs queued at most. */
  queueSize?: number;
  /** Generation threads. */
  threads?: number;
  /** Miner fee per transaction, base units. */
  fee?: bigint;
  /** Cheating, dev network only. */
  cheat?: CheatMode;
  /** Where jobs are kept across restarts (default: the chain's KV). */
  store?: ComputeJobStore;
  /** One spender at a time with the node's other spenders, e.g. the sprint duty (default: its own). */
  spendLock?: SpendLock;
}

interface ActiveJob extends StoredJobState {
  id: string;
  job: Job;
  output?: number[];
  finishReason?: "stop" | "length";
  assigned?: boolean;
  /** When an unassigned acceptance stops holding its queue place (ms since the epoch). */
  holdUntil?: number;
}

/** The job worker of a compute node. */
export class JobWorker {
  readonly #o: Required<WorkerOptions>;
  readonly #store: ComputeJobStore;
  readonly #rewards: HeldRewards;
  readonly #jobs = new Map<string, ActiveJob>();
  readonly #models = new Map<string, Promise<LlamaModel>>();
  readonly #contexts = new Map<string, number>();
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #speed: number | null = null;
  /** The node's reward address. */
  readonly rewardAddress: string;

  /** Creates a worker and subscribes to the network and the chain. */
  constructor(options: WorkerOptions) {
    this.#store = options.store ?? new ComputeJobStore(options.chain.store.kv);
    this.#o = {
      queueSize: 4,
      threads: 2,
      fee: 20_000n,
      cheat: "none",
      store: this.#store,
      spendLock: inProcessSpendLock(),
      ...options,
    };
    if (this.#o.cheat !== "none" && options.chain.params.name !== "dev") {
      throw new RangeError("cheat modes exist only on the dev network");
    }
    this.rewardAddress = addressFromPublicKey(publicKeyOf(options.secretKey));
    this.#rewards = new HeldRewards({
      chain: options.chain,
      secretKey: options.secretKey,
      rewardAddress: this.rewardAddress,
      fee: this.#o.fee,
    });
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
      this.#onBlock().catch((err) =>
        log.warn("Job upkeep failed: {error}", { error: (err as Error).message })
      );
    });
  }

  /** Jobs in progress (for status). */
  get active(): number {
    return this.#jobs.size;
  }

  /** Jobs queued or running until staked (generation takes the CPU; the sprint duty yields to it). */
  get running(): number {
    return this.#queued;
  }

  /** What this compute node advertises in `/v1/status`: models, speed, terms. */
  status(): Record<string, unknown> {
    return {
      models: this.#o.models.ids(),
      rewardAddress: this.rewardAddress,
      stake: this.#o.stake.toString(),
      minReward: this.#o.minReward.toString(),
      queue: { active: this.#queued, held: this.#held(), size: this.#o.queueSize },
      contexts: Object.fromEntries(this.#contexts),
      tokensPerSecond: this.#speed === null ? null : Math.round(this.#speed),
      jobs: this.#jobs.size,
      heldRewards: this.#rewards.status(),
    };
  }

  /**
   * Restores the jobs kept in KV and resumes each where it stopped: generation for an assigned job
   * without a stake, the stake transaction and receipt for a staked one, the delivery for a paid one;
   * the payment and the release follow the blocks. Also loads the served models (for their contexts).
   */
  async start(): Promise<void> {
    for (const stored of await this.#store.all()) this.#restore(stored);
    await this.#onBlock().catch((err) =>
      log.warn("Job upkeep failed: {error}", { error: (err as Error).message })
    );
    for (const id of this.#o.models.ids()) {
      this.#model(this.#o.models.path(id)!).then((m) => this.#contexts.set(id, m.nCtxTrain))
        .catch((e) => log.warn("Model {id} not loaded: {error}", { id, error: e.message }));
    }
  }

  #restore({ id, jobBytes, state, output }: StoredJob): void {
    const a: ActiveJob = {
      ...state,
      id,
      job: decodeJob(jobBytes),
      assigned: true,
      output: output ? [...output.tokens] : undefined,
      finishReason: output?.finishReason,
    };
    this.#jobs.set(id, a);
    log.info("Job {id} restored ({step})", {
      id,
      step: a.payment ? "paid" : a.stake ? "staked" : "assigned",
    });
    if (!a.stakeTx) return this.#enqueue(a);
    this.#o.chain.processTx(a.stakeTx).catch(() => {}); // known already, or mined
    if (!a.payment) this.#sendReceipt(a);
    else if (this.#o.cheat !== "withhold") this.#deliver(a).catch(() => {});
  }

  async #onMessage(env: Envelope, m: JobMessage): Promise<void> {
    if (m.t === "offer") return await this.#onOffer(env, m);
    if (m.t === "payment") return await this.#onPayment(env, m);
    if (m.t === "assign") return await this.#onAssign(env, m.jobId);
    if (m.t === "withdraw") return this.#onWithdraw(env, m.jobId);
  }

  /** Acceptances not yet assigned that still hold a queue place. */
  #held(): number {
    const now = Date.now();
    let held = 0;
    for (const a of this.#jobs.values()) {
      if (!a.assigned && (a.holdUntil ?? 0) > now) held++;
    }
    return held;
  }

  /** Jobs that hold a place and will lock a stake: held acceptances and assigned jobs not staked. */
  #unstaked(): number {
    let n = this.#held();
    for (const a of this.#jobs.values()) if (a.assigned && !a.stakeTx) n++;
    return n;
  }

  /** Whether every queue place is taken: jobs queued to run (until staked) and held acceptances. */
  #full(): boolean {
    return this.#queued + this.#held() >= this.#o.queueSize;
  }

  #decline(to: Uint8Array, id: string, reason: DeclineReason, detail: string): void {
    log.info("Offer {id} declined ({reason}): {detail}", { id, reason, detail });
    this.#send(to, {
      t: "decline",
      jobId: id,
      reason,
      detail: detail.slice(0, MAX_DECLINE_DETAIL),
    });
  }

  async #onOffer(env: Envelope, m: OfferMessage): Promise<void> {
    const bytes = fromHex(m.job);
    const job = decodeJob(bytes);
    const id = toHex(sha256d(bytes));
    const known = this.#jobs.get(id);
    if (known && (known.assigned || (known.holdUntil ?? 0) > Date.now())) return;
    if (!equalBytes(env.from, job.clientKey)) {
      return log.info("Offer {id} not signed by its client", { id });
    }
    const modelId = toHex(job.modelId);
    const path = this.#o.models.path(modelId);
    if (!path) return this.#decline(env.from, id, "model-not-held", `no model ${modelId} here`);
    const context = (await this.#model(path)).nCtxTrain;
    const needed = job.promptTokens.length + job.maxTokens;
    if (needed > context) {
      return this.#decline(
        env.from,
        id,
        "context-too-long",
        `prompt ${job.promptTokens.length} + max ${job.maxTokens} tokens exceed the context of ${context}`,
      );
    }
    if (this.#full()) {
      return this.#decline(env.from, id, "busy", `all ${this.#o.queueSize} queue places taken`);
    }
    const { chain } = this.#o;
    const W = chain.params.jobs.disputeWindow;
    const earliest = chain.tip().height + 2 * W + 5;
    if (job.expiryHeight < earliest) {
      return this.#decline(
        env.from,
        id,
        "expires-too-soon",
        `expiry height ${job.expiryHeight}, this node needs at least ${earliest}`,
      );
    }
    const escrowTx = fromHex(m.escrowTx);
    if (txid(decodeTransaction(escrowTx)) !== m.escrow.txid) {
      return this.#decline(env.from, id, "bad-escrow", "the escrow tx is not the named one");
    }
    // Already known, or invalid (then no coin below), or an orphan: an escrow spending the client's
    // change from its previous escrow, whose parent is still on its way through the relay.
    let refused: string | null = null;
    // Named by its sender, so that an orphan is held (per-source limits) rather than refused.
    const admitted = await chain.processTx(escrowTx, `offer:${toHex(env.from)}`).catch((e) => {
      refused = (e as { code?: string }).code ?? "tx/invalid";
      return null;
    });
    let escrowValue = await this.#escrowValue(m.escrow, job, fromHex(id));
    for (
      const end = Date.now() + ESCROW_PARENTS_WAIT_MS;
      escrowValue === null && admitted?.status === "orphan" && Date.now() < end;
    ) {
      await new Promise((r) => setTimeout(r, 100));
      escrowValue = await this.#escrowValue(m.escrow, job, fromHex(id));
    }
    if (escrowValue === null) {
      return this.#decline(
        env.from,
        id,
        "bad-escrow",
        `no escrow for this job and client${
          refused ? ` (the escrow tx was refused: ${refused})` : ""
        }`,
      );
    }
    if (escrowValue < this.#o.minReward) {
      return this.#decline(
        env.from,
        id,
        "reward-too-low",
        `reward ${escrowValue} units, this node takes at least ${this.#o.minReward}`,
      );
    }
    // Every job accepted or queued and not yet staked will lock a stake too.
    const funds = (await this.#spendable()).reduce((sum, c) => sum + c.value, 0n);
    const stakes = BigInt(this.#unstaked() + 1) * (this.#o.stake + this.#o.fee);
    if (funds < stakes) {
      return this.#decline(
        env.from,
        id,
        "stake-too-small",
        `${funds} units spendable, the stakes of this job and those waiting need ${stakes}`,
      );
    }
    if (this.#full()) { // checks above awaited: another offer may have taken the last place
      return this.#decline(env.from, id, "busy", `all ${this.#o.queueSize} queue places taken`);
    }
    const active: ActiveJob = {
      id,
      job,
      client: job.clientKey,
      escrow: { ...m.escrow, value: escrowValue },
      holdUntil: Date.now() + ACCEPT_HOLD_MS,
    };
    this.#jobs.set(id, active);
    this.#send(env.from, { t: "accept", jobId: id, rewardAddress: this.rewardAddress });
    log.info("Offered to take job {id} ({reward} units)", { id, reward: escrowValue.toString() });
    // An unassigned acceptance lapses, so other offers can use the queue place.
    setTimeout(() => {
      if (!active.assigned && this.#jobs.get(id) === active) this.#jobs.delete(id);
    }, ACCEPT_HOLD_MS);
  }

  /** The client took another node: the place this acceptance held is free again. */
  #onWithdraw(env: Envelope, id: string): void {
    const a = this.#jobs.get(id);
    if (!a || a.assigned || !equalBytes(env.from, a.client)) return;
    this.#jobs.delete(id);
    log.info("Offer {id} withdrawn by its client", { id });
  }

  /**
   * The client took this node: record the assignment in KV, then generate (queued, bounded). A second
   * assignment (the client did not get the receipt) is answered with the receipt again.
   */
  async #onAssign(env: Envelope, id: string): Promise<void> {
    const active = this.#jobs.get(id);
    if (active && !equalBytes(env.from, active.client)) return;
    if (active?.assigned) {
      if (active.stakeTx && !active.payment) this.#sendReceipt(active);
      return;
    }
    if (!active || (active.holdUntil ?? 0) <= Date.now() && this.#full()) {
      this.#jobs.delete(id);
      return this.#decline(env.from, id, "not-accepted", "no acceptance held for this job");
    }
    active.assigned = true;
    await this.#store.assign(id, encodeJob(active.job), this.#stored(active));
    log.info("Assigned job {id}", { id });
    this.#fault("assigned");
    this.#enqueue(active);
  }

  /** Queues generation, staking and the receipt of an assigned job. */
  #enqueue(a: ActiveJob): void {
    this.#queued++;
    const run = this.#queue.then(() => this.#work(a));
    this.#queue = run.catch((e) => this.#failed(a, e)).finally(() => this.#queued--);
  }

  /**
   * A job that could not be run (generation or staking failed) before anything was staked: the
   * client is told at once (decline `failed`, so it offers again) and the job forgotten.
   */
  async #failed(a: ActiveJob, e: Error): Promise<void> {
    log.warn("Job {id} failed: {error}", { id: a.id, error: e.message });
    if (a.stakeTx) return; // staked: the receipt went out, the job goes on
    this.#decline(a.client, a.id, "failed", e.message);
    await this.#forget(a).catch(() => {});
  }

  /** Crash tests (dev only): die the hard way at a step of the job flow named by `CAMELID_FAULT`. */
  #fault(step: JobFault): void {
    if (this.#o.chain.params.name === "dev" && Deno.env.get("CAMELID_FAULT") === `job:${step}`) {
      Deno.kill(Deno.pid, "SIGKILL");
    }
  }

  /** The part of a job kept in KV. */
  #stored(a: ActiveJob): StoredJobState {
    const { id: _id, job: _job, output: _o, finishReason: _f, assigned: _a, holdUntil: _h, ...s } =
      a;
    return s;
  }

  async #save(a: ActiveJob): Promise<void> {
    await this.#store.saveState(a.id, this.#stored(a));
  }

  /** Value of the escrow output if it is a valid escrow for this job (mempool or chain). */
  async #escrowValue(
    o: { txid: string; vout: number },
    job: Job,
    jobId: Uint8Array,
  ): Promise<bigint | null> {
    const { chain } = this.#o;
    const want = jobEscrowScript(jobId, hash160(job.clientKey), job.expiryHeight);
    const pooled = chain.mempool.get(o.txid)?.tx.outputs[o.vout];
    const coin = pooled ?? (await chain.store.getCoins([o]))[0] ?? null;
    if (!coin || !equalBytes(coin.scriptPubKey, want)) return null;
    return coin.value;
  }

  async #model(path: string): Promise<LlamaModel> {
    let m = this.#models.get(path);
    if (!m) {
      m = this.#o.loadModel(path);
      this.#models.set(path, m);
    }
    return await m;
  }

  /**
   * Generates the output (kept in KV), builds the stake on its commitment (kept in KV before it is
   * broadcast), broadcasts it and sends the receipt. Resumes from whichever of these a restart found.
   */
  async #work(a: ActiveJob): Promise<void> {
    const { chain, cheat } = this.#o;
    const jobId = fromHex(a.id);
    if (!a.output || !a.finishReason) {
      let path = this.#o.models.path(toHex(a.job.modelId))!;
      if (cheat === "other-model") {
        path = this.#o.models.ids().map((i) => this.#o.models.path(i)!).find((p) => p !== path) ??
          path;
      }
      const started = performance.now();
      const record = await generate(await this.#model(path), toHex(a.job.modelId), {
        promptTokens: a.job.promptTokens,
        maxTokens: a.job.maxTokens,
        sampling: {
          seed: a.job.seed,
          jobId,
          temperature: a.job.temperature,
          topK: a.job.topK,
          topP: a.job.topP,
        },
        threads: this.#o.threads,
      });
      this.#speed = record.outputTokens.length /
        Math.max(1e-3, (performance.now() - started) / 1000);
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
      await this.#store.saveOutput(a.id, {
        tokens: Uint32Array.from(output),
        finishReason: finish,
      });
      a.output = output;
      a.finishReason = finish;
    }
    if (!a.stakeTx) {
      const commitment = outputCommitment(jobId, a.output, a.finishReason);
      const me = hash160(publicKeyOf(this.#o.secretKey));
      const stake = stakeOutput(jobId, me, hash160(a.client), commitment, this.#o.stake);
      await this.#o.spendLock(async () => {
        const { tx, bytes } = fundJobOutput(stake, jobId, {
          utxos: await this.#spendable(),
          secretKey: this.#o.secretKey,
          fee: this.#o.fee,
        });
        a.stake = { txid: txid(tx), vout: 0, value: this.#o.stake, script: stake.scriptPubKey };
        a.stakeTx = bytes;
        await this.#save(a);
        await chain.processTx(bytes);
      });
    }
    this.#sendReceipt(a);
    log.info("Job {id}: {n} tokens generated, staked in {txid}", {
      id: a.id,
      n: a.output.length,
      txid: a.stake!.txid,
    });
    this.#fault("staked");
  }

  /** Sends the receipt of a staked job to its client. */
  #sendReceipt(a: ActiveJob): void {
    this.#send(a.client, {
      t: "receipt",
      jobId: a.id,
      commitment: toHex(outputCommitment(fromHex(a.id), a.output!, a.finishReason!)),
      tokenCount: a.output!.length,
      finishReason: a.finishReason!,
      rewardAddress: this.rewardAddress,
      stake: { txid: a.stake!.txid, vout: a.stake!.vout },
      stakeTx: toHex(a.stakeTx!),
    });
  }

  /** Sends the encrypted output to the client and records that it was sent. */
  async #deliver(a: ActiveJob): Promise<void> {
    this.#send(a.client, { t: "delivery", jobId: a.id, ciphertext: toHex(this.#ciphertext(a)) });
    if (!a.delivered) {
      a.delivered = true;
      await this.#save(a);
    }
  }

  /**
   * The client's payment: checked, kept in KV, then answered with the delivery. A payment for a job
   * already paid (the client did not get the delivery) is answered with the delivery again.
   */
  async #onPayment(env: Envelope, m: PaymentMessage): Promise<void> {
    const a = this.#jobs.get(m.jobId);
    if (!a || !a.stake || !a.output) {
      return log.info("Payment for unknown or unfinished job {id}", { id: m.jobId });
    }
    if (!equalBytes(env.from, a.client)) {
      return log.info("Payment for {id} not from its client", { id: m.jobId });
    }
    if (a.payment) {
      if (this.#o.cheat === "withhold") return;
      log.info("Second payment for {id}: delivering again", { id: m.jobId });
      return await this.#deliver(a);
    }
    const bytes = fromHex(m.tx);
    const tx = decodeTransaction(bytes);
    const reason = this.#checkPayment(a, tx);
    if (reason) return log.warn("Payment for {id} refused: {reason}", { id: m.jobId, reason });
    a.payment = bytes;
    await this.#save(a);
    this.#fault("paid");
    if (this.#o.cheat === "withhold") {
      return log.warn("Withholding the output of {id} (cheat)", { id: a.id });
    }
    await this.#deliver(a);
    log.info("Job {id} paid; output delivered encrypted", { id: a.id });
    this.#fault("delivered");
    await this.#onBlock();
  }

  /** Why a payment transaction is unacceptable, or null. */
  #checkPayment(a: ActiveJob, tx: Transaction): string | null {
    if (tx.inputs.length !== 1) return "a payment spends exactly the escrow";
    const inp = tx.inputs[0];
    if (toHex(inp.prevout.txid) !== a.escrow.txid || inp.prevout.vout !== a.escrow.vout) {
      return "it does not spend the escrow";
    }
    let pay: PayData;
    try {
      pay = parsePay(inp.scriptSig);
    } catch {
      return "not a PAY spend";
    }
    if (pay.stake.txid !== a.stake!.txid) return "it names another stake";
    if (!equalBytes(pay.pubkey, a.client)) return "not signed by the client";
    const held = heldRewardScriptOfStake(a.stake!.script);
    const paid = tx.outputs.reduce(
      (s, o) => equalBytes(o.scriptPubKey, held) ? s + o.value : s,
      0n,
    );
    if (paid + 100_000n < a.escrow.value) {
      return `it pays ${paid}, the escrow holds ${a.escrow.value}`;
    }
    return null;
  }

  /**
   * Per block: record stake heights, broadcast mineable payments (each recorded as a held reward
   * first), release matured stakes, claim the held rewards whose epoch ended.
   */
  async #onBlock(): Promise<void> {
    const { chain } = this.#o;
    const W = chain.params.jobs.disputeWindow;
    const next = chain.tip().height + 1;
    for (const a of this.#jobs.values()) {
      if (a.stake && a.stakeHeight === undefined) {
        const loc = await chain.getTransaction(a.stake.txid);
        if (loc?.height != null) {
          a.stakeHeight = loc.height;
          if (a.assigned) await this.#save(a);
        }
      }
      if (a.stakeHeight === undefined || !a.stake) continue;
      await this.#answerClaims(a);
      const payment = a.payment;
      if (payment && !a.paymentSent && next >= a.stakeHeight + W) {
        await broadcastOrGiveUp(a, "Job {id}: payment not accepted: {error}", async () => {
          const tx = decodeTransaction(payment);
          await this.#rewards.add({
            jobId: a.id,
            payment: txid(tx),
            escrow: { txid: a.escrow.txid, vout: a.escrow.vout },
            value: tx.outputs[0].value,
          });
          await chain.processTx(payment);
          a.paymentSent = true;
          await this.#save(a);
          log.info("Job {id}: payment broadcast", { id: a.id });
        }, async () => {
          a.paymentSent = true;
          await this.#save(a);
        });
      }
      if (!a.released && next >= a.stakeHeight + 2 * W) {
        await broadcastOrGiveUp(a, "Job {id}: stake not released: {error}", async () => {
          await this.#release(a);
          a.released = true;
        }, async () => {
          a.released = true;
          await this.#forget(a);
        });
      }
    }
    await this.#rewards.onBlock();
  }

  /** Answers a client's non-delivery claim by publishing the encrypted output on chain. */
  async #answerClaims(a: ActiveJob): Promise<void> {
    const { chain } = this.#o;
    const notices = await chain.notices(`${a.stake!.txid}:${a.stake!.vout}`);
    const claim = Math.max(-1, ...notices.filter((n) => n.kind === "claim").map((n) => n.height));
    const answer = Math.max(-1, ...notices.filter((n) => n.kind === "answer").map((n) => n.height));
    if (claim < 0 || answer >= claim || a.answering === claim || !a.output) return;
    a.answering = claim;
    await this.#save(a);
    if (this.#o.cheat === "withhold") {
      return log.warn("Job {id}: not answering the claim (cheat)", { id: a.id });
    }
    const answerOut = answerOutput(
      a.stake!,
      this.#o.cheat === "bad-answer"
        ? this.#ciphertext({ ...a, output: a.output.map((t) => t ^ 1) })
        : this.#ciphertext(a),
    );
    const { txid: answerTxid } = await this.#o.spendLock(async () => {
      const { bytes } = fundJobOutput(answerOut, fromHex(a.id), {
        utxos: await this.#spendable(),
        secretKey: this.#o.secretKey,
        fee: this.#o.fee * 4n,
      });
      return await chain.processTx(bytes);
    });
    log.info("Job {id}: answered the client's claim on chain ({txid})", {
      id: a.id,
      txid: answerTxid,
    });
  }

  /** The output, encrypted to the client's key. */
  #ciphertext(a: ActiveJob): Uint8Array {
    const plaintext = new TextEncoder().encode(
      JSON.stringify({ outputTokens: a.output, finishReason: a.finishReason }),
    );
    return encrypt(toHex(a.client), plaintext);
  }

  /** The node wallet's coins it can spend now (wallet_coins.ts). */
  async #spendable() {
    return await walletCoins(this.#o.chain, this.rewardAddress);
  }

  async #release(a: ActiveJob): Promise<void> {
    const { chain } = this.#o;
    const coin = (await chain.store.getCoins([{ txid: a.stake!.txid, vout: a.stake!.vout }]))[0];
    if (!coin) {
      log.warn("Job {id}: the stake is gone (slashed?)", { id: a.id });
      return await this.#forget(a);
    }
    const tx = releaseTx(
      { ...a.stake!, value: coin.value, scriptPubKey: coin.scriptPubKey },
      { payTo: payToAddressScript(this.rewardAddress), fee: this.#o.fee },
      fromHex(a.id),
      this.#o.secretKey,
    );
    await chain.processTx(encodeTransaction(tx));
    log.info("Job {id}: stake released ({txid})", { id: a.id, txid: txid(tx) });
    await this.#forget(a);
  }

  /** Drops a finished job, from memory and KV. */
  async #forget(a: ActiveJob): Promise<void> {
    this.#jobs.delete(a.id);
    await this.#store.remove(a.id);
  }

  #send(to: Uint8Array, m: JobMessage): void {
    try {
      this.#o.network.send(encodeJobMessage(m), to);
    } catch (e) {
      log.warn("Job message not sent: {error}", { error: (e as Error).message });
    }
  }
}
