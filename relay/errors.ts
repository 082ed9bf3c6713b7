/** @module Maps errors to JSON HTTP answers: `{"error":{"code","message"}}` with a fitting status. */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CamelidError, DecodeError, NotFoundError, ValidationError } from "../chain/errors.ts";

/** A JSON error answer. */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
): Response {
  return c.json({ error: { code, message } }, status);
}

/** Chooses the status of an error: 400 malformed, 404 unknown, 413 too large, 422 rule broken, 500 otherwise. */
export function statusOf(err: unknown): ContentfulStatusCode {
  if (err instanceof NotFoundError) return 404;
  if (err instanceof DecodeError) return err.code === "decode/too-large" ? 413 : 400;
  if (err instanceof ValidationError) return 422;
  if (err instanceof RangeError || err instanceof TypeError || err instanceof SyntaxError) {
    return 400;
  }
  if (err instanceof CamelidError) return 400;
  return 500;
}

/** Hono `onError` handler answering every thrown error as JSON. */
export function onError(err: Error, c: Context): Response {
  const status = statusOf(err);
  const code = err instanceof CamelidError
    ? err.code
    : status === 413
    ? "request/too-large"
    : status === 400
    ? "request/malformed"
    : "internal";
  const message = status === 500 ? "internal error" : err.message;
  if (status === 500) console.error(err);
  return errorResponse(c, status, code, message);
}
