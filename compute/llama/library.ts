/**
 * @module Finds, opens and initialises llama.cpp once per process: libggml + libllama from
 * `@node-llama-cpp/linux-x64@3.22.1` (CPU), `@node-llama-cpp/linux-x64-cuda` with `gpu`, or the
 * directory in `LLAMA_LIB_DIR`. Routes llama.cpp's log to logtape (category
 * ["camelid", "llama"]), checks struct layouts, then loads the ggml backends from the same folder.
 */

import { getLogger } from "@logtape/logtape";
import {
  checkLayouts,
  cString,
  GGML_BASE_SYMBOLS,
  GGML_SYMBOLS,
  type GgmlSymbols,
  LLAMA_SYMBOLS,
  LlamaError,
  type LlamaSymbols,
  NODE_LLAMA_CPP_VERSION,
  THREADPOOL_FREE,
  THREADPOOL_NEW,
  THREADPOOL_PARAMS,
} from "./ffi.ts";

const log = getLogger(["camelid", "llama"]);

/** How to find the native libraries. */
export interface LibraryOptions {
  /** Use the CUDA build (`@node-llama-cpp/linux-x64-cuda`). */
  gpu?: boolean;
  /** Directory holding libllama/libggml; defaults to `LLAMA_LIB_DIR`, then the npm package. */
  libDir?: string;
}

/** An opened llama.cpp: its symbols and where they came from. */
export interface LlamaLibrary {
  /** libllama symbols. */
  llama: LlamaSymbols;
  /** libggml symbols. */
  ggml: GgmlSymbols;
  /** Folder the libraries were loaded from. */
  dir: string;
  /** Whether this is the GPU build. */
  gpu: boolean;
  /** Number of ggml devices after loading the backends. */
  devices: number;
  /**
   * Creates a persistent CPU threadpool of `threads` workers with polling level `poll` (0: wait on
   * a condition variable, 100: spin), or returns null when the CPU backend does not offer one.
   */
  newThreadpool(threads: number, poll: number): Deno.PointerObject | null;
  /** Frees a threadpool from {@link LlamaLibrary.newThreadpool}. */
  freeThreadpool(pool: Deno.PointerObject): void;
}

let loaded: LlamaLibrary | null = null;
const LOG_CALLBACK = { parameters: ["i32", "pointer", "pointer"], result: "void" } as const;
/** Kept referenced for the life of the process: llama.cpp holds its pointer. */
let keptLogCallback: Deno.UnsafeCallback<typeof LOG_CALLBACK> | null = null;

function packageDir(pkg: string): string | null {
  try {
    const entry = import.meta.resolve(pkg);
    if (entry.startsWith("file:")) {
      return new URL("../bins/linux-x64/", entry).pathname;
    }
  } catch {
    // Not in the import map: look in node_modules below.
  }
  const roots = [Deno.cwd(), new URL("../../", import.meta.url).pathname];
  for (const root of roots) {
    const dir = `${root.replace(/\/$/, "")}/node_modules/${pkg}/bins/linux-x64/`;
    try {
      Deno.statSync(dir);
      return dir;
    } catch {
      // try the next root
    }
  }
  return null;
}

function findLib(dir: string, stem: string): string {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    throw new LlamaError("llama/library-not-found", `llama.cpp library folder ${dir} not found`);
  }
  const exact = names.find((n) => n === `${stem}.so`);
  const versioned = names.filter((n) => n.startsWith(`${stem}.`) && n.endsWith(".so")).sort();
  const name = exact ?? versioned[0];
  if (!name) {
    throw new LlamaError("llama/library-not-found", `no ${stem}*.so in ${dir}`);
  }
  return dir.replace(/\/?$/, "/") + name;
}

