/** @module The job client's typed errors: one class, its codes a closed union. */

import { CodedError } from "../chain/errors.ts";

/** What went wrong on the client's side of a job. */
export type JobClientErrorCode =
  /** No answer (message, delivery, chain progress) before the deadline. */
  | "job/timeout"
  /**
   * The node's receipt names a stake that does not lock a stake on its commitment for this job, or
   * pays another reward address than the one whose compute weight drew the node.
   */
  | "job/bad-receipt"
  /** The escrow output to refund does not exist. */
  | "job/no-escrow"
  /** No compute node reachable from the client's node serves the job's model. */
  | "job/no-node"
  /** Prompt plus output budget exceed the context of every node serving the model. */
  | "job/context-too-long"
  /** The reward is below the minimum of every node serving the model. */
  | "job/reward-too-low"
  /** The escrow would expire before a node's payment could be mined (under 2 dispute windows + 5). */
  | "job/expires-too-soon"
  /** Every compute node that answered declined the job (the reasons are in the message). */
  | "job/declined"
  /** Fewer verifier votes came than a majority needs. */
  | "job/too-few-votes";

/** An error of the job client, with one of its {@link JobClientErrorCode}s. */
export class JobClientError extends CodedError<JobClientErrorCode> {}

/** True when `e` is the job client's timeout. */
export function isTimeout(e: unknown): boolean {
  return e instanceof JobClientError && e.code === "job/timeout";
}
