/** @module The client address of an HTTP request, as `Deno.serve` (or `deno serve`) reports it. */

import type { Context } from "hono";

/** The remote address of the request in `c` ("unknown" when the server gives none). */
export function remoteIp(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}
