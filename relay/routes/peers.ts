/**
 * @module `GET /v1/peers` (links, peer table, discouragements, counters) and the operator's actions,
 * allowed from loopback only: `POST /v1/peers` (add a peer), `POST /v1/peers/discourage` and
 * `DELETE /v1/peers/discourage?key=|ip=`.
 */

import { Hono } from "hono";
import { RequestError } from "../errors.ts";
import { loopbackOnly } from "../middleware/loopback_only.ts";
import { rateLimit } from "../middleware/rate_limit.ts";
import { started } from "../middleware/started.ts";
import type { NetworkService } from "../network.ts";
import { normalizePeerUrl } from "../peers.ts";

/** How long an operator's discouragement lasts when the body names no `seconds`. */
export const DEFAULT_DISCOURAGE_SECONDS = 3600;
/** Longest discouragement an operator may ask for: 30 days. */
export const MAX_DISCOURAGE_SECONDS = 30 * 86_400;

/** The peer routes of `network`. */
export function peerRoutes(network: NetworkService): Hono {
  const app = new Hono();
  app.get("/v1/peers", rateLimit((ip) => network.takeHttpToken(ip)), (c) => {
    return c.json(network.peersInfo());
  });

  // Operator actions: only from the node's own host.
  const isStarted = started(() => network.started);
  const local = loopbackOnly();

  app.post("/v1/peers", isStarted, local, async (c) => {
    const body = await c.req.json().catch(() => null) as { url?: unknown } | null;
    if (!body || typeof body.url !== "string") {
      throw new RequestError("peers/url", 'body must be {"url": "http://host:port"}');
    }
    let url: string;
    try {
      url = normalizePeerUrl(body.url);
    } catch (e) {
      throw new RequestError("peers/url", (e as Error).message);
    }
    const added = await network.table.add(url, { source: "admin" });
    network.discovery.tick();
    return c.json({ url, added }, 202);
  });

  app.post("/v1/peers/discourage", isStarted, local, async (c) => {
    const body = await c.req.json().catch(() => null) as Record<string, unknown> | null;
    const seconds = body?.seconds ?? DEFAULT_DISCOURAGE_SECONDS;
    if (!body || (typeof body.key !== "string" && typeof body.ip !== "string")) {
      throw new RequestError("peers/discourage", 'body must be {"key"|"ip", "seconds"}');
    }
    if (!Number.isSafeInteger(seconds) || (seconds as number) < 1) {
      throw new RequestError("peers/discourage", "seconds must be a positive integer");
    }
    if ((seconds as number) > MAX_DISCOURAGE_SECONDS) {
      throw new RequestError(
        "peers/discourage",
        `seconds must be at most ${MAX_DISCOURAGE_SECONDS} (30 days)`,
      );
    }
    const kind = typeof body.key === "string" ? "key" : "ip";
    const value = (body.key ?? body.ip) as string;
    await network.table.discourage(kind, value, (seconds as number) * 1000, "operator");
    network.disconnect(kind, value);
    return c.json({ kind, value, seconds });
  });

  app.delete("/v1/peers/discourage", isStarted, local, async (c) => {
    const key = c.req.query("key");
    const ip = c.req.query("ip");
    if (!key && !ip) throw new RequestError("peers/discourage", "query key or ip is required");
    await network.table.lift(key ? "key" : "ip", (key ?? ip)!);
    network.discovery.tick();
    return c.json({ lifted: key ?? ip });
  });

  return app;
}
