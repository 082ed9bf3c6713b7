/** @module Middleware: refuse requests (403 `peer/discouraged`) from a discouraged address. */

import type { MiddlewareHandler } from "hono";
import { RequestError } from "../errors.ts";
import { remoteIp } from "./remote_ip.ts";

/** Answers `peer/discouraged` when `isDiscouraged(ip)` holds for the client's address. */
export function notDiscouraged(isDiscouraged: (ip: string) => boolean): MiddlewareHandler {
  return async function notDiscouraged(c, next) {
    if (isDiscouraged(remoteIp(c))) {
      throw new RequestError("peer/discouraged", "this address is discouraged");
    }
    await next();
  };
}
