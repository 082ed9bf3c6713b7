/**
 * @module A serving verifier's validation duty on a real node: the due rule for each job comes from
 * the node's own API, the weights (`GET /v1/weights`: of the sprint the client names when that
 * sprint's window has closed here, else those in force) and the executor's validation probability
 * (`GET /v1/reputation/:key`), the same numbers a client reads from its node.
 */

import { dueContextOf } from "../../client/validator_ticket.ts";
import { fetchWeights, weightsByAddress, type WeightsLookup } from "../../client/phases/choose.ts";
import { fetchReputation } from "../../client/phases/reputation.ts";
import type { NodeClient } from "../../relay/client.ts";
import type { ValidatorDuty } from "./verifier_service.ts";
import { reportBondSprint } from "./report_bond.ts";

/**
 * How long a validator waits for its node's weights or reputation (a first derivation after a
 * start reads a window of blocks; the client that asked waits its own timeout).
 */
export const DUTY_READ_MS = 30_000;

/**
 * The weights of closed sprint `sprint` by address; null when the node cannot give them or the
 * sprint's window has not closed here.
 */
async function closedSprintWeights(api: NodeClient, sprint: number): Promise<WeightsLookup | null> {
  try {
    const w = await api.weights(sprint, { signal: AbortSignal.timeout(DUTY_READ_MS) });
    if (!w.closed || w.sprint !== sprint) return null;
    return { sprint, byAddress: weightsByAddress(w) };
  } catch {
    return null;
  }
}

/** The duty of the validator with `secretKey`, reading its rule from the node at `api`. */
export function nodeValidatorDuty(api: NodeClient, secretKey: Uint8Array): ValidatorDuty {
  return {
    secretKey,
    context: async (executor, sprint) => {
      const [named, reputation] = await Promise.all([
        sprint === null ? null : closedSprintWeights(api, sprint),
        executor ? fetchReputation(api, executor, DUTY_READ_MS) : undefined,
      ]);
      const weights = named ?? await fetchWeights(api, DUTY_READ_MS);
      return dueContextOf(weights, executor, reputation);
    },
    reportSprint: (bond, jobId) => reportBondSprint(api, bond, jobId),
  };
}
