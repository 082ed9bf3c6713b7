/**
 * @module Model files on disk: the one way to open a model file (typed errors for a missing or
 * unreadable one), to read its header from a prefix, and the streaming model id (Merkle root of
 * 1 MiB chunks) of a GGUF file.
 */

import { CamelidError, NotFoundError } from "../chain/errors.ts";
import { MODEL_CHUNK_SIZE, ModelIdHasher } from "../chain/model_id.ts";

/** Raised when a model file exists but cannot be read (`model/unreadable`). */
export class ModelFileError extends CamelidError {}

/** An open model file and its size in bytes. */
export interface OpenModelFile {
  /** The file, open for reading; the caller closes it. */
  file: Deno.FsFile;
  /** Size in bytes. */
  size: number;
}

/**
 * Opens the model file at `path` for reading. Throws `NotFoundError` (`model/not-found`) when it
 * does not exist and {@link ModelFileError} (`model/unreadable`) when it cannot be opened or is
 * not a regular file.
 */
export async function openModelFile(path: string): Promise<OpenModelFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NotFoundError("model/not-found", `model file ${path} does not exist`);
    }
    throw new ModelFileError("model/unreadable", `cannot open model file ${path}: ${e}`, {
      cause: e,
    });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new ModelFileError("model/unreadable", `${path} is not a regular file`);
    return { file, size: info.size };
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Parses the header of the model file at `path` with `parse(prefix, fileSize)`, reading only a
 * prefix: `initialBytes` first, four times as many each time `parse` throws an error with
 * `needMore` set (the GGUF readers do when the header runs past the prefix). Throws as
 * {@link openModelFile} does, or what `parse` throws.
 */
export async function readModelHeader<T>(
  path: string,
  parse: (prefix: Uint8Array, fileSize: number) => T,
  initialBytes = 1 << 20,
): Promise<T> {
  const { file, size } = await openModelFile(path);
  try {
    for (let want = Math.min(size, initialBytes);; want = Math.min(size, want * 4)) {
      const buf = new Uint8Array(want);
      await file.seek(0, Deno.SeekMode.Start);
      let got = 0;
      while (got < want) {
        const n = await file.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      try {
        return parse(buf.subarray(0, got), size);
      } catch (e) {
        if ((e as { needMore?: boolean }).needMore && want < size) continue;
        throw e;
      }
    }
  } finally {
    file.close();
  }
}

/**
 * Model id of the file at `path`, read in 1 MiB pieces (constant memory). `onProgress` gets the
 * bytes hashed so far and the file size. Throws as {@link openModelFile} does.
 */
export async function modelIdOfFile(
  path: string,
  onProgress?: (done: number, total: number) => void,
): Promise<string> {
  const { file, size: total } = await openModelFile(path);
  try {
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
