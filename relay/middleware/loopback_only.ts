/** @module Middleware: operator actions, allowed only from the node's own host (403 otherwise). */

import type { MiddlewareHandler } from "hono";
import { RequestError } from "../errors.ts";
import { isLoopback } from "../peers.ts";
import { remoteIp } from "./remote_ip.ts";

/** Answers `admin/forbidden` unless the client's address is a loopback address. */
export function loopbackOnly(): MiddlewareHandler {
  return async function loopbackOnly(c, next) {
    if (!isLoopback(remoteIp(c))) {
      throw new RequestError("admin/forbidden", "operator actions are only allowed from loopback");
    }
    await next();
  };
}
