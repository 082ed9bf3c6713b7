/** @module Middleware: refuse requests (503 `relay/starting`) until the relay has started. */

import type { MiddlewareHandler } from "hono";
import { RequestError } from "../errors.ts";

/** Answers `relay/starting` while `isStarted()` is false. */
export function started(isStarted: () => boolean): MiddlewareHandler {
  return async function started(_c, next) {
    if (!isStarted()) throw new RequestError("relay/starting", "the relay is starting");
    await next();
  };
}
