/**
 * @module Phase 0 of a job, before any coin is locked: ask the client's node and the peers it knows
 * what they advertise in `/v1/status` (compute: models, contexts, minimum reward, queue; verifier:
 * models) and refuse terms no reachable node would take: a model nobody serves, a prompt plus output
 * budget over every server's context, a reward under every server's minimum, an expiry too near.
 */

import { formatCoins } from "../../chain/amount.ts";
import type { NetworkParams } from "../../chain/params.ts";
import { NodeClient, type StatusAnswer } from "../../relay/client.ts";
import { JobClientError } from "../errors.ts";
import type { JobTerms } from "./offer.ts";

/** How long one node may take to answer the survey (ms). */
export const SURVEY_TIMEOUT_MS = 3_000;

/** What one compute node advertises. */
export interface ComputeAd {
  /** Its API URL. */
  url: string;
  /** Its envelope key (hex), when its `/v1/peers` answered. */
  key: string | null;
  /** Model ids it serves. */
  models: string[];
  /** Trained context per model id, where known. */
  contexts: Record<string, number>;
  /** Smallest reward it takes, base units. */
  minReward: bigint;
  /** Where its rewards go (its wallet's address, which also proves its compute weight), if told. */
  rewardAddress?: string;
}

/** What the nodes reachable from the client's node advertise. */
export interface Survey {
  /** Nodes asked (URLs). */
  asked: string[];
  /** Compute nodes. */
  compute: ComputeAd[];
  /**
   * Verifier nodes (`--serve-verify`): URL, models, and the address of the key it draws its
   * validator tickets with (client/validator_ticket.ts), when it says.
   */
  verifiers: { url: string; models: string[]; validator?: string }[];
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([p.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the client's node and every peer it knows for its status (and key). */
export async function surveyNetwork(node: NodeClient): Promise<Survey> {
  const peers = await withTimeout(node.peers(), SURVEY_TIMEOUT_MS);
  const urls = new Set([node.url]);
  for (const u of [...(peers?.links ?? []), ...(peers?.table ?? [])].map((p) => p.url)) {
    if (u) urls.add(u.replace(/\/$/, ""));
  }
  const asked = [...urls];
  const answers = await Promise.all(asked.map(async (url) => {
    const api = url === node.url ? node : new NodeClient(url);
    const [status, self] = await Promise.all([
      withTimeout(api.status(), SURVEY_TIMEOUT_MS),
      withTimeout(api.peers(), SURVEY_TIMEOUT_MS),
    ]);
    return { url, status, key: self?.self.key ?? null };
  }));
  const compute: ComputeAd[] = [];
  const verifiers: Survey["verifiers"] = [];
  for (const { url, status, key } of answers) {
    const c = (status as StatusAnswer | null)?.compute as
      | {
        models?: string[];
        contexts?: Record<string, number>;
        minReward?: string;
        rewardAddress?: string;
      }
      | undefined;
    if (c?.models) {
      compute.push({
        url,
        key,
        models: c.models,
        contexts: c.contexts ?? {},
        minReward: BigInt(c.minReward ?? "0"),
        ...(typeof c.rewardAddress === "string" ? { rewardAddress: c.rewardAddress } : {}),
      });
    }
    const v = (status as StatusAnswer | null)?.verifier as
      | { models?: string[]; validator?: string }
      | undefined;
    if (v?.models) {
      verifiers.push({
        url,
        models: v.models,
        ...(typeof v.validator === "string" ? { validator: v.validator } : {}),
      });
    }
  }
  return { asked, compute, verifiers };
}

/**
 * Refuses an expiry no compute node takes (`job/expires-too-soon`): nodes need the escrow to outlive
 * two dispute windows and 5 blocks, so that their payment is mineable before the client can refund.
 */
export function checkExpiry(terms: JobTerms, params: NetworkParams): void {
  const blocks = terms.expiryBlocks ?? params.jobs.defaultExpiry;
  const least = 2 * params.jobs.disputeWindow + 5;
  if (blocks < least) {
    throw new JobClientError(
      "job/expires-too-soon",
      `--expiry-blocks ${blocks} is under the ${least} blocks compute nodes need (two dispute windows and 5); nothing was paid`,
    );
  }
}

/**
 * The compute nodes that could take `terms` (serve the model, with room in the context and a minimum
 * reward at or under it); a `JobClientError` naming what no node allows when there is none
 * (`job/no-node`, `job/context-too-long`, `job/reward-too-low`).
 */
export function candidatesFor(survey: Survey, terms: JobTerms): ComputeAd[] {
  const holders = survey.compute.filter((c) => c.models.includes(terms.modelId));
  if (holders.length === 0) {
    throw new JobClientError(
      "job/no-node",
      `no compute node serves model ${terms.modelId} (asked ${survey.asked.length} node(s): ${
        survey.asked.join(", ")
      }; ${survey.compute.length} of them compute); nothing was paid`,
    );
  }
  const needed = terms.promptTokens.length + terms.maxTokens;
  const roomy = holders.filter((c) => (c.contexts[terms.modelId] ?? Infinity) >= needed);
  if (roomy.length === 0) {
    const largest = Math.max(...holders.map((c) => c.contexts[terms.modelId]));
    throw new JobClientError(
      "job/context-too-long",
      `prompt ${terms.promptTokens.length} + --max-tokens ${terms.maxTokens} = ${needed} tokens exceed the context of every node serving the model (largest ${largest}); lower --max-tokens to at most ${
        Math.max(0, largest - terms.promptTokens.length)
      }; nothing was paid`,
    );
  }
  const willing = roomy.filter((c) => c.minReward <= terms.reward);
  if (willing.length === 0) {
    const lowest = roomy.reduce((m, c) => (c.minReward < m ? c.minReward : m), roomy[0].minReward);
    throw new JobClientError(
      "job/reward-too-low",
      `--reward ${
        formatCoins(terms.reward)
      } is below the minimum reward of every node serving the model (lowest ${
        formatCoins(lowest)
      }); nothing was paid`,
    );
  }
  return willing;
}
