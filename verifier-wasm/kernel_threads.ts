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
}

let defaultModule: Promise<WebAssembly.Module> | undefined;

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
  return typeof SharedArrayBuffer === "function" && typeof Worker === "function" &&
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
 * plain instance's (`memory` is the shared memory); `close()` stops the workers.
 */
export async function instantiateKernelThreads(
  threads: number,
  src: ThreadedKernelSource = {},
): Promise<KernelExports> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_KERNEL_THREADS) {
    throw new RangeError(`threads must be an integer in [1, ${MAX_KERNEL_THREADS}]`);
  }
  const module = await threadedModule(src);
  const memory = new WebAssembly.Memory({
    initial: INITIAL_PAGES,
    maximum: MAX_PAGES,
    shared: true,
  });
  // The control words, set once the instance can allocate them.
  const control: { words?: Int32Array } = {};
  const helpers = threads - 1;
  const joinHelpers = (w: Int32Array) => {
    for (;;) {
      const done = Atomics.load(w, 1);
      if (done >= helpers) return;
      Atomics.wait(w, 1, done);
    }
  };
  // True between host_start and host_join: a trap on the calling thread skips host_join, so
  // the next job first waits for the helpers still running the trapped one.
  let running = false;
  const env = {
    memory,
    host_start() {
      const w = control.words!;
      if (running) joinHelpers(w);
      running = true;
      Atomics.store(w, 1, 0);
      Atomics.store(w, 3, 0);
      Atomics.add(w, 0, 1);
      Atomics.notify(w, 0);
    },
    host_join() {
      const w = control.words!;
      joinHelpers(w);
      running = false;
      if (Atomics.load(w, 3) !== 0) {
        throw new CamelidError("kernel/worker-failed", "a kernel helper thread trapped");
      }
    },
  };
  const inst = new WebAssembly.Instance(module, { env });
  const raw = inst.exports as unknown as KernelExports;
  if (raw.kernel_abi_version() !== KERNEL_ABI_VERSION) {
    throw new TypeError(`kernel_mt.wasm has ABI ${raw.kernel_abi_version()}`);
  }
  const k: KernelExports = Object.assign(Object.create(null), raw, { memory });
  const ctl = kernelAlloc(k, 16);
  const words = new Int32Array(memory.buffer, ctl, 4);
  control.words = words;
  const workers: Worker[] = [];
  const stop = () => {
    Atomics.store(words, 2, 1);
    Atomics.add(words, 0, 1);
    Atomics.notify(words, 0);
    for (const w of workers) w.terminate();
    workers.length = 0;
  };
  try {
    const ready: Promise<void>[] = [];
    for (let i = 1; i < threads; i++) {
      const stackTop = kernelAlloc(k, STACK_BYTES) + STACK_BYTES;
      const w = new Worker(new URL("./kernel_worker.ts", import.meta.url).href, {
        type: "module",
      });
      workers.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          w.onmessage = () => resolve();
          w.onerror = (e) => {
            e.preventDefault();
            reject(new CamelidError("kernel/worker-failed", `kernel worker: ${e.message}`));
          };
        }),
      );
      w.postMessage({ module, memory, index: i, ctl, stackTop });
    }
    await Promise.all(ready);
  } catch (e) {
    stop();
    throw e;
  }
  raw.kernel_set_threads(threads);
  k.close = stop;
  return k;
}