/** Resolves the folder holding the native libraries for `opts`. */
export function resolveLibraryDir(opts: LibraryOptions = {}): string {
  const override = opts.libDir ?? Deno.env.get("LLAMA_LIB_DIR");
  if (override) return override.replace(/\/?$/, "/");
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new LlamaError(
      "llama/library-not-found",
      `no bundled llama.cpp for ${Deno.build.os}/${Deno.build.arch}; set LLAMA_LIB_DIR`,
    );
  }
  const pkg = opts.gpu ? "@node-llama-cpp/linux-x64-cuda" : "@node-llama-cpp/linux-x64";
  const dir = packageDir(pkg);
  if (!dir) {
    throw new LlamaError(
      opts.gpu ? "llama/gpu-unavailable" : "llama/library-not-found",
      `${pkg}@${NODE_LLAMA_CPP_VERSION} is not installed` +
        (opts.gpu
          ? `; install it with: deno add npm:${pkg}@${NODE_LLAMA_CPP_VERSION} (or set LLAMA_LIB_DIR)`
          : "; run `deno install` (or set LLAMA_LIB_DIR)"),
    );
  }
  return dir;
}

const recentErrors: string[] = [];

/**
 * Returns and forgets the error lines llama.cpp logged since the last call (at most the last 20),
 * so a failed native call can say why.
 */
export function takeLlamaErrors(): string[] {
  return recentErrors.splice(0, recentErrors.length);
}

function installLogger(llama: LlamaSymbols): void {
  let pending = "";
  let level = 2;
  const emit = (lvl: number, text: string) => {
    const msg = text.replace(/\s+$/, "");
    if (!msg) return;
    if (lvl >= 4) {
      recentErrors.push(msg);
      if (recentErrors.length > 20) recentErrors.shift();
      log.error("{msg}", { msg });
    } else if (lvl === 3) log.warn("{msg}", { msg });
    else log.debug("{msg}", { msg });
  };
  const cb = Deno.UnsafeCallback.threadSafe(
    LOG_CALLBACK,
    (lvl: number, text: Deno.PointerValue) => {
      if (!text) return;
      const s = Deno.UnsafePointerView.getCString(text);
      if (lvl !== 5) level = lvl;
      pending += s;
      const nl = pending.lastIndexOf("\n");
      if (nl >= 0) {
        for (const line of pending.slice(0, nl).split("\n")) emit(level, line);
        pending = pending.slice(nl + 1);
      }
    },
  );
  cb.unref();
  keptLogCallback = cb;
  llama.llama_log_set(cb.pointer, null);
}

/**
 * Opens llama.cpp (once per process; later calls return the same library, and asking for a
 * different build or folder then throws). Throws `LlamaError` with `llama/library-not-found`,
 * `llama/gpu-unavailable` or `llama/layout-mismatch`.
 */
export function loadLibrary(opts: LibraryOptions = {}): LlamaLibrary {
  const dir = resolveLibraryDir(opts);
  const ggmlPath = findLib(dir, "libggml");
  const llamaPath = findLib(dir, "libllama");
  if (loaded) {
    if (loaded.dir !== dir) {
      throw new LlamaError(
        "llama/library-conflict",
        `llama.cpp is already loaded from ${loaded.dir}; cannot also load ${dir}`,
      );
    }
    return loaded;
  }
  let ggml: Deno.DynamicLibrary<typeof GGML_SYMBOLS>;
  let llama: Deno.DynamicLibrary<typeof LLAMA_SYMBOLS>;
  try {
    ggml = Deno.dlopen(ggmlPath, GGML_SYMBOLS);
  } catch (e) {
    throw new LlamaError("llama/library-not-found", `cannot open ${ggmlPath}: ${e}`, { cause: e });
  }
  try {
    llama = Deno.dlopen(llamaPath, LLAMA_SYMBOLS);
  } catch (e) {
    ggml.close();
    throw new LlamaError("llama/library-not-found", `cannot open ${llamaPath}: ${e}`, { cause: e });
  }
  try {
    checkLayouts(llama.symbols);
  } catch (e) {
    llama.close();
    ggml.close();
    throw e;
  }
  installLogger(llama.symbols);
  // ggml's backend registry is process-wide: another isolate (a Worker, another test module) may
  // have loaded the backends already, and loading them twice would register duplicate devices.
  if (Number(ggml.symbols.ggml_backend_dev_count()) === 0) {
    ggml.symbols.ggml_backend_load_all_from_path(cString(dir));
  }
  llama.symbols.llama_backend_init();
  const devices = Number(ggml.symbols.ggml_backend_dev_count());
  if (devices === 0) {
    throw new LlamaError("llama/library-not-found", `no ggml backend could be loaded from ${dir}`);
  }
  const gpu = !!opts.gpu;
  if (gpu && (!llama.symbols.llama_supports_gpu_offload() || devices < 2)) {
    throw new LlamaError(
      "llama/gpu-unavailable",
      `the llama.cpp build in ${dir} found no GPU device (${devices} ggml devices)`,
    );
  }
  log.debug("llama.cpp loaded from {dir} with {devices} devices", { dir, devices });
  const pools = threadpoolFunctions(dir, ggml.symbols);
  loaded = { llama: llama.symbols, ggml: ggml.symbols, dir, gpu, devices, ...pools };
  return loaded;
}

