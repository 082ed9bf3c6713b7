/**
 * @module The compute node's jobs in Deno KV, the one place that names their keys (as chain/store.ts
 * does for the chain): every assigned job, its output with its stake transaction (one commit), the
 * client's held payment and whether the output was delivered are written here before the worker acts
 * on them, so a node killed at any step restores them on start and resumes (delivers, broadcasts the
 * payment, answers claims, releases the stake).
 */

/** Prefix of every key of the compute node's jobs. */
export const COMPUTE_JOB = "cjob";
/** `[COMPUTE_JOB, id, JOB_BYTES]`: the canonical job encoding (Uint8Array). */
export const JOB_BYTES = "job";
/** `[COMPUTE_JOB, id, JOB_STATE]`: the worker's {@link StoredJobState}. */
export const JOB_STATE = "state";
/** `[COMPUTE_JOB, id, JOB_OUTPUT]`: the generated output ({@link StoredOutput}). */
export const JOB_OUTPUT = "output";

/** Key of one part of a stored job. */
export function computeJobKey(
  id: string,
  part: typeof JOB_BYTES | typeof JOB_STATE | typeof JOB_OUTPUT,
): Deno.KvKey {
  return [COMPUTE_JOB, id, part];
}

/** Where the worker is with a job: written before each step is acted on. */
export interface StoredJobState {
  /** The client's public key. */
  client: Uint8Array;
  /** The escrow output paying the reward. */
  escrow: { txid: string; vout: number; value: bigint };
  /** The stake locked on the output's commitment (set before its transaction is broadcast). */
  stake?: { txid: string; vout: number; value: bigint; script: Uint8Array };
  /** The stake transaction (re-broadcast on start). */
  stakeTx?: Uint8Array;
  /** Height of the block holding the stake. */
  stakeHeight?: number;
  /** The client's signed payment, held until it is mineable. */
  payment?: Uint8Array;
  /** Whether the encrypted output was sent to the client. */
  delivered?: boolean;
  /** Whether the payment was broadcast (or given up). */
  paymentSent?: boolean;
  /** Height of the claim last answered on chain. */
  answering?: number;
  /** Whether the stake was released (or given up). */
  released?: boolean;
}

/** A generated output. */
export interface StoredOutput {
  /** Output token ids. */
  tokens: Uint32Array;
  /** Why generation ended. */
  finishReason: "stop" | "length";
}

/** One stored job, as restored on start. */
export interface StoredJob {
  /** Job id hex. */
  id: string;
  /** Canonical job bytes. */
  jobBytes: Uint8Array;
  /** Worker state. */
  state: StoredJobState;
  /** The output, once generated. */
  output: StoredOutput | null;
}

/** The compute node's jobs in KV. */
export class ComputeJobStore {
  readonly #kv: Deno.Kv;

  /** Stores jobs in `kv` (the node's database). */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Records an assigned job (its bytes and first state) in one commit. */
  async assign(id: string, jobBytes: Uint8Array, state: StoredJobState): Promise<void> {
    await this.#kv.atomic()
      .set(computeJobKey(id, JOB_BYTES), jobBytes)
      .set(computeJobKey(id, JOB_STATE), state)
      .commit();
  }

  /** Writes a job's state. */
  async saveState(id: string, state: StoredJobState): Promise<void> {
    await this.#kv.set(computeJobKey(id, JOB_STATE), state);
  }

  /**
   * Writes a job's output with the state naming the stake committed to it, in one commit (before the
   * stake is broadcast): a node killed before it generates again, one killed after has both.
   */
  async saveStaked(id: string, output: StoredOutput, state: StoredJobState): Promise<void> {
    await this.#kv.atomic()
      .set(computeJobKey(id, JOB_OUTPUT), output)
      .set(computeJobKey(id, JOB_STATE), state)
      .commit();
  }

  /** Forgets a finished job. */
  async remove(id: string): Promise<void> {
    await this.#kv.atomic()
      .delete(computeJobKey(id, JOB_BYTES))
      .delete(computeJobKey(id, JOB_STATE))
      .delete(computeJobKey(id, JOB_OUTPUT))
      .commit();
  }

  /** Every stored job. */
  async all(): Promise<StoredJob[]> {
    const parts = new Map<string, Partial<StoredJob>>();
    for await (const e of this.#kv.list({ prefix: [COMPUTE_JOB] })) {
      const [, id, part] = e.key as [string, string, string];
      const j = parts.get(id) ?? { id, output: null };
      if (part === JOB_BYTES) j.jobBytes = e.value as Uint8Array;
      if (part === JOB_STATE) j.state = e.value as StoredJobState;
      if (part === JOB_OUTPUT) j.output = e.value as StoredOutput;
      parts.set(id, j);
    }
    return [...parts.values()].filter((j): j is StoredJob => !!j.jobBytes && !!j.state);
  }
}
