/**
 * @module Benchmarks of the WASM kernel (verifier-wasm/kernel/src), side by side in one run:
 * - llama prefill of the `small` fixture (L8/E512/FF1408, byte vocabulary) in f32, f16 and q8_0:
 *   the WASM kernel next to llama.cpp (compute/generate.ts `prefillLogits`), each on 1 and 2
 *   threads, 128 tokens, logits at the last position. Tokens/s = 128 / (time per iteration).
 * - SHA-256d mining: the WASM kernel next to a plain TypeScript sha256d loop (chain/hash.ts),
 *   the same 5,000 nonces per iteration. Hashes/s = 5,000 / (time per iteration).
 */

import { sha256d } from "../../chain/hash.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { prefillLogits } from "../../compute/generate.ts";
import { loadModel } from "../../compute/llama/llama.ts";
import { WasmLlama } from "../../verifier-wasm/kernel.ts";
import { createMiner } from "../../verifier-wasm/mining.ts";

const PREFILL_TOKENS = 128;
const tokens = Array.from({ length: PREFILL_TOKENS }, (_, i) => (i * 37 + 5) % 260);
const last = [PREFILL_TOKENS - 1];
const dir = await Deno.makeTempDir({ prefix: "kernel_bench" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

for (const dtype of ["f32", "f16", "q8_0"] as const) {
  const gguf = makeFixture({ size: "small", dtype, seed: 1n });
  const path = `${dir}/small-${dtype}.gguf`;
  await Deno.writeFile(path, gguf);
  const llama = await loadModel(path);
  const group = `prefill small ${dtype}, ${PREFILL_TOKENS} tokens`;
  for (const threads of [1, 2]) {
    const wasm = await WasmLlama.load(gguf, { threads });
    Deno.bench({
      name: `prefill: llama.cpp, small ${dtype}, ${threads} thread(s)`,
      group,
      baseline: threads === 1,
      n: 8,
      warmup: 1,
      async fn() {
        await prefillLogits(llama, tokens, last, { threads });
      },
    });
    Deno.bench({
      name: `prefill: WASM kernel, small ${dtype}, ${threads} thread(s)`,
      group,
      n: 8,
      warmup: 1,
      fn() {
        wasm.logitsAt(tokens, last);
      },
    });
  }
}

const NONCES = 5_000;
const header = new Uint8Array(80).map((_, i) => (i * 37 + 11) & 0xff);
const never = new Uint8Array(32); // no digest is <= 0: every nonce is hashed
const miner = await createMiner();
let sink = 0;

Deno.bench({
  name: `mining: TypeScript sha256d loop, ${NONCES} nonces`,
  group: "mining",
  baseline: true,
  fn() {
    const h = header.slice();
    const dv = new DataView(h.buffer);
    let hits = 0;
    for (let n = 0; n < NONCES; n++) {
      dv.setUint32(76, n, true);
      if (sha256d(h)[0] === 0) hits++;
    }
    sink += hits;
  },
});

Deno.bench({
  name: `mining: WASM kernel, ${NONCES} nonces`,
  group: "mining",
  fn() {
    sink += miner.searchNonces(header, never, 0, NONCES) ?? 0;
  },
});
