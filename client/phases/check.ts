/**
 * @module Phase 5 of a job: decrypt the delivery and check it against the node's commitment; an answer
 * on chain that provably does not decrypt to the committed output gets the stake slashed (the client
 * reveals the ECIES shared point with a DLEQ proof).
 */

import { decrypt } from "eciesjs";
import { toHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { proveSharedPoint } from "../../chain/dleq.ts";
import { ECIES_EPHEMERAL_LENGTH } from "../../chain/dleq.ts";
import { badAnswerTx } from "../../chain/job_tx.ts";
import type { Outpoint } from "../../chain/job_unlock.ts";
import { payToHashScript } from "../../chain/script.ts";
import { encodeTransaction } from "../../chain/tx.ts";
import type { JobSession } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";
import type { CommittedJob } from "./receipt.ts";

/** A delivered output. */
export interface JobOutput {
  /** Output token ids. */
  outputTokens: number[];
  /** Why generation ended. */
  finishReason: "stop" | "length";
}

/**
 * The output in a delivery, when it decrypts with the client's key to an output whose commitment is
 * the receipt's; null otherwise.
 */
export function checkDelivery(
  secretKey: Uint8Array,
  ciphertext: Uint8Array,
  jobId: Uint8Array,
  commitment: string,
): JobOutput | null {
  let delivered: Partial<JobOutput> | null;
  try {
    delivered = JSON.parse(new TextDecoder().decode(decrypt(secretKey, ciphertext)));
  } catch {
    return null;
  }
  const tokens = delivered?.outputTokens;
  const finish = delivered?.finishReason;
  const good = Array.isArray(tokens) && (finish === "stop" || finish === "length") &&
    toHex(outputCommitment(jobId, tokens, finish)) === commitment;
  return good ? { outputTokens: tokens, finishReason: finish } : null;
}

/** Slashes the stake for an on-chain answer that does not decrypt to the committed output. */
export async function slashBadAnswer(
  s: JobSession,
  offered: OfferedJob,
  committed: CommittedJob,
  ciphertext: Uint8Array,
  answer: Outpoint,
): Promise<string> {
  const { shared, proof } = proveSharedPoint(
    s.secretKey,
    ciphertext.subarray(0, ECIES_EPHEMERAL_LENGTH),
  );
  const slash = badAnswerTx(
    committed.stake,
    { answer, clientKey: s.clientKey, shared, proof },
    { payTo: payToHashScript(s.clientHash), fee: s.fee },
    offered.jobId,
  );
  return (await s.node.sendTx(encodeTransaction(slash))).txid;
}
