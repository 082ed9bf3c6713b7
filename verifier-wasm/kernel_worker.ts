/**
 * @module One helper thread of a threaded kernel (see kernel_threads.ts): instantiates
 * `kernel_mt.wasm` over the shared memory it is sent, with its own stack, then, each time the
 * calling thread announces a job (a generation counter in the control words), claims and runs
 * chunks of it (`kernel_worker`) and wakes the caller. A trap is flagged for the caller. After
 * `idleMs` without a job the thread retires (so an idle kernel keeps no process alive); the
 * caller starts a new one when the next job comes.
 */

/// <reference lib="deno.worker" />

/** Milliseconds a helper polls for the next job before it sleeps. */
const SPIN_MS = 2;

/** What the calling thread sends once. */
interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Scratch slot of this thread (1 .. threads - 1). */
  slot: number;
  /** Byte offset of the control words: generation, -, stop, failed, then one busy flag a slot. */
  ctl: number;
  /** Slots (the length of the busy flags). */
  threads: number;
  /** Top of this thread's stack (16-byte aligned). */
  stackTop: number;
  /** Milliseconds without a job after which the thread retires. */
  idleMs: number;
}

self.onmessage = (e: MessageEvent<WorkerInit>) => {
  const { module, memory, slot, ctl, threads, stackTop, idleMs } = e.data;
  const refuse = () => {
    throw new Error("a helper thread cannot start jobs");
  };
  const inst = new WebAssembly.Instance(module, {
    env: { memory, host_quiesce: refuse, host_start: refuse, host_join: refuse },
  });
  const exports = inst.exports as unknown as {
    __stack_pointer: WebAssembly.Global;
    kernel_worker(slot: number): void;
    kernel_done_word(): number;
  };
  exports.__stack_pointer.value = stackTop;
  const words = new Int32Array(memory.buffer, ctl, 4 + threads);
  const done = new Int32Array(memory.buffer, exports.kernel_done_word(), 1);
  const runJob = () => {
    Atomics.store(words, 4 + slot, 1);
    try {
      exports.kernel_worker(slot);
    } catch {
      Atomics.store(words, 3, 1); // the calling thread reports the failure
    }
    Atomics.store(words, 4 + slot, 0);
    Atomics.notify(words, 4 + slot);
    Atomics.notify(done, 0);
  };
  let seen = Atomics.load(words, 0);
  self.postMessage("ready");
  runJob(); // a job may already be running: take what is left of it
  for (;;) {
    // Spin briefly first: jobs come back to back within a prefill, separated by short serial
    // steps, and a sleeping thread's wake-up on a busy machine can outlast a whole job.
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(words, 0) === seen && performance.now() < spinUntil) { /* spin */ }
    const r = Atomics.wait(words, 0, seen, idleMs);
    if (Atomics.load(words, 2) !== 0) break;
    const generation = Atomics.load(words, 0);
    if (generation === seen) {
      if (r === "timed-out") break;
      continue;
    }
    seen = generation;
    runJob();
  }
  self.postMessage("retired");
  self.close();
};
