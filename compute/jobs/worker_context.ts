/**
 * @module The job worker's shared state and its small helpers, used by each of its parts
 * (worker_offers.ts, worker_queue.ts, worker_payment.ts, worker_delivery.ts, worker_upkeep.ts,
 * worker_restore.ts): its options, the jobs in memory, the KV store, the loaded models, the queue
 * counters, and sending messages, declining offers, saving and forgetting jobs, the wallet's coins.
 */

import { getLogger } from "@logtape/logtape";
import { hash160 } from "../../chain/hash.ts";
import type { Job } from "../../chain/job.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import type { ChainNode } from "../../chain/node.ts";
import type { WalletUtxo } from "../../chain/wallet.ts";
import {
  type DeclineReason,
  encodeJobMessage,
  type JobMessage,
  MAX_DECLINE_DETAIL,
} from "../../client/job_messages.ts";
import type { LlamaModel } from "../llama/llama.ts";
import type { ModelStore } from "../model_store.ts";
import { HeldRewards, VALIDATION_POOL } from "./held_rewards.ts";
import { ValidatorRewards } from "./validator_rewards.ts";
import { DistributionKeeper } from "./distribution_keeper.ts";
import { ComputeJobStore, type StoredJobState } from "./job_store.ts";
import { inProcessSpendLock, type SpendLock, walletCoins } from "./wallet_coins.ts";

/** The compute node's job log. */
export const log = getLogger(["camelid", "compute"]);

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

/** Options of the job worker (worker.ts `JobWorker`). */
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

/** A job the worker holds in memory: its stored state plus what is not kept in KV. */
export interface ActiveJob extends StoredJobState {
  /** Job id (hex). */
  id: string;
  /** The job. */
  job: Job;
  /** Output token ids, once generated. */
  output?: number[];
  /** Why generation ended, once generated. */
  finishReason?: "stop" | "length";
  /** Whether the client assigned the job to this node. */
  assigned?: boolean;
  /** When an unassigned acceptance stops holding its queue place (ms since the epoch). */
  holdUntil?: number;
  /** The output encrypted to the client, made once the receipt is out (worker_delivery.ts). */
  ciphertext?: Uint8Array;
}

/** The state every part of the job worker shares. */
export class WorkerContext {
  /** The options, defaults filled in. */
  readonly o: Required<WorkerOptions>;
  /** Where jobs are kept across restarts. */
  readonly store: ComputeJobStore;
  /** The node's held rewards. */
  readonly rewards: HeldRewards;
  /**
   * The validation pools of the node's payments (output 1): the node claims each at the epoch's end
   * unless the client distributed it to its validators first.
   */
  readonly pools: HeldRewards;
  /** The rewards paid to the node's key as a validator of other nodes' jobs. */
  readonly validatorRewards: ValidatorRewards;
  /**
   * The clients' distributions paying the node's key (validator rewards from a pool), kept and
   * submitted once the payment holding the pool is known.
   */
  readonly distributions: DistributionKeeper;
  /** Jobs accepted or in progress, by id. */
  readonly jobs = new Map<string, ActiveJob>();
  /** Context sizes of the served models, by model id. */
  readonly contexts = new Map<string, number>();
  /** The node's reward address. */
  readonly rewardAddress: string;
  /** HASH160 of the node's public key (its stakes name it). */
  readonly keyHash: Uint8Array;
  /** The tail of the generation queue. */
  queue: Promise<void> = Promise.resolve();
  /** Jobs queued or running until staked. */
  queued = 0;
  /** Tokens per second of the last generation. */
  speed: number | null = null;
  readonly #models = new Map<string, Promise<LlamaModel>>();

  /** Fills in the defaults of `options`; refuses cheat modes off the dev network. */
  constructor(options: WorkerOptions) {
    this.store = options.store ?? new ComputeJobStore(options.chain.store.kv);
    this.o = {
      queueSize: 4,
      threads: 2,
      fee: 20_000n,
      cheat: "none",
      store: this.store,
      spendLock: inProcessSpendLock(),
      ...options,
    };
    if (this.o.cheat !== "none" && options.chain.params.name !== "dev") {
      throw new RangeError("cheat modes exist only on the dev network");
    }
    const publicKey = publicKeyOf(options.secretKey);
    this.rewardAddress = addressFromPublicKey(publicKey);
    this.keyHash = hash160(publicKey);
    const book = {
      chain: options.chain,
      secretKey: options.secretKey,
      rewardAddress: this.rewardAddress,
      fee: this.o.fee,
    };
    this.rewards = new HeldRewards(book);
    this.pools = new HeldRewards({
      ...book,
      prefix: [VALIDATION_POOL],
      label: "validation pool",
      spentBy: "distributed to the validators, claimed, or forfeited by a fraud proof",
    });
    this.validatorRewards = new ValidatorRewards(book);
    this.distributions = new DistributionKeeper(book);
  }

  /** Sends a job message to `to`; a failure is logged. */
  send(to: Uint8Array, m: JobMessage): void {
    try {
      this.o.network.send(encodeJobMessage(m), to);
    } catch (e) {
      log.warn("Job message not sent: {error}", { error: (e as Error).message });
    }
  }

  /** Declines job `id` to `to` with a reason and a detail (cut to its limit). */
  decline(to: Uint8Array, id: string, reason: DeclineReason, detail: string): void {
    log.info("Offer {id} declined ({reason}): {detail}", { id, reason, detail });
    this.send(to, { t: "decline", jobId: id, reason, detail: detail.slice(0, MAX_DECLINE_DETAIL) });
  }

  /** Writes the part of a job kept in KV. */
  async save(a: ActiveJob): Promise<void> {
    await this.store.saveState(a.id, storedState(a));
  }

  /** Drops a finished job, from memory and KV. */
  async forget(a: ActiveJob): Promise<void> {
    this.jobs.delete(a.id);
    await this.store.remove(a.id);
  }

  /** The node wallet's coins it can spend now (wallet_coins.ts). */
  async spendable(): Promise<WalletUtxo[]> {
    return await walletCoins(this.o.chain, this.rewardAddress);
  }

  /** A llama model by path, loaded once. */
  async model(path: string): Promise<LlamaModel> {
    let m = this.#models.get(path);
    if (!m) {
      m = this.o.loadModel(path);
      this.#models.set(path, m);
    }
    return await m;
  }

  /** Crash tests (dev only): die the hard way at a step of the job flow named by `CAMELID_FAULT`. */
  fault(step: JobFault): void {
    if (this.o.chain.params.name === "dev" && Deno.env.get("CAMELID_FAULT") === `job:${step}`) {
      Deno.kill(Deno.pid, "SIGKILL");
    }
  }
}

/** The part of a job kept in KV. */
export function storedState(a: ActiveJob): StoredJobState {
  const {
    id: _id,
    job: _job,
    output: _o,
    finishReason: _f,
    assigned: _a,
    holdUntil: _h,
    ciphertext: _c,
    ...s
  } = a;
  return s;
}
