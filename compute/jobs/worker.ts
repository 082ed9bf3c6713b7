/**
 * @module The compute node's job worker: takes offers for models it serves (bounded queue), checks the
 * escrow, generates with llama.cpp, stakes on a commitment to the output, sends the receipt, accepts a
 * payment, delivers the output encrypted to the client, broadcasts the payment once it is mineable and
 * releases its stake after the dispute window. On `dev` it can be told to cheat, for dispute tests.
 */

import { getLogger } from "@logtape/logtape";
import { encrypt } from "eciesjs";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { hash160, sha256d } from "../../chain/hash.ts";
import { decodeJob, type Job } from "../../chain/job.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type JobMessage,
  type OfferMessage,
  type PaymentMessage,
} from "../../client/job_messages.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import type { ChainNode } from "../../chain/node.ts";
import { jobEscrowScript, parseOutputScript, payToAddressScript } from "../../chain/script.ts";
import { decodeTransaction, encodeTransaction, type Transaction, txid } from "../../chain/tx.ts";
import { equalBytes } from "../../chain/bytes.ts";
import { parsePay, type PayData } from "../../chain/job_unlock.ts";
import { answerOutput, fundJobOutput, releaseTx, stakeOutput } from "../../chain/job_tx.ts";
import { outputCommitment } from "../../verifier-wasm/rastic.ts";
import { generate } from "../generate.ts";
import type { LlamaModel } from "../llama/llama.ts";
import type { ModelStore } from "../model_store.ts";
import type { Envelope } from "../../relay/envelope.ts";

const log = getLogger(["camelid", "compute"]);

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
}

interface ActiveJob {
  id: string;
  job: Job;
  client: Uint8Array;
  escrow: { txid: string; vout: number; value: bigint };
  output?: number[];
  finishReason?: "stop" | "length";
  stake?: { txid: string; vout: number; value: bigint; script: Uint8Array };
  stakeHeight?: number;
  payment?: Uint8Array;
  assigned?: boolean;
  paymentSent?: boolean;
  answering?: number;
  released?: boolean;
}

/** The job worker of a compute node. */
export class JobWorker {
  readonly #o: Required<WorkerOptions>;
  readonly #jobs = new Map<string, ActiveJob>();
  readonly #models = new Map<string, Promise<LlamaModel>>();
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #speed: number | null = null;
  /** The node's reward address. */
  readonly rewardAddress: string;

