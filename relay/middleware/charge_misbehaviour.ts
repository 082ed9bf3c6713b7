/**
 * @module Middleware: charges the client's address for a {@link Misbehaviour} that a later
 * middleware or the handler threw (Hono keeps the thrown error in `c.error`).
 */

import type { MiddlewareHandler } from "hono";
import { Misbehaviour } from "../errors.ts";
import { remoteIp } from "./remote_ip.ts";

/** After the route ran, calls `charge(ip, m)` when it failed with a {@link Misbehaviour}. */
export function chargeMisbehaviour(
  charge: (ip: string, m: Misbehaviour) => void,
): MiddlewareHandler {
  return async function chargeMisbehaviour(c, next) {
    await next();
    if (c.error instanceof Misbehaviour) charge(remoteIp(c), c.error);
  };
}
