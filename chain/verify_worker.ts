/**
 * @module The verify pool's worker thread: verifies packed batches of signatures with
 * chain/signature.ts (same form rules, same backend choice) and answers one byte per check.
 */

import { parentPort } from "node:worker_threads";
import { unpackChecks } from "./verify_packing.ts";
import { verifySignature } from "./signature.ts";

/** A batch request from the pool. */
interface BatchRequest {
  /** Request id, echoed in the answer. */
  id: number;
  /** Checks packed by packChecks. */
  packed: Uint8Array;
}

parentPort!.on("message", ({ id, packed }: BatchRequest) => {
  const checks = unpackChecks(packed);
  const results = new Uint8Array(checks.length);
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i];
    results[i] = verifySignature(c.signature, c.preimage, c.publicKey) ? 1 : 0;
  }
  parentPort!.postMessage({ id, results }, [results.buffer as ArrayBuffer]);
});
