/**
 * @module Whether a validation record counts (issue 16): the one rule that consensus (a pool's
 * DISTRIBUTE, chain/pool_rules.ts), the executor's node (accepting a payment) and every node's
 * reputation derivation apply alike. A record is eligible under the weights of its own sprint when
 * its key holds weight there, is not the executor's, and its ticket's draw is under min(1,
 * VALIDATORS_PER_JOB x its weight share); the sprint must have closed before the payment and be at
 * most {@link MAX_RECORD_SPRINT_AGE} sprints old. The executor's validation probability is left out
 * on purpose: each side reads it at its own tip, so an eligible record is at most a due one under
 * probability 1 (docs/protocol.md, "Validator rewards").
 */

import { addressFromPublicKey } from "./keys.ts";
import type { ValidationRecord } from "./validation_record.ts";
import { dueProbability, ticketDraw } from "./validator_draw.ts";

export { MAX_RECORD_SPRINT_AGE, recordSprintInRange } from "./validation_record.ts";

/**
 * Validators wanted per validated job (the expected number of due validators when every weight
 * holder serves verification and the executor's validation probability is 1).
 */
export const VALIDATORS_PER_JOB = 3;

/** Why a record does not count. */
export type IneligibleReason =
  /** Its sprint had not closed by the payment, or is too old. */
  | "record/sprint"
  /** Its key is the executor's. */
  | "record/self"
  /** Its key holds no weight in its sprint. */
  | "record/no-weight"
  /** Its draw is not under the eligibility threshold. */
  | "record/not-due";

/** The weights of one closed sprint, by address (positive weights only). */
export interface SprintWeights {
  /** The sprint index. */
  readonly sprint: number;
  /** Weight by address. */
  readonly byAddress: ReadonlyMap<string, number>;
}

/**
 * Null when `record` counts under `weights` (the weights of `record.sprint`) for a job executed by
 * `executorAddress`, else why not. The caller checks the sprint's range
 * ({@link recordSprintInRange}) and the record itself (chain/validation_record.ts `recordFault`,
 * which consensus already enforced for a mined payment).
 *
 * @example
 * ```ts
 * const why = recordIneligibility(record, weightsOfSprint, executorAddress);
 * if (why === null) countEvidence(record);
 * ```
 */
export function recordIneligibility(
  record: ValidationRecord,
  weights: SprintWeights,
  executorAddress: string,
): IneligibleReason | null {
  if (record.sprint !== weights.sprint) return "record/sprint";
  const address = addressFromPublicKey(record.validatorKey);
  if (address === executorAddress) return "record/self";
  const weight = weights.byAddress.get(address) ?? 0;
  if (!(weight > 0)) return "record/no-weight";
  let total = 0;
  for (const w of weights.byAddress.values()) total += w;
  const threshold = dueProbability({
    weightShare: weight / total,
    validatorsPerJob: VALIDATORS_PER_JOB,
    validationProbability: 1,
  });
  return ticketDraw(record) < threshold ? null : "record/not-due";
}
