/**
 * @module A directory of GGUF models indexed by model id. Full nodes use it to check fraud proofs,
 * compute nodes to serve jobs, clients to verify locally.
 */

import { getLogger } from "@logtape/logtape";
import { NotFoundError } from "../chain/errors.ts";
import { modelIdOfFile } from "./model_file.ts";

const log = getLogger(["camelid", "models"]);

/** Models available on this machine, by id. */
export class ModelStore {
  readonly #paths = new Map<string, string>();
  readonly #bytes = new Map<string, Promise<Uint8Array>>();

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

  /** The bytes of a model (read once, then cached). Throws `NotFoundError` `model/unavailable`. */
  bytes(id: string): Promise<Uint8Array> {
    const path = this.#paths.get(id);
    if (!path) {
      return Promise.reject(
        new NotFoundError("model/unavailable", `model ${id} is not available here`),
      );
    }
    let p = this.#bytes.get(id);
    if (!p) {
      p = Deno.readFile(path);
      this.#bytes.set(id, p);
    }
    return p;
  }
}
