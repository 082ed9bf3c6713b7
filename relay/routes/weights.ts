/**
 * @module `GET /v1/weights[?sprint=k]`: each node's compute weight from sprint k (default: the latest
 * sprint whose window has closed, the weights in force now), derived from the chain by
 * verifier-wasm/sprint_weights.ts. Results are cached per sprint and the block that ends what the
 * derivation read (the window's last block, or the tip while the window is open), so a reorg that
 * changes the proofs changes the key.
 */

import { Hono } from "hono";
import type { ChainNode } from "../../chain/node.ts";
import { fromHex } from "../../chain/bytes.ts";
import { NotFoundError } from "../../chain/errors.ts";
import { addressFromPublicKey } from "../../chain/keys.ts";
import { type SprintWeight, sprintWeights } from "../../verifier-wasm/sprint_weights.ts";
import { RequestError } from "../errors.ts";

/** Cached derivations kept (the newest ones). */
const CACHE_ENTRIES = 8;

/** The weights route over `chain`. */
export function weightRoutes(chain: ChainNode): Hono {
  const app = new Hono();
  const cache = new Map<string, Promise<SprintWeight[]>>();
  const derive = (key: string, index: number) => {
    let hit = cache.get(key);
    if (!hit) {
      hit = sprintWeights(chain, index);
      cache.set(key, hit);
      hit.catch(() => cache.delete(key));
      while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    }
    return hit;
  };

  app.get("/v1/weights", async (c) => {
    const p = chain.params.sprint;
    const tip = chain.tip().height;
    const q = c.req.query("sprint");
    let index: number;
    if (q === undefined) {
      index = Math.floor((tip - p.window) / p.interval);
      if (index < 1) {
        throw new NotFoundError("sprint/none-closed", "no sprint window has closed yet");
      }
    } else {
      if (!/^[1-9][0-9]{0,8}$/.test(q)) {
        throw new RequestError("request/bad-sprint", "sprint must be a positive integer");
      }
      index = Number(q);
    }
    const start = index * p.interval;
    const end = start + p.window;
    const upTo = Math.min(end, tip);
    const weights = await derive(`${index}:${chain.hashAtHeight(upTo) ?? ""}`, index);
    const total = weights.reduce((s, w) => s + w.weight, 0);
    return c.json({
      network: chain.params.name,
      sprint: index,
      start,
      windowEnd: end,
      seed: chain.hashAtHeight(start),
      closed: tip >= end,
      total,
      weights: weights.map((w) => ({
        nodeKey: w.nodeKey,
        address: addressFromPublicKey(fromHex(w.nodeKey, 33)),
        weight: w.weight,
        share: total > 0 ? w.weight / total : 0,
        accepted: w.verdict.accepted,
        sampled: w.verdict.sampled.length,
        mismatches: w.verdict.mismatches,
        limit: w.verdict.limit,
        proof: w.proof,
      })),
    });
  });
  return app;
}
