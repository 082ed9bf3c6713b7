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
  GGML_SYMBOLS,
  type GgmlSymbols,
  LLAMA_SYMBOLS,
  LlamaError,
  type LlamaSymbols,
  NODE_LLAMA_CPP_VERSION,
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
  loaded = { llama: llama.symbols, ggml: ggml.symbols, dir, gpu, devices };
  return loaded;
}

/** Whether llama.cpp's log is routed to logtape (true once the library is loaded). */
export function isLogRouted(): boolean {
  return keptLogCallback !== null;
}
