/** @module Binds the node's HTTP server, turning the OS's bind failures into one-line typed errors. */

import { CamelidError } from "../chain/errors.ts";

/** Raised when the HTTP port cannot be bound (`node/port-in-use`, `node/port-denied`, `node/bad-host`). */
export class ListenError extends CamelidError {}

/** `Deno.serve` on `hostname:port`, or a {@link ListenError} saying why the port cannot be used. */
export function listenHttp(
  options: { hostname: string; port: number },
  handler: Deno.ServeHandler,
): Deno.HttpServer<Deno.NetAddr> {
  const where = `${options.hostname}:${options.port}`;
  try {
    return Deno.serve({ ...options, onListen: () => {} }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new ListenError(
        "node/port-in-use",
        `port ${options.port} on ${options.hostname} is already in use (another node?); stop it or choose another --port`,
        { cause: e },
      );
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new ListenError(
        "node/port-denied",
        `not allowed to listen on ${where} (ports below 1024 need privileges); choose another --port`,
        { cause: e },
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable) {
      throw new ListenError(
        "node/bad-host",
        `cannot listen on ${where}: no such local address; check --host`,
        { cause: e },
      );
    }
    throw e;
  }
}
