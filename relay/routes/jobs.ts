/**
 * @module Job routes: `GET /v1/jobs` (the public job pool) and `GET /v1/jobs/:id` (one job with its
 * stake's notices and its unspent coins).
 */

import { Hono } from "hono";
import type { ChainNode } from "../../chain/node.ts";
import { NotFoundError } from "../../chain/errors.ts";
import { type JobPool, poolEntryJson } from "../jobpool.ts";
import { hex32Param } from "./params.ts";

/** The job routes over `jobs` (an empty pool when absent) and `chain`. */
export function jobRoutes(chain: ChainNode, jobs: JobPool | undefined): Hono {
  const app = new Hono();

  app.get("/v1/jobs", async (c) => {
    if (!jobs) return c.json({ jobs: [] });
    return c.json({ jobs: (await jobs.list()).map(poolEntryJson) });
  });

  app.get("/v1/jobs/:id", async (c) => {
    const id = hex32Param(c.req.param("id"), "job id");
    const entry = await jobs?.get(id);
    if (!entry) throw new NotFoundError("job/not-found", `unknown job ${id}`);
    const coins = await chain.getJobCoins(id);
    const notices = entry.stake
      ? await chain.notices(`${entry.stake.txid}:${entry.stake.vout}`)
      : [];
    return c.json({
      ...poolEntryJson(entry),
      notices,
      unspent: coins.map(({ txid, vout, coin }) => ({
        txid,
        vout,
        units: coin.value.toString(),
        height: coin.height,
      })),
    });
  });

  return app;
}
