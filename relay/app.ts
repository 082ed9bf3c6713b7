/**
 * @module The node's HTTP API under `/v1` (Hono): status, plus the chain, model, job and address
 * routes of relay/routes/. Every error is JSON `{"error":{"code","message"}}` (relay/errors.ts).
 */

import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { ChainNode } from "../chain/node.ts";
import { notFound, onError } from "./errors.ts";
import type { JobPool } from "./jobpool.ts";
import { addressRoutes } from "./routes/addresses.ts";
import { chainRoutes } from "./routes/chain.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { mempoolRoutes } from "./routes/mempool.ts";
import { modelRoutes, type ModelSource } from "./routes/models.ts";
import { staticRoutes } from "./routes/static.ts";
import { reputationRoutes } from "./routes/reputation.ts";
import { weightRoutes } from "./routes/weights.ts";

/** Software version reported by `/v1/status`. */
export const VERSION = "0.1.0";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The chain to serve. */
  chain: ChainNode;
  /** Models served by `/v1/models` (chunks that peers fetch and check against the model id). */
  models?: ModelSource;
  /** The job pool served by `/v1/jobs`. */
  jobs?: JobPool;
  /** Extra fields merged into `/v1/status` (e.g. peers, mining). */
  status?: () => Record<string, unknown>;
  /** Checks run first on every route (the network's per-address rate limit and body budget). */
  guards?: MiddlewareHandler[];
}

/** Builds the Hono app with the chain routes mounted under `/v1`. */
export function createApp(options: AppOptions): Hono {
  const { chain } = options;
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound);
  // Browsers' light clients call any node (their own, and the peers they survey): a public API
  // without cookies or credentials, so every origin may read it.
  app.use("/v1/*", cors());
  for (const guard of options.guards ?? []) app.use("*", guard);

  app.get("/v1/status", (c) => {
    const tip = chain.tip();
    return c.json({
      network: chain.params.name,
      version: VERSION,
      height: tip.height,
      tip: tip.hash,
      chainWork: tip.chainWork.toString(),
      genesis: chain.genesisHash(),
      mempool: chain.mempoolStatus(),
      ...options.status?.(),
    });
  });
  app.route("/", chainRoutes(chain));
  app.route("/", mempoolRoutes(chain));
  app.route("/", modelRoutes(options.models));
  app.route("/", jobRoutes(chain, options.jobs));
  app.route("/", addressRoutes(chain));
  app.route("/", weightRoutes(chain)); // compute weight per sprint (docs/protocol.md)
  app.route("/", reputationRoutes(chain)); // compute nodes' reputation (docs/protocol.md)
  app.route("/", staticRoutes()); // the web page at `/` (static/)
  return app;
}
