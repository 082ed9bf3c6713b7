/**
 * @module One sprint proved on threads: `threads` Web Workers (sprint_worker.ts), each with its own
 * WASM kernel instance of the sprint model, take the nonce stripes i, i + threads, ...; a shared
 * control block lets the caller stop or pause them between nonces, and caps the proof nonces found
 * by all of them at the network's maxNonces. An optional rate throttles all threads together
 * (nonces a second, split evenly), so tests and devnets can give nodes different speeds.
 */

import type { SprintParams } from "../chain/params.ts";

/** Words of the shared control block (an Int32Array over a SharedArrayBuffer). */
export const SPRINT_CONTROL = {
  /** Set to 1 to stop every thread after its current nonce. */
  stop: 0,
  /** 1 while the threads should wait (a job has the CPU). */
  pause: 1,
  /** Proof nonces found so far by all threads. */
  found: 2,
  /** Nonces started so far by all threads. */
  tried: 3,
} as const;

/** What one thread is asked to do. */
export interface SprintThreadRequest {
  /** The network's sprint parameters. */
  params: SprintParams;
  /** The sprint seed (32 bytes). */
  sprintSeed: Uint8Array;
  /** The node seed (32 bytes). */
  nodeSeed: Uint8Array;
  /** First nonce of the thread's stripe. */
  start: number;
  /** Stripe step (the number of threads). */
  step: number;
  /** This thread's nonces a second at most (0: unthrottled). */
  rate: number;
  /** The shared control block. */
  control: SharedArrayBuffer;
}

/** What one thread did. */
export interface SprintThreadResult {
  /** Proof nonces found, ascending. */
  nonces: number[];
  /** Nonces tried. */
  tried: number;
  /** Milliseconds from its first nonce to its end. */
  ms: number;
  /** Milliseconds of that spent paused. */
  pausedMs: number;
}

/** What all threads did together. */
export interface SprintRunResult {
  /** Proof nonces found, ascending, at most maxNonces. */
  readonly nonces: number[];
  /** Nonces tried by all threads. */
  readonly tried: number;
  /** Milliseconds proving (wall clock of the longest thread, pauses excluded). */
  readonly provingMs: number;
  /** Milliseconds paused (the least any thread was). */
  readonly pausedMs: number;
}

/** A sprint being proved. */
export interface SprintRun {
  /** Stops every thread after its current nonce; `done` then resolves. */
  stop(): void;
  /** Pauses (true) or resumes (false) every thread between nonces. */
  pause(on: boolean): void;
  /** Nonces started and proof nonces found so far, all threads together (live). */
  progress(): { tried: number; found: number };
  /** The merged result once every thread has ended (stopped, or maxNonces found). */
  readonly done: Promise<SprintRunResult>;
}

/** Options of {@link startSprintRun}. */
export interface SprintRunOptions {
  /** The network's sprint parameters. */
  params: SprintParams;
  /** The sprint seed (32 bytes). */
  sprintSeed: Uint8Array;
  /** The node seed (32 bytes). */
  nodeSeed: Uint8Array;
  /** Threads (default 1). */
  threads?: number;
  /** Nonces a second at most, all threads together (default: unthrottled). */
  rate?: number;
}

/** Starts proving a sprint on `threads` workers. */
export function startSprintRun(o: SprintRunOptions): SprintRun {
  const threads = o.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError("threads must be a positive integer");
  }
  if (o.rate !== undefined && !(o.rate > 0 && Number.isFinite(o.rate))) {
    throw new RangeError("rate must be a positive number of nonces a second");
  }
  const control = new SharedArrayBuffer(4 * 4);
  const words = new Int32Array(control);
  const workers: Worker[] = [];
  const results = Array.from(
    { length: threads },
    (_, i) =>
      new Promise<SprintThreadResult>((resolve, reject) => {
        const w = new Worker(new URL("./sprint_worker.ts", import.meta.url), { type: "module" });
        workers.push(w);
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`sprint thread failed: ${e.message}`));
        };
        w.onmessage = (e) => {
          const m = e.data as SprintThreadResult | { error: string };
          if ("error" in m) reject(new Error(m.error));
          else resolve(m);
        };
        const request: SprintThreadRequest = {
          params: o.params,
          sprintSeed: o.sprintSeed,
          nodeSeed: o.nodeSeed,
          start: i,
          step: threads,
          rate: o.rate === undefined ? 0 : o.rate / threads,
          control,
        };
        w.postMessage(request);
      }),
  );
  const done = Promise.all(results).then((parts) => {
    const nonces = parts.flatMap((p) => p.nonces).sort((a, b) => a - b)
      .slice(0, o.params.maxNonces);
    const pausedMs = Math.min(...parts.map((p) => p.pausedMs));
    return {
      nonces,
      tried: parts.reduce((s, p) => s + p.tried, 0),
      provingMs: Math.max(...parts.map((p) => p.ms - p.pausedMs)),
      pausedMs,
    };
  }).finally(() => workers.forEach((w) => w.terminate()));
  return {
    stop: () => {
      Atomics.store(words, SPRINT_CONTROL.stop, 1);
      Atomics.notify(words, SPRINT_CONTROL.stop);
      Atomics.notify(words, SPRINT_CONTROL.pause);
    },
    pause: (on) => {
      Atomics.store(words, SPRINT_CONTROL.pause, on ? 1 : 0);
      Atomics.notify(words, SPRINT_CONTROL.pause);
    },
    progress: () => ({
      tried: Atomics.load(words, SPRINT_CONTROL.tried),
      found: Atomics.load(words, SPRINT_CONTROL.found),
    }),
    done,
  };
}