  /** Creates a worker and subscribes to the network and the chain. */
  constructor(options: WorkerOptions) {
    this.#o = { queueSize: 4, threads: 2, fee: 20_000n, cheat: "none", ...options };
    if (this.#o.cheat !== "none" && options.chain.params.name !== "dev") {
      throw new RangeError("cheat modes exist only on the dev network");
    }
    this.rewardAddress = addressFromPublicKey(publicKeyOf(options.secretKey));
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

  /** What this compute node advertises in `/v1/status`: models, speed, terms. */
  status(): Record<string, unknown> {
    return {
      models: this.#o.models.ids(),
      rewardAddress: this.rewardAddress,
      stake: this.#o.stake.toString(),
      minReward: this.#o.minReward.toString(),
      queue: { active: this.#queued, size: this.#o.queueSize },
      tokensPerSecond: this.#speed === null ? null : Math.round(this.#speed),
      jobs: this.#jobs.size,
    };
  }

  async #onMessage(env: Envelope, m: JobMessage): Promise<void> {
    if (m.t === "offer") return await this.#onOffer(env, m);
    if (m.t === "payment") return await this.#onPayment(env, m);
    if (m.t === "assign") return this.#onAssign(env, m.jobId);
  }

  async #onOffer(env: Envelope, m: OfferMessage): Promise<void> {
    const bytes = fromHex(m.job);
    const job = decodeJob(bytes);
    const id = toHex(sha256d(bytes));
    if (this.#jobs.has(id)) return;
    if (!equalBytes(env.from, job.clientKey)) {
      return log.info("Offer {id} not signed by its client", { id });
    }
    const modelId = toHex(job.modelId);
    if (!this.#o.models.path(modelId)) return;
    if (this.#queued >= this.#o.queueSize) {
      return log.info("Queue full, offer {id} declined", { id });
    }
    const { chain } = this.#o;
    const W = chain.params.jobs.disputeWindow;
    if (job.expiryHeight < chain.tip().height + 2 * W + 5) {
      return log.info("Offer {id} expires too soon", { id });
    }
    const escrowTx = fromHex(m.escrowTx);
    if (txid(decodeTransaction(escrowTx)) !== m.escrow.txid) {
      return log.info("Offer {id}: escrow tx mismatch", { id });
    }
    await chain.processTx(escrowTx).catch(() => {}); // already known, or invalid (then no coin below)
    const escrowValue = await this.#escrowValue(m.escrow, job, fromHex(id));
    if (escrowValue === null) return log.info("Offer {id} has no valid escrow", { id });
    if (escrowValue < this.#o.minReward) return log.info("Offer {id} pays too little", { id });
    const funds = (await this.#spendable()).reduce((sum, c) => sum + c.value, 0n);
    if (funds < this.#o.stake + this.#o.fee) {
      return log.info("Offer {id} declined: {funds} spendable, the stake needs more", {
        id,
        funds: funds.toString(),
      });
    }
    const active: ActiveJob = {
      id,
      job,
      client: job.clientKey,
      escrow: { ...m.escrow, value: escrowValue },
    };
    this.#jobs.set(id, active);
    this.#send(env.from, { t: "accept", jobId: id, rewardAddress: this.rewardAddress });
    log.info("Offered to take job {id} ({reward} units)", { id, reward: escrowValue.toString() });
    // An unassigned acceptance lapses, so other offers can use the queue place.
    setTimeout(() => {
      if (!active.assigned && this.#jobs.get(id) === active) this.#jobs.delete(id);
    }, 60_000);
  }

  /** The client took this node: generate (queued, bounded). */
  #onAssign(env: Envelope, id: string): void {
    const active = this.#jobs.get(id);
    if (!active || active.assigned || !equalBytes(env.from, active.client)) return;
    if (this.#queued >= this.#o.queueSize) return log.info("Queue full, job {id} dropped", { id });
    active.assigned = true;
    log.info("Assigned job {id}", { id });
    // Crash tests (dev only): die the hard way right after taking a job.
    if (this.#o.chain.params.name === "dev" && Deno.env.get("CAMELID_FAULT") === "job:assigned") {
      Deno.kill(Deno.pid, "SIGKILL");
    }
    this.#queued++;
    const run = this.#queue.then(() => this.#work(active, env.from));
    this.#queue = run.catch((e) => log.warn("Job {id} failed: {error}", { id, error: e.message }))
      .finally(() => this.#queued--);
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

  async #work(a: ActiveJob, client: Uint8Array): Promise<void> {
    const { chain, cheat } = this.#o;
    const jobId = fromHex(a.id);
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
    this.#speed = record.outputTokens.length / Math.max(1e-3, (performance.now() - started) / 1000);
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
    const commitment = outputCommitment(jobId, output, finish);
    const me = hash160(publicKeyOf(this.#o.secretKey));
    const stake = stakeOutput(jobId, me, hash160(a.client), commitment, this.#o.stake);
    const { tx, bytes } = fundJobOutput(stake, jobId, {
      utxos: await this.#spendable(),
      secretKey: this.#o.secretKey,
      fee: this.#o.fee,
    });
    const stakeTxid = (await chain.processTx(bytes)).txid;
    a.stake = { txid: stakeTxid, vout: 0, value: this.#o.stake, script: stake.scriptPubKey };
    this.#send(client, {
      t: "receipt",
      jobId: a.id,
      commitment: toHex(commitment),
      tokenCount: output.length,
      finishReason: finish,
      rewardAddress: this.rewardAddress,
      stake: { txid: stakeTxid, vout: 0 },
      stakeTx: toHex(encodeTransaction(tx)),
    });
    log.info("Job {id}: {n} tokens generated, staked in {txid}", {
      id: a.id,
      n: output.length,
      txid: stakeTxid,
    });
  }

  async #onPayment(env: Envelope, m: PaymentMessage): Promise<void> {
    const a = this.#jobs.get(m.jobId);
    if (!a || !a.stake || !a.output) {
      return log.info("Payment for unknown or unfinished job {id}", { id: m.jobId });
    }
    if (!equalBytes(env.from, a.client)) {
      return log.info("Payment for {id} not from its client", { id: m.jobId });
    }
    if (a.payment) return log.info("Second payment for {id} ignored", { id: m.jobId });
    const bytes = fromHex(m.tx);
    const tx = decodeTransaction(bytes);
    const reason = this.#checkPayment(a, tx);
    if (reason) return log.warn("Payment for {id} refused: {reason}", { id: m.jobId, reason });
    a.payment = bytes;
    if (this.#o.cheat === "withhold") {
      return log.warn("Withholding the output of {id} (cheat)", { id: a.id });
    }
    const ciphertext = this.#ciphertext(a);
    this.#send(a.client, { t: "delivery", jobId: a.id, ciphertext: toHex(ciphertext) });
    log.info("Job {id} paid; output delivered encrypted", { id: a.id });
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
    const paid = tx.outputs.reduce((s, o) => {
      const p = parseOutputScript(o.scriptPubKey);
      return p.type === "pay-to-address" &&
          equalBytes(o.scriptPubKey, payToAddressScript(this.rewardAddress))
        ? s + o.value
        : s;
    }, 0n);
    if (paid + 100_000n < a.escrow.value) {
      return `it pays ${paid}, the escrow holds ${a.escrow.value}`;
    }
    return null;
  }

  /** Per block: record stake heights, broadcast mineable payments, release matured stakes. */
  async #onBlock(): Promise<void> {
    const { chain } = this.#o;
    const W = chain.params.jobs.disputeWindow;
    const next = chain.tip().height + 1;
    for (const a of this.#jobs.values()) {
      if (a.stake && a.stakeHeight === undefined) {
        const loc = await chain.getTransaction(a.stake.txid);
        if (loc?.height != null) a.stakeHeight = loc.height;
      }
      if (a.stakeHeight === undefined || !a.stake) continue;
      await this.#answerClaims(a);
      const retry = new Set(["job/dispute-window", "job/claim-pending", "job/answer-window"]);
      if (a.payment && !a.paymentSent && next >= a.stakeHeight + W) {
        try {
          await chain.processTx(a.payment);
          a.paymentSent = true;
          log.info("Job {id}: payment broadcast", { id: a.id });
        } catch (e) {
          const code = (e as { code?: string }).code ?? "";
          log.warn("Job {id}: payment not accepted: {error}", {
            id: a.id,
            error: (e as Error).message,
          });
          if (!retry.has(code)) a.paymentSent = true;
        }
      }
      if (!a.released && next >= a.stakeHeight + 2 * W) {
        try {
          await this.#release(a);
          a.released = true;
        } catch (e) {
          const code = (e as { code?: string }).code ?? "";
          log.warn("Job {id}: stake not released: {error}", {
            id: a.id,
            error: (e as Error).message,
          });
          if (!retry.has(code)) a.released = true;
        }
      }
    }
  }

  /** Answers a client's non-delivery claim by publishing the encrypted output on chain. */
  async #answerClaims(a: ActiveJob): Promise<void> {
    const { chain } = this.#o;
    const notices = await chain.notices(`${a.stake!.txid}:${a.stake!.vout}`);
    const claim = Math.max(-1, ...notices.filter((n) => n.kind === "claim").map((n) => n.height));
    const answer = Math.max(-1, ...notices.filter((n) => n.kind === "answer").map((n) => n.height));
    if (claim < 0 || answer >= claim || a.answering === claim || !a.output) return;
    a.answering = claim;
    if (this.#o.cheat === "withhold") {
      return log.warn("Job {id}: not answering the claim (cheat)", { id: a.id });
    }
    const answerOut = answerOutput(
      a.stake!,
      this.#o.cheat === "bad-answer"
        ? this.#ciphertext({ ...a, output: a.output.map((t) => t ^ 1) })
        : this.#ciphertext(a),
    );
    const { bytes } = fundJobOutput(answerOut, fromHex(a.id), {
      utxos: await this.#spendable(),
      secretKey: this.#o.secretKey,
      fee: this.#o.fee * 4n,
    });
    const { txid: answerTxid } = await chain.processTx(bytes);
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

  /** Mature wallet outputs not spent in the mempool. */
  async #spendable() {
    const { chain } = this.#o;
    return (await chain.getAddressCoins(this.rewardAddress)).filter(({ txid: t, vout, coin }) =>
      (!coin.coinbase || chain.tip().height + 1 - coin.height >= chain.params.coinbaseMaturity) &&
      !chain.mempool.spender(t, vout)
    ).map((c) => ({
      txid: c.txid,
      vout: c.vout,
      value: c.coin.value,
      scriptPubKey: c.coin.scriptPubKey,
    }));
  }

  async #release(a: ActiveJob): Promise<void> {
    const { chain } = this.#o;
    const coin = (await chain.store.getCoins([{ txid: a.stake!.txid, vout: a.stake!.vout }]))[0];
    if (!coin) return log.warn("Job {id}: the stake is gone (slashed?)", { id: a.id });
    const tx = releaseTx(
      { ...a.stake!, value: coin.value, scriptPubKey: coin.scriptPubKey },
      { payTo: payToAddressScript(this.rewardAddress), fee: this.#o.fee },
      fromHex(a.id),
      this.#o.secretKey,
    );
    await chain.processTx(encodeTransaction(tx));
    log.info("Job {id}: stake released ({txid})", { id: a.id, txid: txid(tx) });
    this.#jobs.delete(a.id);
  }

  #send(to: Uint8Array, m: JobMessage): void {
    this.#o.network.send(encodeJobMessage(m), to);
  }
}
