/**
 * @module The sampler's noise blocks on the WASM kernel (`sampler_noise_blocks`, kernel/src/noise.rs:
 * eight blocks per SIMD pass with the key's first rounds computed once), installed into
 * `sampler.ts` so that competitor searches over a whole vocabulary (T > 0 without top-k/top-p)
 * hash at kernel speed. Same words as the TypeScript hasher (checked when installed and in
 * the tests), so nothing but speed depends on it.
 */

import {
  createKernel,
  kernelAlloc,
  type KernelExports,
  type KernelSource,
} from "./kernel_module.ts";
import { type NoiseBlockHasher, useNoiseBlockHasher } from "./sampler.ts";

/** Blocks hashed per kernel call (the output region is 32 bytes a block). */
const CHUNK_BLOCKS = 4096;

/** A {@link NoiseBlockHasher} on kernel instance `k` (allocates its own 128 KiB region). */
export function kernelNoiseBlockHasher(k: KernelExports): NoiseBlockHasher {
  const keyPtr = kernelAlloc(k, 32);
  const outPtr = kernelAlloc(k, CHUNK_BLOCKS * 32);
  return (key, first, count, out) => {
    if (key.length !== 32) throw new RangeError("key must be 32 bytes");
    if (out.length < count * 8) throw new RangeError("out holds fewer than 8 words a block");
    new Uint8Array(k.memory.buffer, keyPtr, 32).set(key);
    for (let done = 0; done < count; done += CHUNK_BLOCKS) {
      const n = Math.min(CHUNK_BLOCKS, count - done);
      k.sampler_noise_blocks(keyPtr, (first + done) >>> 0, n, outPtr);
      out.set(new Uint32Array(k.memory.buffer, outPtr, n * 8), done * 8);
    }
  };
}

let installed: Promise<void> | undefined;

/**
 * Installs the kernel's noise block hasher in the sampler, on a plain kernel instance of its own
 * (once per process; later calls return the same promise). A kernel built before the export
 * existed leaves the TypeScript hasher in place.
 */
export function installKernelNoiseHasher(src: KernelSource = {}): Promise<void> {
  if (!installed) {
    const p = createKernel(src).then((k) => {
      if (typeof k.sampler_noise_blocks === "function") {
        useNoiseBlockHasher(kernelNoiseBlockHasher(k));
      }
    });
    installed = p;
    p.catch(() => {
      if (installed === p) installed = undefined;
    });
  }
  return installed;
}
