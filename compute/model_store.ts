/**
 * @module A directory of GGUF models indexed by model id. Full nodes use it to check fraud proofs,
 * compute nodes to serve jobs, clients to verify locally.
 */

import { getLogger } from "@logtape/logtape";
import { NotFoundError } from "../chain/errors.ts";
import { modelIdOfFile } from "./model_file.ts";
import { chunkLeafHash, MODEL_CHUNK_SIZE } from "../chain/model_id.ts";

const log = getLogger(["camelid", "models"]);

/** Models available on this machine, by id. */
export class ModelStore {
  readonly #paths = new Map<string, string>();
  readonly #bytes = new Map<string, Promise<Uint8Array>>();
  readonly #leaves = new Map<string, Promise<Uint8Array[]>>();

  /** Indexes the given GGUF files and every `*.gguf` in the given directories. */
  static async open(sources: { files?: string[]; dirs?: string[] }): Promise<ModelStore> {
    const store = new ModelStore();
    const files = [...(sources.files ?? [])];
    for (const dir of sources.dirs ?? []) {
      for await (const e of Deno.readDir(dir)) {
        if (e.isFile && e.name.endsWith(".gguf")) files.push(`${dir}/${e.name}`);
      }
    }
    for (const f of files) await store.add(f);
    return store;
  }

  /** Adds one file; returns its model id. */
  async add(path: string): Promise<string> {
    const id = await modelIdOfFile(path);
    this.#paths.set(id, path);
    log.debug("Model {id} at {path}", { id, path });
    return id;
  }

  /** Model ids known here. */
  ids(): string[] {
    return [...this.#paths.keys()];
  }

  /** Path of a model, or undefined. */
  path(id: string): string | undefined {
    return this.#paths.get(id);
  }

  /** Size in bytes and chunk count of a model held here. */
  async info(id: string): Promise<{ size: number; chunks: number } | null> {
    const path = this.#paths.get(id);
    if (!path) return null;
    const size = (await Deno.stat(path)).size;
    return { size, chunks: Math.max(1, Math.ceil(size / MODEL_CHUNK_SIZE)) };
  }

  /** Leaf hashes of every 1 MiB chunk (cached): what a fetching peer checks chunks against. */
  leaves(id: string): Promise<Uint8Array[]> {
    let p = this.#leaves.get(id);
    if (!p) {
      p = (async () => {
        const path = this.#paths.get(id);
        if (!path) {
          throw new NotFoundError("model/unavailable", `model ${id} is not available here`);
        }
        const out: Uint8Array[] = [];
        const file = await Deno.open(path);
        try {
          const buf = new Uint8Array(MODEL_CHUNK_SIZE);
          for (;;) {
            const n = await readFull(file, buf);
            if (n === 0 && out.length > 0) break;
            out.push(chunkLeafHash(buf.subarray(0, n)));
            if (n < MODEL_CHUNK_SIZE) break;
          }
        } finally {
          file.close();
        }
        return out;
      })();
      this.#leaves.set(id, p);
    }
    return p;
  }

  /** Chunk `index` (1 MiB, the last one shorter) of a model held here, read from disk. */
  async chunk(id: string, index: number): Promise<Uint8Array> {
    const path = this.#paths.get(id);
    const info = await this.info(id);
    if (!path || !info) {
      throw new NotFoundError("model/unavailable", `model ${id} is not available here`);
    }
    if (!Number.isInteger(index) || index < 0 || index >= info.chunks) {
      throw new NotFoundError("model/no-chunk", `model ${id} has no chunk ${index}`);
    }
    const file = await Deno.open(path);
    try {
      await file.seek(index * MODEL_CHUNK_SIZE, Deno.SeekMode.Start);
      const buf = new Uint8Array(Math.min(MODEL_CHUNK_SIZE, info.size - index * MODEL_CHUNK_SIZE));
      await readFull(file, buf);
      return buf;
    } finally {
      file.close();
    }
  }

  /** Where missing models come from (e.g. peers); set by the node once its network runs. */
  fetcher?: (id: string) => Promise<string>;

  /** The bytes of a model (read once, then cached); fetched first when a fetcher is set. */
  async bytes(id: string): Promise<Uint8Array> {
    if (!this.#paths.has(id) && this.fetcher) {
      const fetched = await this.fetcher(id);
      if (await this.add(fetched) !== id) {
        throw new NotFoundError("model/unavailable", `the fetched file is not model ${id}`);
      }
    }
    const path = this.#paths.get(id);
    if (!path) throw new NotFoundError("model/unavailable", `model ${id} is not available here`);
    let p = this.#bytes.get(id);
    if (!p) {
      p = Deno.readFile(path);
      this.#bytes.set(id, p);
    }
    return await p;
  }
}

async function readFull(file: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}
