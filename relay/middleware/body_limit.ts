/**
 * @module Middleware: a request body size limit (Hono's `bodyLimit`) that throws a typed error, so
 * that the JSON error mapper answers it like any other.
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

/**
 * Refuses a body over `maxSize` bytes (a number, or a function read per request when the limit can
 * change) by throwing `tooLarge(maxSize)`.
 */
export function limitBody(
  maxSize: number | (() => number),
  tooLarge: (maxSize: number) => Error,
): MiddlewareHandler {
  return function limitBody(c, next) {
    const max = typeof maxSize === "number" ? maxSize : maxSize();
    return bodyLimit({
      maxSize: max,
      onError: () => {
        throw tooLarge(max);
      },
    })(c, next);
  };
}
