/**
 * @module A model's whole GGUF file for local verification, fetched by chunks from a node that holds
 * it: the chunk manifest must hash to the model id and every chunk to its leaf before it is used or
 * cached (IndexedDB), so the next job needs no download and no node is trusted for the bytes.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { CamelidError } from "../../chain/errors.ts";
import { chunkLeafHash, merkleTreeHash, MODEL_CHUNK_SIZE } from "../../chain/model_id.ts";
import { loadChunk, saveChunk } from "./store.ts";

/** Progress of a download: chunks done of all, and how many came from the cache. */
export interface ChunkProgress {
  /** Chunks checked so far. */
  done: number;
  /** Chunks in the file. */
  total: number;
  /** Of those, read from this browser's cache. */
  cached: number;
}

/** Fetches model `id` from the node at `base`, checking every chunk; reports each chunk. */
export async function downloadModel(
  base: string,
  id: string,
  onProgress: (p: ChunkProgress) => void,
): Promise<Uint8Array> {
  const res = await fetch(`${base}/v1/models/${id}`);
  if (!res.ok) throw new CamelidError("model/unavailable", `${base} does not hold model ${id}`);
  const m = await res.json() as { size: number; chunks: number; leaves: string[] };
  const leaves = m.leaves.map((h) => fromHex(h, 32));
  const total = Math.max(1, Math.ceil(m.size / MODEL_CHUNK_SIZE));
  if (leaves.length !== total || toHex(merkleTreeHash(leaves)) !== id) {
    throw new CamelidError("model/bad-manifest", `the chunk manifest does not hash to model ${id}`);
  }
  const out = new Uint8Array(m.size);
  let cached = 0;
  for (let i = 0; i < total; i++) {
    const want = Math.min(MODEL_CHUNK_SIZE, m.size - i * MODEL_CHUNK_SIZE);
    const ok = (c: Uint8Array | undefined): c is Uint8Array =>
      c !== undefined && c.length === want && toHex(chunkLeafHash(c)) === toHex(leaves[i]);
    let chunk = await loadChunk(id, i).catch(() => undefined);
    if (ok(chunk)) {
      cached++;
    } else {
      const r = await fetch(`${base}/v1/models/${id}/chunks/${i}`);
      chunk = new Uint8Array(await r.arrayBuffer());
      if (!r.ok || !ok(chunk)) {
        throw new CamelidError("model/bad-chunk", `chunk ${i} of ${id} does not match its leaf`);
      }
      await saveChunk(id, i, chunk).catch(() => {});
    }
    out.set(chunk, i * MODEL_CHUNK_SIZE);
    onProgress({ done: i + 1, total, cached });
  }
  return out;
}
