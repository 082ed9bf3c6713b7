/**
 * @module The compute node's reputation, as the client's node derives it from the chain
 * (`GET /v1/reputation/:key`, relay/routes/reputation.ts): read once the node has committed to the
 * job, shown in `job submit`'s output. Reading it never fails or holds up a job: a node that does
 * not serve the route (an older one), cannot answer or takes longer than the timeout gives
 * `unavailable` with a code.
 */

import type { NodeClient } from "../../relay/client.ts";

/** `GET /v1/reputation/:key` as the client reads it. */
export interface ReputationAnswer {
  /** The node's address. */
  address: string;
  /** Whether the chain shows the node within the counted epochs. */
  known: boolean;
  /** Reputation (closed epochs of activity without proven fraud, capped). */
  reputation: number;
  /** Reputation at which the validation probability reaches the floor. */
  maturityEpochs: number;
  /** Probability that a job of the node is validated. */
  validationProbability: number;
  /** The network's validation floor at its job volume. */
  floor: number;
  /** The node's last proven fraud on chain, or null. */
  lastFraud: { height: number; txid: string; epoch: number } | null;
  /**
   * The node's last statistical flag on chain (the payment whose validators' counted records made
   * its margin test cross), or null; absent from older nodes.
   */
  lastFlag?: ChainFlag | null;
  /** The open epoch. */
  epoch: { current: number; start: number; blocks: number };
  /**
   * The answering node's own margin evidence of the node's jobs (not chain data; absent from older
   * nodes): flagged when its test crossed in this or the last epoch.
   */
  localEvidence?: {
    flagged: boolean;
    currentEpoch: { epoch: number; jobs: number; positions: number } | null;
    lastEpoch: { epoch: number; jobs: number; positions: number } | null;
  };
}

/** A statistical flag derived from validation records on chain. */
export interface ChainFlag {
  /** Height of the payment that made the test cross. */
  height: number;
  /** That payment's txid. */
  txid: string;
  /** Its epoch. */
  epoch: number;
  /** The node's jobs with counted records in that epoch, up to it. */
  jobs: number;
  /** Positions those records checked. */
  positions: number;
  /** Of those, positions above the margin level. */
  exceeded: number;
}

/** The compute node's reputation in a job's result. */
export type ComputeReputation =
  | Pick<
    ReputationAnswer,
    | "address"
    | "known"
    | "reputation"
    | "maturityEpochs"
    | "validationProbability"
    | "floor"
    | "lastFraud"
  >
    & {
      /** The node's last statistical flag on chain (validators' records), only when there is one. */
      lastFlag?: ChainFlag;
      /** The client's node's own margin evidence: whether it flags the node, over how many jobs. */
      localEvidence?: { flagged: boolean; jobs: number };
    }
  | { address: string; unavailable: string };

/**
 * How long the client waits for the reputation (a node's first derivation after a start reads a
 * window of blocks; docs/benchmarks.md, "Reputation").
 */
export const REPUTATION_TIMEOUT_MS = 5_000;

/**
 * Reads the reputation of the node with reward address `address` from `node`; `unavailable` with
 * the error's code, or `reputation/timeout` after `timeoutMs`.
 */
export async function fetchReputation(
  node: NodeClient,
  address: string,
  timeoutMs = REPUTATION_TIMEOUT_MS,
): Promise<ComputeReputation> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const r = await node.call<ReputationAnswer>(
      `/v1/reputation/${encodeURIComponent(address)}`,
      { signal },
    );
    return {
      address: r.address,
      known: r.known,
      reputation: r.reputation,
      maturityEpochs: r.maturityEpochs,
      validationProbability: r.validationProbability,
      floor: r.floor,
      lastFraud: r.lastFraud,
      ...(r.lastFlag ? { lastFlag: r.lastFlag } : {}),
      // Only when the node checked some of its jobs (older nodes and idle verifiers say nothing).
      ...(r.localEvidence && (r.localEvidence.currentEpoch || r.localEvidence.lastEpoch)
        ? {
          localEvidence: {
            flagged: r.localEvidence.flagged,
            jobs: (r.localEvidence.currentEpoch?.jobs ?? 0) +
              (r.localEvidence.lastEpoch?.jobs ?? 0),
          },
        }
        : {}),
    };
  } catch (e) {
    if (signal.aborted) return { address, unavailable: "reputation/timeout" };
    return { address, unavailable: (e as { code?: string }).code ?? "node/error" };
  }
}

/** One line for `job submit`: the compute node's reputation and validation probability. */
export function describeReputation(r: ComputeReputation): string {
  if ("unavailable" in r) {
    return `compute node ${r.address}: reputation unavailable (${r.unavailable})`;
  }
  const fraud = r.lastFraud
    ? `, last fraud at height ${r.lastFraud.height} (${r.lastFraud.txid})`
    : "";
  const chainFlag = r.lastFlag
    ? `; FLAGGED by validators' on-chain margin evidence in epoch ${r.lastFlag.epoch} (${r.lastFlag.exceeded} of ${r.lastFlag.positions} positions exceed over ${r.lastFlag.jobs} job(s), payment ${r.lastFlag.txid})`
    : "";
  const flagged = r.localEvidence?.flagged
    ? `; FLAGGED by your node's margin evidence over ${r.localEvidence.jobs} job(s) it checked (not chain data)`
    : "";
  return `compute node ${r.address}: reputation ${r.reputation}/${r.maturityEpochs}${
    r.known ? "" : " (new)"
  }, validation probability ${
    (r.validationProbability * 100).toFixed(1)
  }%${fraud}${chainFlag}${flagged}`;
}
