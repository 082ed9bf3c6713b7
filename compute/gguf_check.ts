/** @module A cheap check that a file is a GGUF file at all (its first four bytes are "GGUF"). */

import { DecodeError } from "../chain/errors.ts";
import { GGUF_MAGIC } from "../verifier-wasm/gguf.ts";
import { openModelFile } from "./model_file.ts";

/**
 * Throws `DecodeError` `gguf/bad-magic` unless the file at `path` starts with the GGUF magic (and
 * as {@link openModelFile} does for a missing or unreadable file). Reads four bytes.
 */
export async function assertGgufFile(path: string): Promise<void> {
  const { file } = await openModelFile(path);
  try {
    const head = new Uint8Array(4);
    let got = 0;
    while (got < head.length) {
      const n = await file.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (got < 4 || new DataView(head.buffer).getUint32(0, true) !== GGUF_MAGIC) {
      throw new DecodeError(
        "gguf/bad-magic",
        `${path} is not a GGUF model file (it does not start with "GGUF")`,
      );
    }
  } finally {
    file.close();
  }
}
