/**
 * @module The weights oracle a node hands its chain state for user reports (chain/report_rules.ts):
 * a sprint's weights by address, derived from the node's own active chain
 * (sprint_weights.ts), cached per sprint and the hash of its window's last block, so a reorg that
 * changes the proofs changes the key.
 */

import { fromHex } from "../chain/bytes.ts";
import { addressFromPublicKey } from "../chain/keys.ts";
import type { WeightsOracle } from "../chain/report_rules.ts";
import { type SprintChainView, sprintWeights } from "./sprint_weights.ts";

/** Cached derivations kept (the newest ones). */
const CACHE_ENTRIES = 8;

/** The oracle of `chain`'s sprint weights: positive weights by address. */
export function chainWeightsOracle(chain: SprintChainView): WeightsOracle {
  const cache = new Map<string, Promise<ReadonlyMap<string, number>>>();
  const derive = async (sprint: number) => {
    const byAddress = new Map<string, number>();
    for (const w of await sprintWeights(chain, sprint)) {
      if (w.weight > 0) byAddress.set(addressFromPublicKey(fromHex(w.nodeKey, 33)), w.weight);
    }
    return byAddress;
  };
  return (sprint) => {
    const p = chain.params.sprint;
    const end = chain.hashAtHeight(sprint * p.interval + p.window);
    if (!end) return derive(sprint); // the window is open: nothing to cache
    const key = `${sprint}:${end}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = derive(sprint);
      cache.set(key, hit);
      hit.catch(() => cache.delete(key));
      while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    }
    return hit;
  };
}
