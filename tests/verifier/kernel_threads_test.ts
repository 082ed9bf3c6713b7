/**
 * @module Tests of the threaded WASM kernel (kernel_threads.ts, kernel_mt.wasm): logits are
 * bit-identical to the one-thread kernel for every weight type, both activation modes, any
 * thread count and any requested rows; a helper thread's trap is reported; close stops the
 * helpers.
 */

import assert from "node:assert/strict";
import { makeFixture } from "../../compute/fixture.ts";
import { WasmLlama } from "../../verifier-wasm/kernel.ts";
import { instantiateKernelThreads } from "../../verifier-wasm/kernel_threads.ts";
import { loadKernelBytes } from "../../verifier-wasm/kernel_module.ts";
import { WasmBackend } from "../../verifier-wasm/wasm_backend.ts";

function assertSameBits(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    const x = new Uint32Array(a[i].buffer, a[i].byteOffset, a[i].length);
    const y = new Uint32Array(b[i].buffer, b[i].byteOffset, b[i].length);
    for (let j = 0; j < x.length; j++) {
      if (x[j] !== y[j]) assert.fail(`${what}: row ${i} logit ${j}: ${a[i][j]} vs ${b[i][j]}`);
    }
  }
}

for (const dtype of ["f32", "f16", "q8_0"] as const) {
  Deno.test(`threaded kernel: ${dtype} logits bit-identical to one thread (1-3 threads)`, async () => {
    // Odd sizes: 37 tokens (4-row attention blocks with a tail), 4 heads over 3 threads and an
    // odd vocabulary of 517 rows (uneven shares, a lone last row).
    const gguf = makeFixture({ size: "tiny", dtype, seed: 5n, vocab: 517 });
    const tokens = Array.from({ length: 37 }, (_, i) => (i * 53 + 3) % 517);
    const rows = [[36], [0, 5, 17, 36], tokens.map((_, i) => i)];
    for (const mirror of [true, false]) {
      const one = await WasmLlama.load(gguf, { mirrorLlamaCpp: mirror });
      for (const threads of [2, 3]) {
        const many = await WasmLlama.load(gguf, { mirrorLlamaCpp: mirror, threads });
        try {
          for (const r of rows) {
            assertSameBits(
              many.logitsAt(tokens, r),
              one.logitsAt(tokens, r),
              `${dtype} mirror=${mirror} threads=${threads} rows=${r.length}`,
            );
          }
        } finally {
          many.free();
        }
      }
      one.free();
    }
  });
}

Deno.test("threaded kernel: small q8_0 model with a 32000 vocabulary, 2 threads", async () => {
  const gguf = makeFixture({ size: "small", dtype: "q8_0", seed: 3n, vocab: 32000 });
  const tokens = Array.from({ length: 70 }, (_, i) => (i * 37 + 1) % 32000);
  const rows = [0, 33, 69];
  const one = await WasmLlama.load(gguf);
  const two = await WasmLlama.load(gguf, { threads: 2 });
  try {
    assertSameBits(two.logitsAt(tokens, rows), one.logitsAt(tokens, rows), "small q8_0");
  } finally {
    two.free();
    one.free();
  }
});

Deno.test("threaded kernel: bad thread counts are RangeErrors; a freed model throws", async () => {
  await assert.rejects(() => instantiateKernelThreads(0), RangeError);
  await assert.rejects(() => instantiateKernelThreads(65), RangeError);
  await assert.rejects(() => instantiateKernelThreads(1.5), RangeError);
  const gguf = makeFixture({ size: "tiny", dtype: "f32", seed: 2n });
  const m = await WasmLlama.load(gguf, { threads: 2 });
  m.free();
  assert.throws(() => m.logitsAt([1, 2], [1]), { code: "kernel/freed" });
});

Deno.test("threaded kernel: a trap in any thread is reported and the next job runs", async () => {
  const k = await instantiateKernelThreads(2);
  try {
    // q8_0 weight rows of 64 values (68 bytes): the first 32 rows end at the end of memory, the
    // other 32 lie past it, so whichever thread claims a chunk of those traps.
    const x = k.kernel_alloc(64 * 4);
    const y = k.kernel_alloc(64 * 4);
    for (let i = 0; i < 5; i++) {
      const w = k.memory.buffer.byteLength - 32 * 68;
      assert.throws(
        () => k.kernel_matmul(w, 8, x, 1, 64, 64, y, 1),
        (e: unknown) =>
          e instanceof WebAssembly.RuntimeError ||
          (e as { code?: string }).code === "kernel/worker-failed",
      );
      // The next job runs on both threads and is right: f32 rows of ones times x.
      const ones = k.kernel_alloc(64 * 64 * 4);
      new Float32Array(k.memory.buffer, ones, 64 * 64).fill(1);
      new Float32Array(k.memory.buffer, x, 64).fill(0.5);
      assert.equal(k.kernel_matmul(ones, 0, x, 1, 64, 64, y, 0), 0);
      assert.deepEqual([...new Float32Array(k.memory.buffer, y, 64)], new Array(64).fill(32));
    }
  } finally {
    k.close!();
  }
});

Deno.test("threaded kernel: idle helpers retire, the next job restarts them", async () => {
  const k = await instantiateKernelThreads(2, { helperIdleMs: 200 });
  // onnxruntime-web's Emscripten glue replaces globalThis.Worker with Node's worker_threads
  // class; restarted helpers must still be Web Workers.
  const original = globalThis.Worker;
  try {
    // f32 rows of ones times x = 0.5 everywhere: every output is 32.
    const ones = k.kernel_alloc(512 * 64 * 4);
    const x = k.kernel_alloc(64 * 4);
    const y = k.kernel_alloc(512 * 4);
    new Float32Array(k.memory.buffer, ones, 512 * 64).fill(1);
    new Float32Array(k.memory.buffer, x, 64).fill(0.5);
    const run = (what: string) => {
      new Float32Array(k.memory.buffer, y, 512).fill(0);
      assert.equal(k.kernel_matmul(ones, 0, x, 1, 64, 512, y, 0), 0, what);
      assert.deepEqual(
        [...new Float32Array(k.memory.buffer, y, 512)],
        new Array(512).fill(32),
        what,
      );
    };
    run("helpers up");
    await new Promise((r) => setTimeout(r, 500)); // helpers retire after 200 ms idle
    (globalThis as { Worker: unknown }).Worker = class {
      constructor() {
        throw new Error("not the Web Worker");
      }
    };
    run("caller alone, helper restarting");
    await new Promise((r) => setTimeout(r, 300));
    run("restarted helper");
  } finally {
    globalThis.Worker = original;
    k.close!();
  }
});

Deno.test("WasmBackend: every core by default, one thread with a caller's kernel, same logits", async () => {
  const gguf = makeFixture({ size: "tiny", dtype: "q8_0", seed: 12n, vocab: 400 });
  const tokens = Array.from({ length: 40 }, (_, i) => (i * 11 + 2) % 400);
  const bytes = await loadKernelBytes();
  const all = await WasmBackend.create(gguf);
  const custom = await WasmBackend.create(gguf, { wasm: bytes });
  try {
    const rows = [0, 17, 39];
    assertSameBits(
      await all.logitsAt(tokens, rows),
      await custom.logitsAt(tokens, rows),
      "default vs caller's kernel",
    );
  } finally {
    all.dispose();
    custom.dispose();
  }
});
