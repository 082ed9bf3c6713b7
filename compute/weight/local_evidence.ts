/**
 * @module A validating node's own margin evidence per executor (issue 16, providers judged on
 * evidence): each job it checks adds the margins of the positions it checked to the executor's
 * sequential test (margin_sprt.ts), kept in the node's Deno KV per epoch. The executor is the node
 * whose stake on the active chain commits to exactly the output checked (its HASH160 and the output
 * commitment are in the stake script), so a request cannot name another node; a job counts once
 * however often it is checked. This is one node's observation, not chain data: other nodes hold
 * other evidence, and `/v1/reputation/:key` shows it apart (`localEvidence`).
 */

import { getLogger } from "@logtape/logtape";
import { fromHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { addressFromHash } from "../../chain/keys.ts";
import { parseOutputScript } from "../../chain/script.ts";
import {
  MARGIN_TEST,
  MarginEvidence,
  type MarginTestParams,
  type ProviderEvidence,
} from "./margin_sprt.ts";

/**
 * The test a node runs on its own checks: the network's margin test ({@link MARGIN_TEST}, the same
 * one the chain derivation runs on validation records).
 */
export const LOCAL_MARGIN_TEST: MarginTestParams & { readonly level: number } = MARGIN_TEST;

const log = getLogger(["camelid", "evidence"]);
const PREFIX = "local-evidence";
/** How long a checked job is remembered, so that it counts once (ms; longer than an epoch). */
const SEEN_MS = 7 * 24 * 3600 * 1000;

/** An executor's evidence in one epoch, as this node saw it. */
export interface LocalEvidenceRecord extends ProviderEvidence {
  /** The epoch (sprint interval) it covers. */
  epoch: number;
  /** Jobs counted. */
  jobs: number;
}

/** What the evidence reads of a chain (a ChainNode fits). */
export interface StakeView {
  /** Unspent escrow and stake outputs of a job on the active chain. */
  getJobCoins(jobIdHex: string): Promise<{ coin: { scriptPubKey: Uint8Array } }[]>;
}

/**
 * The address of the node whose stake on the active chain commits to this output of the job; null
 * when none does (not mined yet, spent, or committing to another output).
 */
export async function stakedExecutor(
  chain: StakeView,
  jobIdHex: string,
  output: { outputTokens: readonly number[]; finishReason: "stop" | "length" },
): Promise<string | null> {
  const commitment = outputCommitment(
    fromHex(jobIdHex, 32),
    output.outputTokens,
    output.finishReason,
  );
  for (const { coin } of await chain.getJobCoins(jobIdHex)) {
    let parsed;
    try {
      parsed = parseOutputScript(coin.scriptPubKey);
    } catch {
      continue;
    }
    if (
      parsed.type === "compute-stake" && parsed.commitment.every((b, i) => b === commitment[i])
    ) return addressFromHash(parsed.nodeHash);
  }
  return null;
}

/** Margin evidence per executor and epoch in a Deno KV. */
export class LocalEvidence {
  readonly #kv: Deno.Kv;
  readonly #test: typeof LOCAL_MARGIN_TEST;

  /** Evidence kept in `kv` under the "local-evidence" prefix, tested with `test`. */
  constructor(kv: Deno.Kv, test: typeof LOCAL_MARGIN_TEST = LOCAL_MARGIN_TEST) {
    this.#kv = kv;
    this.#test = test;
  }

  /** The test's parameters and level. */
  get test(): typeof LOCAL_MARGIN_TEST {
    return this.#test;
  }

  /**
   * Adds job `jobId`'s checked margins to `executor`'s evidence of `epoch`; null when the job was
   * counted before (nothing changes).
   */
  async observe(
    epoch: number,
    executor: string,
    jobId: string,
    margins: readonly number[],
  ): Promise<LocalEvidenceRecord | null> {
    const seenKey = [PREFIX, "job", jobId];
    const key = [PREFIX, "executor", epoch, executor];
    for (;;) {
      const [seen, current] = await this.#kv.getMany<[unknown, LocalEvidenceRecord]>([
        seenKey,
        key,
      ]);
      if (seen.value !== null) return null;
      const test = new MarginEvidence(this.#test);
      if (current.value) test.restore(executor, current.value);
      test.observe(executor, margins, this.#test.level);
      const record: LocalEvidenceRecord = {
        ...test.evidence(executor)!,
        epoch,
        jobs: (current.value?.jobs ?? 0) + 1,
      };
      const done = await this.#kv.atomic().check(seen).check(current)
        .set(seenKey, { epoch, executor }, { expireIn: SEEN_MS })
        .set(key, record)
        .commit();
      if (!done.ok) continue;
      if (record.flagged && !current.value?.flagged) {
        log.warn(
          "Margin evidence flags {executor} in epoch {epoch} after {jobs} job(s): {exceeded} of {positions} positions exceed",
          { executor, ...record },
        );
      }
      return record;
    }
  }

  /** `executor`'s evidence of `epoch`, null when this node checked none of its jobs then. */
  async read(epoch: number, executor: string): Promise<LocalEvidenceRecord | null> {
    return (await this.#kv.get<LocalEvidenceRecord>([PREFIX, "executor", epoch, executor])).value;
  }
}

/** A node's chain as the evidence recorder reads it (a ChainNode fits). */
export interface EvidenceChainView extends StakeView {
  /** The active tip. */
  tip(): { height: number };
  /** The network's parameters (the sprint interval is the epoch). */
  readonly params: { readonly sprint: { readonly interval: number } };
}

/**
 * The verifier service's evidence hook: adds a checked job's margins to the evidence of the node
 * staked on that output, in the tip's epoch; resolves the record, or null when no stake on the
 * active chain commits to the output or the job was counted before.
 */
export function evidenceRecorder(
  chain: EvidenceChainView,
  store: LocalEvidence,
): (
  jobId: string,
  output: { outputTokens: readonly number[]; finishReason: "stop" | "length" },
  margins: readonly number[],
) => Promise<LocalEvidenceRecord | null> {
  return async (jobId, output, margins) => {
    const executor = await stakedExecutor(chain, jobId, output);
    if (!executor) return null;
    const epoch = Math.floor(chain.tip().height / chain.params.sprint.interval);
    return await store.observe(epoch, executor, jobId, margins);
  };
}
