/**
 * @module Middleware: a per-address rate limit. Past it the request is a `rate/limited`
 * {@link Misbehaviour} of one point (429; charged where the route charges misbehaviour).
 */

import type { MiddlewareHandler } from "hono";
import { Misbehaviour } from "../errors.ts";
import { remoteIp } from "./remote_ip.ts";

/** Takes a token for the client's address with `take(ip)`; refuses the request when none is left. */
export function rateLimit(take: (ip: string) => boolean): MiddlewareHandler {
  return async function rateLimit(c, next) {
    if (!take(remoteIp(c))) {
      throw new Misbehaviour("rate/limited", "too many requests; slow down", 1);
    }
    await next();
  };
}
