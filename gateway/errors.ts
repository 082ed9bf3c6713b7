/**
 * @module The gateway's errors in OpenAI's shape: `{"error":{"message","type","param","code"}}` with
 * their HTTP status, plus a `camelid` object where a job was involved (its id, escrow, refund).
 */

import { CamelidError } from "../chain/errors.ts";

/** HTTP statuses the gateway answers errors with. */
export type GatewayStatus = 400 | 401 | 402 | 404 | 429 | 500 | 502 | 503 | 504;

/** OpenAI's error `type` for each status. */
const TYPES: Record<GatewayStatus, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "insufficient_quota",
  404: "invalid_request_error",
  429: "rate_limit_error",
  500: "server_error",
  502: "upstream_error",
  503: "service_unavailable",
  504: "timeout_error",
};

/** A request the gateway refuses or could not complete, with its status and OpenAI code. */
export class GatewayError extends CamelidError {
  /** Creates an error answered with `status`; `param` names the request field at fault. */
  constructor(
    readonly status: GatewayStatus,
    code: string,
    message: string,
    readonly param: string | null = null,
    readonly camelid?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** The OpenAI-shaped body of `e`. */
export function errorBody(e: GatewayError): Record<string, unknown> {
  return {
    error: {
      message: e.message,
      type: TYPES[e.status],
      param: e.param,
      code: e.code,
      ...(e.camelid ? { camelid: e.camelid } : {}),
    },
  };
}
