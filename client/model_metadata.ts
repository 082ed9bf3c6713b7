/**
 * @module A model's GGUF metadata (its tokenizer and chat template) from a node, without the
 * weights and without trusting the node: the chunk manifest (`GET /v1/models/:id`) must hash to the
 * model id (RFC 6962 Merkle root of the 1 MiB chunk leaves), and each of the first chunks
 * (`GET /v1/models/:id/chunks/:index`) must hash to its leaf, until the GGUF header parses.
 * Cached per model id. Uses only `fetch`: runs in Deno, Node and browsers.
 */

import { fromHex, isHex32, toHex } from "../chain/bytes.ts";
import { CamelidError, DecodeError } from "../chain/errors.ts";
import { chunkLeafHash, merkleTreeHash, MODEL_CHUNK_SIZE } from "../chain/model_id.ts";
import type { GGUFMetadata } from "../verifier-wasm/gguf.ts";
import { ggufMetadata, Tokenizer } from "./tokenizer/mod.ts";

/** Errors of fetching a model's metadata (codes `model/...`). */
export class ModelMetadataError extends CamelidError {}

/** Options of {@link fetchModelMetadata}. */
export interface MetadataFetchOptions {
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Most bytes of the file to read for the header (default 64 MiB). */
  maxBytes?: number;
  /** Use and fill the per-id cache (default true). */
  cache?: boolean;
}

/** A model's metadata and how much of the file it took. */
export interface ModelMetadata {
  /** The model id it was checked against. */
  id: string;
  /** File size in bytes. */
  size: number;
  /** The GGUF metadata. */
  metadata: GGUFMetadata;
  /** Chunks fetched and checked. */
  chunksRead: number;
}

const cache = new Map<string, Promise<ModelMetadata>>();

/** GET `url`; a 404 is `model/unavailable`, any other failure `model/bad-response`. */
async function get(f: typeof fetch, url: string): Promise<Response> {
  let res: Response;
  try {
    res = await f(url);
  } catch (e) {
    throw new ModelMetadataError("model/peer-unreachable", `nothing answers at ${url}: ${e}`, {
      cause: e,
    });
  }
  if (!res.ok) {
    await res.body?.cancel();
    if (res.status === 404) {
      throw new ModelMetadataError("model/unavailable", `${url}: the node does not hold the model`);
    }
    throw new ModelMetadataError("model/bad-response", `${url}: HTTP ${res.status}`);
  }
  return res;
}

/**
 * Fetches and checks the metadata of model `id` from the node at `node`. Throws
 * `ModelMetadataError` (`model/peer-unreachable`, `model/unavailable`, `model/bad-response`,
 * `model/bad-manifest`, `model/bad-chunk`, `model/header-too-large`) or `DecodeError` (`gguf/...`).
 */
export function fetchModelMetadata(
  node: string,
  id: string,
  opts: MetadataFetchOptions = {},
): Promise<ModelMetadata> {
  if (!isHex32(id)) {
    throw new RangeError("model id must be 64 lowercase hex characters");
  }
  if (opts.cache === false) return load(node.replace(/\/$/, ""), id, opts);
  let p = cache.get(id);
  if (!p) {
    p = load(node.replace(/\/$/, ""), id, opts);
    cache.set(id, p);
    p.catch(() => cache.delete(id));
  }
  return p;
}

async function load(base: string, id: string, opts: MetadataFetchOptions): Promise<ModelMetadata> {
  const f = opts.fetch ?? globalThis.fetch;
  const maxBytes = opts.maxBytes ?? 64 * MODEL_CHUNK_SIZE;
  const m = await (await get(f, `${base}/v1/models/${id}`)).json() as {
    size?: unknown;
    chunks?: unknown;
    leaves?: unknown;
  };
  const size = m.size;
  if (
    typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 ||
    !Array.isArray(m.leaves) || !m.leaves.every((h) => typeof h === "string")
  ) {
    throw new ModelMetadataError("model/bad-manifest", `the manifest of ${id} is malformed`);
  }
  const chunks = Math.max(1, Math.ceil(size / MODEL_CHUNK_SIZE));
  let leaves: Uint8Array[];
  try {
    leaves = (m.leaves as string[]).map((h) => fromHex(h, 32));
  } catch (e) {
    throw new ModelMetadataError("model/bad-manifest", `the manifest of ${id} is malformed`, {
      cause: e,
    });
  }
  if (leaves.length !== chunks || m.chunks !== chunks || toHex(merkleTreeHash(leaves)) !== id) {
    throw new ModelMetadataError(
      "model/bad-manifest",
      `the node's chunk manifest does not hash to model id ${id}`,
    );
  }
  const parts: Uint8Array[] = [];
  let have = 0;
  for (let index = 0; index < chunks; index++) {
    if (have >= maxBytes) {
      throw new ModelMetadataError(
        "model/header-too-large",
        `the GGUF header of ${id} does not fit in ${maxBytes} bytes`,
      );
    }
    const res = await get(f, `${base}/v1/models/${id}/chunks/${index}`);
    const chunk = new Uint8Array(await res.arrayBuffer());
    const want = Math.min(MODEL_CHUNK_SIZE, size - index * MODEL_CHUNK_SIZE);
    if (chunk.length !== want || toHex(chunkLeafHash(chunk)) !== toHex(leaves[index])) {
      throw new ModelMetadataError(
        "model/bad-chunk",
        `chunk ${index} of ${id} does not match its leaf in the manifest`,
      );
    }
    parts.push(chunk);
    have += chunk.length;
    const prefix = new Uint8Array(have);
    let at = 0;
    for (const p of parts) {
      prefix.set(p, at);
      at += p.length;
    }
    try {
      return { id, size, metadata: ggufMetadata(prefix, size), chunksRead: index + 1 };
    } catch (e) {
      if (!(e instanceof DecodeError && (e as { needMore?: boolean }).needMore)) throw e;
    }
  }
  throw new ModelMetadataError("model/bad-chunk", `model ${id} ended before its GGUF header`);
}

const tokenizers = new Map<string, Promise<Tokenizer>>();

/**
 * The tokenizer of model `id`, from metadata fetched from `node` and checked against the id
 * (cached per model id).
 */
export function tokenizerForModel(
  node: string,
  id: string,
  opts: MetadataFetchOptions = {},
): Promise<Tokenizer> {
  let p = tokenizers.get(id);
  if (!p) {
    p = fetchModelMetadata(node, id, opts).then((m) => Tokenizer.fromMetadata(m.metadata));
    tokenizers.set(id, p);
    p.catch(() => tokenizers.delete(id));
  }
  return p;
}
