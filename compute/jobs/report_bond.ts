/**
 * @module A validator's side of a user report (chain/report.ts): before it answers, it checks the
 * bond exists on its node (mempool or chain), its transaction is stamped with the job's id, and the
 * named output is a report output; the bond's sprint is the one whose weights judge the report, so
 * the validator signs its record with a ticket of that sprint, whatever its draw.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { parseOutputScript } from "../../chain/script.ts";
import { validationTicket } from "../../chain/validator_draw.ts";
import type { TicketJson } from "../../client/job_messages.ts";
import type { NodeClient } from "../../relay/client.ts";

/** The validator's ticket for job `jobId` under a report's `sprint` (its record's draw fields). */
export function reportTicket(jobId: Uint8Array, sprint: number, secretKey: Uint8Array): TicketJson {
  const t = validationTicket(jobId, secretKey);
  return {
    key: toHex(publicKeyOf(secretKey)),
    sprint,
    gamma: toHex(t.gamma),
    proof: toHex(t.proof),
  };
}

/**
 * The sprint of the report bond at `bond` on job `jobId` (hex), read from the node at `api`; null
 * when the node does not know the transaction, or it is not a report bond of this job.
 */
export async function reportBondSprint(
  api: NodeClient,
  bond: { txid: string; vout: number },
  jobId: string,
): Promise<number | null> {
  try {
    const tx = await api.tx(bond.txid);
    const out = tx.outputs.find((o) => o.n === bond.vout);
    if (tx.jobId !== jobId || !out) return null;
    const s = parseOutputScript(fromHex(out.scriptPubKey));
    return s.type === "report" ? s.sprint : null;
  } catch {
    return null;
  }
}