/**
 * Threadpool helpers from the CPU backend (found through ggml's registry, whichever CPU variant
 * library was loaded). Without them llama.cpp creates and destroys a polling threadpool for every
 * graph, which is very slow when cores are oversubscribed.
 */
function threadpoolFunctions(
  dir: string,
  ggml: GgmlSymbols,
): Pick<LlamaLibrary, "newThreadpool" | "freeThreadpool"> {
  const none = { newThreadpool: () => null, freeThreadpool: () => {} };
  let base: Deno.DynamicLibrary<typeof GGML_BASE_SYMBOLS>;
  try {
    base = Deno.dlopen(findLib(dir, "libggml-base"), GGML_BASE_SYMBOLS);
  } catch (e) {
    log.warn("no libggml-base: default llama.cpp threading ({e})", { e: String(e) });
    return none;
  }
  const reg = ggml.ggml_backend_reg_by_name(cString("CPU"));
  const proc = (name: string) =>
    reg ? base.symbols.ggml_backend_reg_get_proc_address(reg, cString(name)) : null;
  const newPtr = proc("ggml_threadpool_new");
  const freePtr = proc("ggml_threadpool_free");
  if (!newPtr || !freePtr) return none;
  // Check the params layout against ggml's own initialiser before relying on it.
  const probe = new Uint8Array(THREADPOOL_PARAMS.size);
  base.symbols.ggml_threadpool_params_init(probe, 3);
  const dv = new DataView(probe.buffer);
  const o = THREADPOOL_PARAMS.offsets;
  if (
    dv.getInt32(o.n_threads, true) !== 3 || dv.getUint32(o.poll, true) !== 50 ||
    dv.getInt32(o.prio, true) !== 0 || probe[o.strict_cpu] !== 0 || probe[o.paused] !== 0
  ) {
    throw new LlamaError(
      "llama/layout-mismatch",
      "ggml_threadpool_params defaults do not match ggml.h of node-llama-cpp " +
        NODE_LLAMA_CPP_VERSION,
    );
  }
  const create = new Deno.UnsafeFnPointer(
    newPtr as Deno.PointerObject<typeof THREADPOOL_NEW>,
    THREADPOOL_NEW,
  );
  const destroy = new Deno.UnsafeFnPointer(
    freePtr as Deno.PointerObject<typeof THREADPOOL_FREE>,
    THREADPOOL_FREE,
  );
  return {
    newThreadpool(threads: number, poll: number) {
      const params = new Uint8Array(THREADPOOL_PARAMS.size);
      base.symbols.ggml_threadpool_params_init(params, threads);
      new DataView(params.buffer).setUint32(o.poll, poll, true);
      return create.call(params);
    },
    freeThreadpool(pool: Deno.PointerObject) {
      destroy.call(pool);
    },
  };
}

/** Whether llama.cpp's log is routed to logtape (true once the library is loaded). */
export function isLogRouted(): boolean {
  return keptLogCallback !== null;
}
