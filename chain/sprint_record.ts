/** @module What the store records of a sprint proof output (chain/store.ts names its key). */

import { parseOutputScript, TEMPLATE_SPRINT_PROOF } from "./script.ts";
import type { Transaction } from "./tx.ts";

/** A sprint proof output recorded on the active chain. */
export interface StoredSprintProof {
  /** Txid (hex) of the proof's transaction. */
  txid: string;
  /** Output index. */
  vout: number;
  /** Hash of the including block. */
  block: string;
  /** Height of the including block. */
  height: number;
  /** Index of the transaction in its block. */
  position: number;
  /** The proof's output script (template 0x06). */
  script: Uint8Array;
}

/** The sprint proof outputs of a transaction: sprint index, output index and script. */
export function sprintProofOutputs(
  tx: Transaction,
): { sprint: number; vout: number; script: Uint8Array }[] {
  const out: { sprint: number; vout: number; script: Uint8Array }[] = [];
  tx.outputs.forEach((o, vout) => {
    if (o.scriptPubKey[0] !== TEMPLATE_SPRINT_PROOF) return;
    try {
      const p = parseOutputScript(o.scriptPubKey);
      if (p.type === "sprint-proof") out.push({ sprint: p.sprint, vout, script: o.scriptPubKey });
    } catch { /* not a proof */ }
  });
  return out;
}
