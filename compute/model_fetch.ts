/**
 * @module Fetching a model by id from peers: the chunk manifest (leaf hashes) is checked against the
 * id (RFC 6962 Merkle root), then 1 MiB chunks come in parallel from every peer that holds the model,
 * each checked against its leaf; a bad or failed chunk is fetched again from another peer. The file
 * is written beside its destination and renamed into place only when complete.
 */

import { getLogger } from "@logtape/logtape";
import { CamelidError } from "../chain/errors.ts";
import { fromHex, isHex32, toHex } from "../chain/bytes.ts";
import { chunkLeafHash, merkleTreeHash, MODEL_CHUNK_SIZE } from "../chain/model_id.ts";
import { createProgress } from "../cli/progress.ts";
import { equalBytes } from "../chain/bytes.ts";

const log = getLogger(["camelid", "models"]);

/** Options of {@link fetchModel}. */
export interface FetchOptions {
  /** Chunks in flight at once (default 4). */
  parallel?: number;
  /** Attempts per chunk across peers before giving up (default 6). */
  attempts?: number;
  /** Shows a progress line on a terminal (default true). */
  progress?: boolean;
}

interface Manifest {
  size: number;
  chunks: number;
  leaves: Uint8Array[];
}

/** What {@link manifestFrom} got from a peer where nothing answered (refused, no route, bad URL). */
const UNREACHABLE = "unreachable";

async function manifestFrom(
  peer: string,
  id: string,
): Promise<Manifest | null | typeof UNREACHABLE> {
  let res: Response;
  try {
    res = await fetch(`${peer.replace(/\/$/, "")}/v1/models/${id}`);
  } catch {
    return UNREACHABLE;
  }
  try {
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const m = await res.json() as { size: number; chunks: number; leaves: string[] };
    const leaves = m.leaves.map((h) => fromHex(h, 32));
    const expected = Math.max(1, Math.ceil(m.size / MODEL_CHUNK_SIZE));
    if (
      !Number.isSafeInteger(m.size) || m.size < 0 || leaves.length !== expected ||
      m.chunks !== expected
    ) return null;
    if (toHex(merkleTreeHash(leaves)) !== id) return null;
    return { size: m.size, chunks: m.chunks, leaves };
  } catch {
    return null;
  }
}

/**
 * Fetches model `id` from `peers` into `outPath`. Throws `CamelidError` `model/peer-unreachable`
 * when nothing answers at any of the peers, `model/unavailable` when no peer holds it and
 * `model/fetch-failed` when a chunk cannot be had from any peer.
 */
export async function fetchModel(
  id: string,
  peers: string[],
  outPath: string,
  options: FetchOptions = {},
): Promise<string> {
  if (!isHex32(id)) {
    throw new RangeError("model id must be 64 lowercase hex characters");
  }
  const holders: string[] = [];
  const unreachable: string[] = [];
  let manifest: Manifest | null = null;
  for (const p of peers) {
    const m = await manifestFrom(p, id);
    if (m === UNREACHABLE) unreachable.push(p);
    else if (m) {
      holders.push(p);
      manifest ??= m;
    }
  }
  if (!manifest && peers.length > 0 && unreachable.length === peers.length) {
    throw new CamelidError(
      "model/peer-unreachable",
      `nothing answers at ${unreachable.join(", ")} (is the node running, is the URL right?)`,
    );
  }
  if (!manifest) {
    throw new CamelidError(
      "model/unavailable",
      `no peer of ${peers.length} holds model ${id}${
        unreachable.length ? ` (unreachable: ${unreachable.join(", ")})` : ""
      }`,
    );
  }
  const { size, chunks, leaves } = manifest;
  const tmp = `${outPath}.part-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  const progress = createProgress({
    label: `model ${id.slice(0, 12)}`,
    total: chunks,
    unit: "MiB",
    enabled: options.progress === false ? false : undefined,
  });
  let done = 0;
  let next = 0;
  const attempts = options.attempts ?? 6;
  const fetchChunk = async (index: number) => {
    for (let a = 0; a < attempts; a++) {
      const peer = holders[(index + a) % holders.length];
      try {
        const res = await fetch(`${peer.replace(/\/$/, "")}/v1/models/${id}/chunks/${index}`);
        if (!res.ok) {
          await res.body?.cancel();
          throw new Error(`HTTP ${res.status}`);
        }
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (!equalBytes(chunkLeafHash(bytes), leaves[index])) {
          throw new Error("chunk does not match its leaf");
        }
        return bytes;
      } catch (e) {
        log.warn("Chunk {index} of {id} from {peer} refused: {error}", {
          index,
          id,
          peer,
          error: (e as Error).message,
        });
      }
    }
    throw new CamelidError(
      "model/fetch-failed",
      `chunk ${index} of model ${id} could not be fetched from any peer`,
    );
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.parallel ?? 4, chunks) }, async () => {
      while (next < chunks) {
        const index = next++;
        const bytes = await fetchChunk(index);
        const { bytesWritten } = await writeAt(file, index * MODEL_CHUNK_SIZE, bytes);
        if (bytesWritten !== bytes.length) {
          throw new CamelidError("model/write-failed", "short write");
        }
        progress.update(++done);
      }
    }));
    file.close();
    if ((await Deno.stat(tmp)).size !== size) {
      throw new CamelidError("model/fetch-failed", "fetched size differs");
    }
    await Deno.rename(tmp, outPath);
    progress.done(`model ${id.slice(0, 12)}…: ${chunks} chunks from ${holders.length} peer(s)`);
    return outPath;
  } catch (e) {
    try {
      file.close();
    } catch { /* closed */ }
    await Deno.remove(tmp).catch(() => {});
    progress.done();
    throw e;
  }
}

let writeLock: Promise<unknown> = Promise.resolve();

/** Writes `bytes` at `offset` (serialised: seek and write must not interleave). */
function writeAt(
  file: Deno.FsFile,
  offset: number,
  bytes: Uint8Array,
): Promise<{ bytesWritten: number }> {
  const run = writeLock.then(async () => {
    await file.seek(offset, Deno.SeekMode.Start);
    let n = 0;
    while (n < bytes.length) n += await file.write(bytes.subarray(n));
    return { bytesWritten: n };
  });
  writeLock = run.catch(() => {});
  return run;
}
