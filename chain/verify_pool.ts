/**
 * @module A pool of worker threads (`node:worker_threads`, one per core by default) that verifies
 * batches of signatures off the event loop: a block's inputs, relayed envelopes, mempool
 * admission. A batch is split evenly over the workers; small batches, and runtimes without worker
 * threads (browsers), are verified inline. Verdicts are chain/signature.ts's, wherever they ran.
 * Idle workers are unreferenced, so a pool never keeps a process alive.
 */

import type { Worker as NodeWorker } from "node:worker_threads";
import { isPackable, packChecks, type SignatureCheck } from "./verify_packing.ts";
import { verifySignature } from "./signature.ts";

export type { SignatureCheck } from "./verify_packing.ts";

/** Batches smaller than this are verified inline: a round trip to a worker costs more. */
export const DEFAULT_MIN_BATCH = 32;

/** Options of a {@link VerifyPool}. */
export interface VerifyPoolOptions {
  /** Worker threads (default: the number of cores). */
  size?: number;
  /** Smallest batch sent to the workers (default {@link DEFAULT_MIN_BATCH}). */
  minBatch?: number;
}

/** One worker thread and the requests it has not answered. */
interface PoolWorker {
  worker: NodeWorker;
  alive: boolean;
  pending: Map<number, { resolve: (r: Uint8Array) => void; reject: (e: Error) => void }>;
}

/** The number of cores this runtime reports (at least 1). */
export function defaultPoolSize(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}

/** Worker threads verifying signature batches. */
export class VerifyPool {
  readonly #size: number;
  readonly #minBatch: number;
  #workers: Promise<PoolWorker[] | undefined> | undefined;
  #nextId = 0;
  #closed = false;

  /** A pool of `size` workers, started on the first batch that needs them. */
  constructor(options: VerifyPoolOptions = {}) {
    this.#size = options.size ?? defaultPoolSize();
    this.#minBatch = options.minBatch ?? DEFAULT_MIN_BATCH;
    if (!Number.isInteger(this.#size) || this.#size < 1) {
      throw new RangeError(`pool size must be a positive integer, got ${this.#size}`);
    }
  }

  /** Number of worker threads. */
  get size(): number {
    return this.#size;
  }

  /** Worker threads running now (0 before the first large batch and where threads are missing). */
  async running(): Promise<number> {
    return (await this.#workers)?.filter((w) => w.alive).length ?? 0;
  }

  /**
   * Verifies every check; the answer at i is check i's verdict, as {@link verifySignature} gives
   * it. Checks of the wrong lengths are false without leaving this thread.
   */
  async verifyBatch(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (this.#closed) throw new Error("verify pool is closed");
    const results = new Array<boolean>(checks.length).fill(false);
    const work: number[] = [];
    checks.forEach((c, i) => isPackable(c) && work.push(i));
    const workers = work.length >= this.#minBatch ? await this.#start() : undefined;
    if (!workers) {
      for (const i of work) {
        results[i] = verifySignature(checks[i].signature, checks[i].preimage, checks[i].publicKey);
      }
      return results;
    }
    const per = Math.ceil(work.length / workers.length);
    const parts = workers.map((w, k) => ({ w, indices: work.slice(k * per, (k + 1) * per) }))
      .filter((p) => p.indices.length > 0);
    const answers = await Promise.all(
      parts.map(({ w, indices }) => this.#send(w, packChecks(indices.map((i) => checks[i])))),
    );
    parts.forEach(({ indices }, k) => indices.forEach((i, j) => results[i] = answers[k][j] === 1));
    return results;
  }

  /** Stops the workers; later batches throw. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = await this.#workers;
    this.#workers = undefined;
    await Promise.all((workers ?? []).map((w) => w.worker.terminate()));
  }

  async #start(): Promise<PoolWorker[] | undefined> {
    const workers = await this.#workers;
    if (workers?.some((w) => !w.alive)) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      this.#workers = undefined;
    }
    this.#workers ??= spawnWorkers(this.#size);
    return this.#workers;
  }

  #send(w: PoolWorker, packed: Uint8Array): Promise<Uint8Array> {
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (w.pending.size === 0) w.worker.ref();
      w.pending.set(id, { resolve, reject });
      w.worker.postMessage({ id, packed }, [packed.buffer as ArrayBuffer]);
    });
  }
}

/** Starts `size` workers, or resolves undefined where worker threads are not available. */
async function spawnWorkers(size: number): Promise<PoolWorker[] | undefined> {
  let Worker: typeof NodeWorker;
  try {
    ({ Worker } = await import("node:worker_threads"));
  } catch {
    return undefined;
  }
  return Array.from({ length: size }, () => {
    const w: PoolWorker = {
      worker: new Worker(new URL("./verify_worker.ts", import.meta.url)),
      alive: true,
      pending: new Map(),
    };
    w.worker.unref();
    w.worker.on("message", ({ id, results }: { id: number; results: Uint8Array }) => {
      const p = w.pending.get(id);
      w.pending.delete(id);
      if (w.pending.size === 0) w.worker.unref();
      p?.resolve(results);
    });
    const fail = (e: Error) => {
      w.alive = false;
      for (const p of w.pending.values()) p.reject(e);
      w.pending.clear();
    };
    w.worker.on("error", fail);
    w.worker.on("exit", (code: number) => fail(new Error(`verify worker exited with ${code}`)));
    return w;
  });
}

let shared: VerifyPool | undefined;

/** The process-wide pool (one worker per core), created on first use. */
export function defaultVerifyPool(): VerifyPool {
  shared ??= new VerifyPool();
  return shared;
}
