/**
 * @module One helper thread of a threaded kernel (see kernel_threads.ts): instantiates
 * `kernel_mt.wasm` over the shared memory it is sent, with its own stack, then runs share
 * `index` of each job the main instance posts (a generation counter in the control words),
 * counts itself done (flagging a trap) and wakes the main thread, until told to stop.
 */

/// <reference lib="deno.worker" />

/** What the main thread sends once. */
interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Share index (1 .. threads - 1). */
  index: number;
  /** Byte offset of the four i32 control words: generation, done count, stop flag, failed flag. */
  ctl: number;
  /** Top of this thread's stack (16-byte aligned). */
  stackTop: number;
}

self.onmessage = (e: MessageEvent<WorkerInit>) => {
  const { module, memory, index, ctl, stackTop } = e.data;
  const refuse = () => {
    throw new Error("a helper thread cannot start jobs");
  };
  const inst = new WebAssembly.Instance(module, {
    env: { memory, host_start: refuse, host_join: refuse },
  });
  const exports = inst.exports as unknown as {
    __stack_pointer: WebAssembly.Global;
    kernel_worker(k: number): void;
  };
  exports.__stack_pointer.value = stackTop;
  const words = new Int32Array(memory.buffer, ctl, 4);
  let seen = Atomics.load(words, 0);
  self.postMessage("ready");
  for (;;) {
    Atomics.wait(words, 0, seen);
    if (Atomics.load(words, 2) !== 0) break;
    const generation = Atomics.load(words, 0);
    if (generation === seen) continue;
    seen = generation;
    try {
      exports.kernel_worker(index);
    } catch {
      Atomics.store(words, 3, 1); // the main thread reports the failure
    }
    Atomics.add(words, 1, 1);
    Atomics.notify(words, 1);
  }
  self.close();
};
