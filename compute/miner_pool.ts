/**
 * @module A pool of mining workers (one per core by default), each running the WASM SIMD SHA-256d
 * kernel. It implements the chain miner's `NonceSearcher`: a range is split across the workers and the
 * smallest winning nonce is returned.
 */

import type { NonceSearcher } from "../chain/miner.ts";

/** A running worker pool. */
export interface MinerPool {
  /** Nonce search over the pool. */
  search: NonceSearcher;
  /** Number of workers. */
  readonly size: number;
  /** Terminates the workers. */
  close(): void;
}

interface Pending {
  resolve: (nonce: number | null) => void;
  reject: (e: Error) => void;
}

/** Starts `workers` mining workers (default: the number of cores) and waits until each is ready. */
export async function createMinerPool(
  workers = navigator.hardwareConcurrency || 2,
): Promise<MinerPool> {
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new RangeError(`workers must be 1..256, got ${workers}`);
  }
  const pending = new Map<number, Pending>();
  let nextId = 0;
  const pool: Worker[] = [];
  await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(new URL("./miner_worker.ts", import.meta.url), { type: "module" });
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`mining worker failed: ${e.message}`));
        };
        w.onmessage = (e) => {
          const m = e.data as {
            ready?: boolean;
            id?: number;
            nonce?: number | null;
            error?: string;
          };
          if (m.ready) return resolve();
          const p = pending.get(m.id!);
          if (!p) return;
          pending.delete(m.id!);
          if (m.error) p.reject(new Error(m.error));
          else p.resolve(m.nonce ?? null);
        };
        pool.push(w);
      })),
  );
  const ask = (w: Worker, header: Uint8Array, target: Uint8Array, start: number, count: number) =>
    new Promise<number | null>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, header, target, start, count });
    });
  const search: NonceSearcher = async (header, target, start, count) => {
    const share = Math.ceil(count / pool.length);
    const parts = pool.map((w, i) => {
      const s = start + i * share;
      const n = Math.max(0, Math.min(share, start + count - s));
      return n > 0 ? ask(w, header, target, s, n) : Promise.resolve(null);
    });
    const found = (await Promise.all(parts)).filter((n): n is number => n !== null);
    return found.length ? Math.min(...found) : null;
  };
  return {
    search,
    size: pool.length,
    close: () => {
      for (const w of pool) w.terminate();
      for (const p of pending.values()) p.reject(new Error("miner pool closed"));
      pending.clear();
    },
  };
}
