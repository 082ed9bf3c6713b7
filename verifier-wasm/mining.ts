/**
 * @module SHA-256d proof-of-work search with the WASM kernel (kernel/src/sha.rs): four nonces per
 * SIMD lane set, midstate reuse. `createMiner()` once (async: it loads the module), then
 * `searchNonces` synchronously over bounded nonce ranges, e.g. one miner per worker thread.
 *
 * A header is 80 bytes: version u32 LE | prevHash 32 | merkleRoot 32 | time u32 LE | bits u32 LE
 * | nonce u32 LE at offset 76. Proof of work holds when SHA-256d(header), read as a big-endian
 * 256-bit integer in digest byte order, is <= the 32-byte big-endian target.
 */

import {
  createKernel,
  instantiateKernel,
  kernelAlloc,
  type KernelExports,
  type KernelSource,
} from "./kernel_module.ts";

/** Largest nonce count one `searchNonces` call accepts. */
export const MAX_SEARCH_COUNT = 0x1_0000_0000;

/** A synchronous nonce searcher backed by one kernel instance. */
export interface Miner {
  /**
   * The smallest nonce in `[start, start + count)` whose header meets `target`, or null.
   * The nonce bytes of `header80` are ignored (each candidate is written in its place).
   * Throws TypeError/RangeError on a bad header, target or range.
   */
  searchNonces(
    header80: Uint8Array,
    target: Uint8Array,
    start: number,
    count: number,
  ): number | null;
  /** SHA-256d of an 80-byte header computed by the kernel (scalar path), 32 bytes. */
  hashHeader(header80: Uint8Array): Uint8Array;
  /** Total nonces hashed by this miner so far. */
  readonly hashCount: number;
}

class WasmMiner implements Miner {
  #k: KernelExports;
  #header: number;
  #target: number;
  #out: number;

  constructor(k: KernelExports) {
    this.#k = k;
    this.#header = kernelAlloc(k, 80);
    this.#target = kernelAlloc(k, 32);
    this.#out = kernelAlloc(k, 32);
  }

  #put(p: number, bytes: Uint8Array): void {
    new Uint8Array(this.#k.memory.buffer, p, bytes.length).set(bytes);
  }

  searchNonces(
    header80: Uint8Array,
    target: Uint8Array,
    start: number,
    count: number,
  ): number | null {
    checkHeader(header80);
    if (!(target instanceof Uint8Array) || target.length !== 32) {
      throw new TypeError("target must be a 32-byte Uint8Array");
    }
    if (!Number.isInteger(start) || start < 0 || start > 0xffff_ffff) {
      throw new RangeError(`nonce start must be an integer in [0, 2^32), got ${start}`);
    }
    if (!Number.isInteger(count) || count < 0 || start + count > MAX_SEARCH_COUNT) {
      throw new RangeError(
        `nonce count must be an integer with start + count <= 2^32, got ${count}`,
      );
    }
    if (count === 0) return null;
    this.#put(this.#header, header80);
    this.#put(this.#target, target);
    // count may be 2^32, which does not fit the u32 argument: split the range.
    let s = start;
    let left = count;
    while (left > 0) {
      const n = Math.min(left, 0x8000_0000);
      const r = this.#k.sha_mine(this.#header, this.#target, s, n);
      if (r >= 0n) return Number(r);
      s += n;
      left -= n;
    }
    return null;
  }

  hashHeader(header80: Uint8Array): Uint8Array {
    checkHeader(header80);
    this.#put(this.#header, header80);
    this.#k.sha_sha256d_header(this.#header, this.#out);
    return new Uint8Array(this.#k.memory.buffer, this.#out, 32).slice();
  }

  get hashCount(): number {
    return this.#k.sha_hash_count();
  }
}

function checkHeader(h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== 80) {
    throw new TypeError("block header must be an 80-byte Uint8Array");
  }
}

/**
 * A miner with its own kernel instance. Pass `{ wasm: module }` with a compiled
 * `WebAssembly.Module` to skip loading and compiling (e.g. in workers of a pool).
 */
export async function createMiner(src: KernelSource = {}): Promise<Miner> {
  return new WasmMiner(await createKernel(src));
}

/** A miner from an already compiled kernel module, synchronously. */
export function createMinerSync(module: WebAssembly.Module): Miner {
  return new WasmMiner(instantiateKernel(module));
}
