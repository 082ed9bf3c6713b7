/**
 * @module The one set of job state names, shared by the client's progress lines and final state
 * (`job submit`) and by the job pool (`job status`, `GET /v1/jobs/:id`). Each name means one thing;
 * `seenBy` says who can report it: the client (it alone sees messages), the chain (what is mined,
 * as every node's job pool follows it), or both. docs/protocol.md lists them.
 */

/** Who reports a state. */
export type StateSource = "client" | "chain" | "both";

/** Every job state: what it means and who reports it. */
export const JOB_STATES = {
  chosen: {
    seenBy: "client",
    means:
      "the client chose whom to offer the job to: a node drawn by compute weight, or every node",
  },
  offered: { seenBy: "both", means: "the escrow is published and the offer sent to compute nodes" },
  declined: { seenBy: "client", means: "a compute node declined the offer, with a reason code" },
  accepted: { seenBy: "client", means: "a compute node accepted; the client assigned it the job" },
  receipt: {
    seenBy: "client",
    means: "the node's signed commitment to the output arrived with its stake transaction",
  },
  committed: { seenBy: "chain", means: "the node's stake on its commitment is mined" },
  "payment-sent": {
    seenBy: "client",
    means: "the signed payment is with the node, which broadcasts it a dispute window later",
  },
  delivered: { seenBy: "client", means: "the output arrived and matches the commitment" },
  claimed: { seenBy: "client", means: "the client claimed non-delivery on chain" },
  answered: { seenBy: "client", means: "the node answered the claim on chain with the output" },
  "bad-delivery": {
    seenBy: "client",
    means: "the output does not decrypt to the committed output",
  },
  verifying: { seenBy: "client", means: "verifier nodes were asked to check the output" },
  outsourced: { seenBy: "client", means: "the verifiers' votes are in" },
  "too-few-votes": {
    seenBy: "client",
    means: "fewer verifier votes came than a majority needs",
  },
  verified: { seenBy: "client", means: "the output was checked and is honest" },
  unpaid: { seenBy: "client", means: "the client stopped after the receipt without paying" },
  paid: { seenBy: "chain", means: "the payment spending the escrow is mined" },
  settled: { seenBy: "chain", means: "the node's stake is released: the job is over" },
  disputed: {
    seenBy: "both",
    means:
      "the node's stake is slashed to the client (fraud proof or claim; the client reports it when it publishes the slash, the chain when it is mined)",
  },
  slashed: {
    seenBy: "client",
    means: "the client published the slash of an undelivered or badly answered job's stake",
  },
  expired: { seenBy: "chain", means: "the escrow was refunded at its expiry" },
  failed: {
    seenBy: "client",
    means: "the job stopped before the output came; the escrow refunds at its expiry",
  },
  refunded: { seenBy: "client", means: "the client refunded the escrow after its expiry" },
} as const satisfies Record<string, { seenBy: StateSource; means: string }>;

/** A job state name. */
export type JobStateName = keyof typeof JOB_STATES;

/** True when `name` is one of the {@link JOB_STATES}. */
export function isJobState(name: string): name is JobStateName {
  return Object.hasOwn(JOB_STATES, name);
}
