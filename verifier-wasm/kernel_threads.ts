/**
 * @module The WASM kernel on several threads: `kernel_mt.wasm` (the same sources as kernel.wasm,
 * built with atomics over one shared imported memory) instantiated once on the calling thread
 * and once in each of `threads - 1` workers (kernel_worker.ts). The kernel splits each matmul's
 * weight rows and each attention's heads over the instances (kernel/src/par.rs); the calling
 * thread wakes the workers and waits for them with `Atomics`. Logits are bit-identical to one
 * thread. Needs shared memory and TypeScript module workers (Deno).
 */

import { CamelidError } from "../chain/errors.ts";
import {
  KERNEL_ABI_VERSION,
  kernelAlloc,
  type KernelExports,
  loadKernelBytes,
} from "./kernel_module.ts";

/** Largest thread count the kernel accepts. */
export const MAX_KERNEL_THREADS = 64;
const STACK_BYTES = 1 << 20;
/** Pages the shared memory starts with (above the module's data and 1 MiB main stack). */
const INITIAL_PAGES = 32;
const MAX_PAGES = 65536;

/** Where the threaded kernel comes from (default: `kernel_mt.wasm` beside this module). */
export interface ThreadedKernelSource {
  /** The `kernel_mt.wasm` bytes or compiled module. */
  wasmThreads?: Uint8Array | WebAssembly.Module;
  /** Milliseconds without a job after which a helper retires (default 10,000). */
  helperIdleMs?: number;
}

let defaultModule: Promise<WebAssembly.Module> | undefined;
/**
 * The runtime's Web Worker, taken when this module loads: onnxruntime-web's Emscripten glue
 * replaces `globalThis.Worker` with Node's worker_threads class once it runs.
 */
const WebWorker: typeof Worker | undefined = globalThis.Worker;

function threadedModule(src: ThreadedKernelSource): Promise<WebAssembly.Module> {
  if (src.wasmThreads instanceof WebAssembly.Module) return Promise.resolve(src.wasmThreads);
  if (src.wasmThreads) return WebAssembly.compile(src.wasmThreads as Uint8Array<ArrayBuffer>);
  if (!defaultModule) {
    const p = loadKernelBytes(new URL("./kernel_mt.wasm", import.meta.url))
      .then((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>));
    defaultModule = p;
    p.catch(() => {
      if (defaultModule === p) defaultModule = undefined;
    });
  }
  return defaultModule;
}

/**
 * Whether this runtime runs the threaded kernel: Deno (shared memory, TypeScript module workers
 * loaded beside this module). The browser bundle ships neither the worker nor kernel_mt.wasm, so
 * Node and browsers run one thread.
 */
export function kernelThreadsSupported(): boolean {
  return typeof SharedArrayBuffer === "function" && typeof WebWorker === "function" &&
    (globalThis as { Deno?: unknown }).Deno !== undefined;
}

/**
 * Threads a verifier uses when not told: every core (`navigator.hardwareConcurrency`, at most
 * 16) where {@link kernelThreadsSupported}, else 1.
 */
export function defaultKernelThreads(): number {
  if (!kernelThreadsSupported()) return 1;
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return Math.max(1, Math.min(16, Number.isInteger(n) ? n! : 1));
}

/**
 * A kernel instance whose prefill runs on `threads` threads. The returned exports work like a
 * plain instance's (`memory` is the shared memory); `close()` stops the helpers. Helpers retire
 * after `helperIdleMs` without work (an idle kernel keeps no process alive longer) and are started
 * again by the next job, which the calling thread meanwhile runs alone.
 */
