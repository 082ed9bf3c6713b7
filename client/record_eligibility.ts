/**
 * @module Whether a validation record on a payment counts (issue 16): the rule lives in
 * chain/record_eligibility.ts (consensus applies it to a pool's distribution); re-exported here for
 * the client-side callers.
 */

export {
  type IneligibleReason,
  MAX_RECORD_SPRINT_AGE,
  recordIneligibility,
  recordSprintInRange,
  type SprintWeights,
} from "../chain/record_eligibility.ts";
