/** @module The output commitment a compute node stakes on (pure: bytes and hashes only). */

import { ByteWriter } from "./bytes.ts";
import { sha256d } from "./hash.ts";

/**
 * The node's output commitment: SHA-256d(jobId (32 bytes) || CompactSize(n) || n token ids as
 * u32 LE || finish reason u8 (0 = stop, 1 = length)).
 */
export function outputCommitment(
  jobId: Uint8Array,
  outputTokens: readonly number[],
  finishReason: "stop" | "length",
): Uint8Array {
  if (jobId.length !== 32) throw new RangeError("jobId must be 32 bytes");
  const w = new ByteWriter(32 + 9 + 4 * outputTokens.length + 1);
  w.bytes(jobId).varint(outputTokens.length);
  for (const t of outputTokens) w.u32(t);
  w.u8(finishReason === "stop" ? 0 : 1);
  return sha256d(w.finish());
}
