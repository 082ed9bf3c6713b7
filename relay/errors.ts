/**
 * @module The relay's typed errors and the one JSON error mapper of every HTTP route: a thrown error
 * with a `code` becomes `{"error":{"code","message"}}` with the status its code maps to (never its
 * message text).
 */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CamelidError, NotFoundError, ValidationError } from "../chain/errors.ts";

/** A refused HTTP request (no slot, forbidden, malformed query...): its code picks the status. */
export class RequestError extends CamelidError {}

/** A protocol violation by a peer (a link or an HTTP client): how many misbehaviour points it costs. */
export class Misbehaviour extends CamelidError {
  /** Misbehaviour points. */
  readonly points: number;
  /** Creates a violation with a code, a message and its points. */
  constructor(code: string, message: string, points: number) {
    super(code, message);
    this.points = points;
  }
}

/** Decodes a peer's payload with `decode`; a failure is an `envelope/malformed` violation (100 points). */
export function decodeFromPeer<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (e) {
    throw new Misbehaviour("envelope/malformed", e instanceof Error ? e.message : String(e), 100);
  }
}

/** HTTP status of every error code that does not answer its class's status (see {@link statusOf}). */
export const STATUS_BY_CODE: Readonly<Record<string, ContentfulStatusCode>> = Object.freeze({
  "admin/forbidden": 403,
  "decode/too-large": 413,
  "envelope/replay": 409,
  "envelope/signature": 401,
  "envelope/too-large": 413,
  "inbox/full": 429,
  "inbox/origin-full": 429,
  "inbox/recipient-full": 429,
  "inbox/sender-full": 429,
  "inbox/too-large": 413,
  "peer/discouraged": 403,
  "peer/full": 503,
  "peer/ip-full": 429,
  "peer/pending-full": 503,
  "rate/limited": 429,
  "request/busy": 429,
  "relay/starting": 503,
  "request/too-large": 413,
  "route/not-found": 404,
});

/**
 * Chooses the status of an error: its code's entry in {@link STATUS_BY_CODE}, else by class: 404
 * unknown, 422 rule broken, 400 any other typed error or malformed input, 500 otherwise.
 */
export function statusOf(err: unknown): ContentfulStatusCode {
  if (err instanceof CamelidError && err.code in STATUS_BY_CODE) return STATUS_BY_CODE[err.code];
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ValidationError) return 422;
  if (err instanceof CamelidError) return 400;
  if (err instanceof RangeError || err instanceof TypeError || err instanceof SyntaxError) {
    return 400;
  }
  return 500;
}

/** A JSON error answer; `errorClass` names the typed error's class, so clients rebuild it (relay/client.ts). */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  errorClass?: string,
): Response {
  return c.json({ error: { code, message, ...(errorClass ? { class: errorClass } : {}) } }, status);
}

/** Hono `onError` handler answering every thrown error as JSON. */
export function onError(err: Error, c: Context): Response {
  const status = statusOf(err);
  const code = err instanceof CamelidError
    ? err.code
    : status === 400
    ? "request/malformed"
    : "internal";
  const message = status === 500 ? "internal error" : err.message;
  if (status === 500) console.error(err);
  return errorResponse(
    c,
    status,
    code,
    message,
    err instanceof CamelidError ? err.name : undefined,
  );
}

/** Hono `notFound` handler: `route/not-found`. */
export function notFound(c: Context): Response {
  return onError(new RequestError("route/not-found", `no route ${c.req.method} ${c.req.path}`), c);
}
