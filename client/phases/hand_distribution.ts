/**
 * @module After distributing a job's validation pool (phases/distribute.ts) the client hands the
 * signed distribution to each validator it pays, in a `distribution` message to the envelope key
 * that validator's counted verdict came from: the executor's node broadcasts the payment holding
 * the pool only a dispute window after its stake, longer than the client's node holds an orphan,
 * and the paid validators' nodes keep it and submit it once the payment is known
 * (compute/jobs/distribution_keeper.ts). A failure to send is not a job failure.
 */

import { fromHex } from "../../chain/bytes.ts";
import type { JobSession } from "../job_session.ts";
import { sendJobMessage } from "../job_session.ts";
import type { Vote } from "../outsourced.ts";
import type { PaidValidators } from "./distribute.ts";

/**
 * The envelope keys (hex) of the verifiers whose counted votes' validators `paid` pays, each once.
 */
export function paidVoterKeys(paid: PaidValidators, votes: readonly Vote[]): string[] {
  const addresses = new Set(paid.validators.map((v) => v.address));
  return [
    ...new Set(
      votes.flatMap((v) => v.validator && addresses.has(v.validator.address) ? [v.key] : []),
    ),
  ];
}

/**
 * Sends the distribution of `paid` (its signed bytes, or the node's copy when the node admitted it
 * at once) for job `jobId` to the verifiers of `votes` it pays; returns how many were sent. Never
 * throws: the job stands whatever happens here.
 */
export async function handDistribution(
  s: JobSession,
  jobId: string,
  paid: PaidValidators,
  votes: readonly Vote[],
): Promise<number> {
  const keys = paidVoterKeys(paid, votes);
  if (keys.length === 0) return 0;
  const tx = paid.tx ?? await s.node.tx(paid.distribution).then((t) => t.hex, () => null);
  if (!tx) return 0;
  let sent = 0;
  for (const key of keys) {
    try {
      await sendJobMessage(s, { t: "distribution", jobId, tx }, fromHex(key, 33));
      sent++;
    } catch { /* not a job failure: the validator may still find it mined */ }
  }
  return sent;
}
