/**
 * @module Loads the compiled Rust kernel (`kernel.wasm`, built by `build.sh` from `kernel/src`)
 * in any runtime: Deno, Node or a browser. The bytes come from, in order: an explicit option
 * (bytes, a compiled module or a URL), or `kernel.wasm` beside this module, fetched over
 * http(s) or read from disk for `file:` URLs (Deno and Node). The module has no imports; each
 * instance owns its own linear memory.
 */

/** ABI version the loaders expect (`kernel_abi_version()` of the module). */
export const KERNEL_ABI_VERSION = 1;

/** Raw exports of the kernel module (see verifier-wasm/kernel/src). */
export interface KernelExports {
  /** The instance's linear memory. */
  memory: WebAssembly.Memory;
  /** ABI version of this build. */
  kernel_abi_version(): number;
  /** Allocates `size` bytes (16-byte aligned) on the bump heap; 0 when memory cannot grow. */
  kernel_alloc(size: number): number;
  /** Current heap top. */
  kernel_mark(): number;
  /** Frees everything allocated after a mark. */
  kernel_reset(mark: number): void;
  /** Llama prefill: 0 or a negative error code. */
  llama_prefill(
    desc: number,
    tokens: number,
    nTokens: number,
    rows: number,
    nRows: number,
    out: number,
  ): number;
  /** `y = W x` over `t` activation rows; 0 or -1. */
  kernel_matmul(
    w: number,
    type: number,
    x: number,
    t: number,
    nIn: number,
    nOut: number,
    y: number,
    mirror: number,
  ): number;
  /** Searches nonces; the nonce found or -1n. */
  sha_mine(header: number, target: number, start: number, count: number): bigint;
  /** Nonces hashed by `sha_mine` so far in this instance. */
  sha_hash_count(): number;
  /** Scalar SHA-256d of an 80-byte header into 32 bytes. */
  sha_sha256d_header(header: number, out: number): void;
  /** The kernel's f32 `expf`. */
  kernel_expf(x: number): number;
  /** The kernel's f32 `sinf`. */
  kernel_sinf(x: number): number;
  /** The kernel's f32 `cosf`. */
  kernel_cosf(x: number): number;
  /** f32 to binary16 bits (round to nearest even). */
  kernel_f32_to_f16(x: number): number;
  /** binary16 bits to f32. */
  kernel_f16_to_f32(h: number): number;
  /** Eight digest words of each sampler noise block `first .. first + count - 1` of a key. */
  sampler_noise_blocks(key: number, first: number, count: number, out: number): void;
  /** Threads the prefill splits its work over (always 1 in kernel.wasm); returns the count. */
  kernel_set_threads(n: number): number;
  /** Threaded instances only (kernel_threads.ts): stops the helper threads. */
  close?(): void;
}

/** Where the kernel comes from; all optional. */
export interface KernelSource {
  /** The `.wasm` bytes, or an already compiled module (e.g. shared with workers). */
  wasm?: Uint8Array | WebAssembly.Module;
  /** Where to load `kernel.wasm` from (default: beside this module). */
  wasmUrl?: URL | string;
}

let defaultModule: Promise<WebAssembly.Module> | undefined;

type FileReader = (url: URL) => Promise<Uint8Array>;

async function readFileUrl(url: URL): Promise<Uint8Array> {
  const deno = (globalThis as { Deno?: { readFile: FileReader } }).Deno;
  if (deno) return await deno.readFile(url);
  // Node: a computed specifier keeps browser bundlers from resolving node:fs.
  const spec = "node:fs/promises";
  const fs = await import(spec) as { readFile(u: URL): Promise<Uint8Array> };
  const buf = await fs.readFile(url);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The bytes of `kernel.wasm` at `url` (default: beside this module). */
export async function loadKernelBytes(url?: URL | string): Promise<Uint8Array> {
  const u = url === undefined ? new URL("./kernel.wasm", import.meta.url) : new URL(url);
  if (u.protocol === "file:") return await readFileUrl(u);
  const res = await fetch(u);
  if (!res.ok) throw new Error(`cannot fetch ${u.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The compiled kernel module (the default one is compiled once and cached). */
export function kernelModule(src: KernelSource = {}): Promise<WebAssembly.Module> {
  if (src.wasm instanceof WebAssembly.Module) return Promise.resolve(src.wasm);
  if (src.wasm) return WebAssembly.compile(src.wasm as Uint8Array<ArrayBuffer>);
  if (src.wasmUrl !== undefined) {
    return loadKernelBytes(src.wasmUrl).then((b) =>
      WebAssembly.compile(b as Uint8Array<ArrayBuffer>)
    );
  }
  if (!defaultModule) {
    const p = loadKernelBytes().then((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>));
    defaultModule = p;
    // A failed load is not cached: the next call tries again.
    p.catch(() => {
      if (defaultModule === p) defaultModule = undefined;
    });
  }
  return defaultModule;
}

/** A fresh instance of a compiled kernel module (synchronous; checks the ABI version). */
export function instantiateKernel(module: WebAssembly.Module): KernelExports {
  const inst = new WebAssembly.Instance(module, {});
  const k = inst.exports as unknown as KernelExports;
  if (typeof k.kernel_abi_version !== "function" || k.kernel_abi_version() !== KERNEL_ABI_VERSION) {
    throw new TypeError(
      `kernel.wasm has ABI ${k.kernel_abi_version?.()}, want ${KERNEL_ABI_VERSION}`,
    );
  }
  return k;
}

/** A fresh kernel instance from `src` (loaded and compiled as {@link kernelModule} does). */
export async function createKernel(src: KernelSource = {}): Promise<KernelExports> {
  return instantiateKernel(await kernelModule(src));
}

/** Allocates `size` bytes in the kernel heap or throws RangeError when memory cannot grow. */
export function kernelAlloc(k: KernelExports, size: number): number {
  if (!Number.isInteger(size) || size < 0 || size > 0xffff_0000) {
    throw new RangeError(`kernel allocation of ${size} bytes exceeds 32-bit memory`);
  }
  const p = k.kernel_alloc(size);
  if (p === 0) throw new RangeError(`kernel memory exhausted allocating ${size} bytes`);
  return p;
}
