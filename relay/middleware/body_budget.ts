/**
 * @module Middleware: a per-address budget of request body bytes in flight. A request reserves its
 * declared `content-length` (or `unknownLength` when it declares none) before its body is read and
 * releases it when answered; past the budget it is refused 429 `request/busy` (413
 * `request/too-large` when it alone is over), so that one address cannot have many large bodies
 * buffered at once.
 */

import type { MiddlewareHandler } from "hono";
import { RequestError } from "../errors.ts";
import { remoteIp } from "./remote_ip.ts";

/** What the budget needs: reserve (false when over) and release bytes for an address. */
export interface BodyBudget {
  /** Budget per address, bytes. */
  readonly perAddress: () => number;
  /** Bytes reserved for a body of unknown length. */
  readonly unknownLength: () => number;
  /** Whether `ip` is exempt. */
  readonly exempt: (ip: string) => boolean;
}

/** The in-flight body bytes of every address, and the middleware that keeps them in budget. */
export function bodyBudget(budget: BodyBudget): MiddlewareHandler {
  const inFlight = new Map<string, number>();
  return async function bodyBudget(c, next) {
    const ip = remoteIp(c);
    if (c.req.method === "GET" || c.req.method === "HEAD" || budget.exempt(ip)) return next();
    const declared = Number(c.req.header("content-length") ?? NaN);
    const bytes = Number.isSafeInteger(declared) && declared >= 0
      ? declared
      : budget.unknownLength();
    const max = budget.perAddress();
    if (bytes > max) throw new RequestError("request/too-large", `body over ${max} bytes`);
    const used = inFlight.get(ip) ?? 0;
    if (used + bytes > max) {
      throw new RequestError("request/busy", "too many request bytes in flight from this address");
    }
    inFlight.set(ip, used + bytes);
    try {
      await next();
    } finally {
      const left = (inFlight.get(ip) ?? bytes) - bytes;
      if (left > 0) inFlight.set(ip, left);
      else inFlight.delete(ip);
    }
  };
}
