/**
 * @module Mempool route: `GET /v1/mempool?limit=N`, the pool's transactions (txid, size, fee, fee
 * rate, time entered), newest first, at most `limit` of them (default 100, at most 1000).
 */

import { Hono } from "hono";
import { formatCoins } from "../../chain/amount.ts";
import type { MempoolEntry } from "../../chain/mempool.ts";
import type { ChainNode } from "../../chain/node.ts";
import { RequestError } from "../errors.ts";

/** Transactions `GET /v1/mempool` lists when no `limit` is given. */
export const DEFAULT_MEMPOOL_LIMIT = 100;
/** The most transactions one `GET /v1/mempool` lists. */
export const MAX_MEMPOOL_LIMIT = 1000;

/** Parses `?limit=`: absent is the default; else an integer in 1..{@link MAX_MEMPOOL_LIMIT}. */
export function mempoolLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MEMPOOL_LIMIT;
  const limit = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_MEMPOOL_LIMIT) {
    throw new RequestError(
      "mempool/limit",
      `limit must be an integer from 1 to ${MAX_MEMPOOL_LIMIT}`,
    );
  }
  return limit;
}

/** JSON form of one mempool entry: fee in coins and base units, fee rate per byte, time in ms. */
export function mempoolEntryJson(e: MempoolEntry): Record<string, unknown> {
  return {
    txid: e.txid,
    size: e.bytes.length,
    fee: formatCoins(e.fee),
    feeUnits: e.fee.toString(),
    feeRate: e.feeRate,
    time: e.added,
  };
}

/** The newest `limit` entries of the pool, newest first (on equal times, the later added first). */
export function newestEntries(entries: MempoolEntry[], limit: number): MempoolEntry[] {
  return entries.reverse().sort((a, b) => b.added - a.added).slice(0, limit);
}

/** The mempool route over `chain`. */
export function mempoolRoutes(chain: ChainNode): Hono {
  const app = new Hono();
  app.get("/v1/mempool", (c) => {
    const limit = mempoolLimit(c.req.query("limit"));
    const all = chain.mempool.entries();
    return c.json({
      count: all.length,
      bytes: chain.mempool.bytes,
      limit,
      txs: newestEntries(all, limit).map(mempoolEntryJson),
    });
  });
  return app;
}