export async function instantiateKernelThreads(
  threads: number,
  src: ThreadedKernelSource = {},
): Promise<KernelExports> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_KERNEL_THREADS) {
    throw new RangeError(`threads must be an integer in [1, ${MAX_KERNEL_THREADS}]`);
  }
  const module = await threadedModule(src);
  const idleMs = src.helperIdleMs ?? 10_000;
  const memory = new WebAssembly.Memory({
    initial: INITIAL_PAGES,
    maximum: MAX_PAGES,
    shared: true,
  });
  // The control words and the finished-chunk counter, set once the instance can allocate.
  const control: { words?: Int32Array; done?: Int32Array } = {};
  const helpers: (Worker | null)[] = new Array(threads).fill(null);
  const stackTops: number[] = new Array(threads).fill(0);
  // True between host_start and host_join: a trap on the calling thread skips host_join, so
  // the next job first waits (host_quiesce) until no helper is still inside the trapped one.
  let running = false;
  const env = {
    memory,
    host_quiesce() {
      const w = control.words!;
      if (!running) return;
      for (let s = 1; s < threads; s++) {
        while (Atomics.load(w, 4 + s) !== 0) Atomics.wait(w, 4 + s, 1);
      }
      running = false;
    },
    host_start() {
      const w = control.words!;
      running = true;
      Atomics.store(w, 3, 0);
      Atomics.add(w, 0, 1);
      Atomics.notify(w, 0);
      for (let s = 1; s < threads && restart; s++) if (helpers[s] === null) spawn(s);
    },
    host_join() {
      const w = control.words!;
      const done = control.done!;
      const chunks = raw.kernel_job_chunks();
      for (;;) {
        if (Atomics.load(w, 3) !== 0) {
          // `running` stays set: other helpers may still be inside this job's chunks.
          throw new CamelidError("kernel/worker-failed", "a kernel helper thread trapped");
        }
        const d = Atomics.load(done, 0);
        if (d >= chunks) break;
        // Helpers finish their last chunks within a fraction of a millisecond unless descheduled:
        // poll briefly before sleeping.
        const spinUntil = performance.now() + 1;
        while (Atomics.load(done, 0) === d && performance.now() < spinUntil) { /* spin */ }
        if (Atomics.load(done, 0) === d) Atomics.wait(done, 0, d, 100);
      }
      running = false;
    },
  };
  const inst = new WebAssembly.Instance(module, { env });
  const raw = inst.exports as unknown as KernelExports & {
    kernel_job_chunks(): number;
    kernel_done_word(): number;
  };
  if (raw.kernel_abi_version() !== KERNEL_ABI_VERSION) {
    throw new TypeError(`kernel_mt.wasm has ABI ${raw.kernel_abi_version()}`);
  }
  const k: KernelExports = Object.assign(Object.create(null), raw, { memory });
  const ctl = kernelAlloc(k, 4 * (4 + threads));
  const words = new Int32Array(memory.buffer, ctl, 4 + threads);
  control.words = words;
  control.done = new Int32Array(memory.buffer, raw.kernel_done_word(), 1);
  for (let s = 1; s < threads; s++) stackTops[s] = kernelAlloc(k, STACK_BYTES) + STACK_BYTES;
  let closed = false;
  // Retired helpers are restarted by the next job, unless closed or a start has failed.
  let restart = true;
  let onFailure: ((e: Error) => void) | undefined;
  /** Starts the helper of slot `s`; it reports "ready", and "retired" when idle too long. */
  const spawn = (s: number): Promise<void> => {
    const w = new WebWorker!(new URL("./kernel_worker.ts", import.meta.url).href, {
      type: "module",
    });
    helpers[s] = w;
    const ready = new Promise<void>((resolve) => {
      w.onmessage = (e: MessageEvent<string>) => {
        if (e.data === "ready") resolve();
        else if (helpers[s] === w) helpers[s] = null;
      };
    });
    w.onerror = (e) => {
      e.preventDefault();
      restart = false;
      if (helpers[s] === w) helpers[s] = null;
      w.terminate();
      onFailure?.(new CamelidError("kernel/worker-failed", `kernel worker: ${e.message}`));
    };
    w.postMessage({ module, memory, slot: s, ctl, threads, stackTop: stackTops[s], idleMs });
    return ready;
  };
  const stop = () => {
    if (closed) return;
    closed = true;
    restart = false;
    Atomics.store(words, 2, 1);
    Atomics.add(words, 0, 1);
    Atomics.notify(words, 0);
    for (let s = 1; s < threads; s++) {
      helpers[s]?.terminate();
      helpers[s] = null;
    }
  };
  try {
    const failed = new Promise<never>((_, reject) => (onFailure = reject));
    const ready: Promise<void>[] = [];
    for (let s = 1; s < threads; s++) ready.push(spawn(s));
    await Promise.race([Promise.all(ready), failed]);
  } catch (e) {
    stop();
    throw e;
  } finally {
    onFailure = undefined;
  }
  raw.kernel_set_threads(threads);
  k.close = stop;
  return k;
}
