/** @module Model files on disk: streaming model id (Merkle root of 1 MiB chunks) of a GGUF file. */

import { NotFoundError } from "../chain/errors.ts";
import { MODEL_CHUNK_SIZE, ModelIdHasher } from "../chain/model_id.ts";

/**
 * Model id of the file at `path`, read in 1 MiB pieces (constant memory). `onProgress` gets the
 * bytes hashed so far and the file size. Throws `NotFoundError` (`model/not-found`) when the file
 * does not exist.
 */
export async function modelIdOfFile(
  path: string,
  onProgress?: (done: number, total: number) => void,
): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NotFoundError("model/not-found", `model file ${path} does not exist`);
    }
    throw e;
  }
  try {
    const total = (await file.stat()).size;
    const hasher = new ModelIdHasher();
    const buf = new Uint8Array(MODEL_CHUNK_SIZE);
    let done = 0;
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hasher.update(buf.subarray(0, n));
      done += n;
      onProgress?.(done, total);
    }
    return hasher.digest();
  } finally {
    file.close();
  }
}
