/**
 * @module How `/v1/ws` upgrades a request to a WebSocket: with Deno's `Deno.upgradeWebSocket` (the
 * edge under `deno serve`, in-process relays), or with the upgrade the node's own server hands the
 * app beside the request (relay/ws_upgrade.ts: `ws` with a maximum frame payload). No npm or file
 * access here: the edge imports it.
 */

import type { LinkSocket } from "./link.ts";

/** Upgrades a request to a WebSocket: the socket, and the response the route returns. */
export type UpgradeWebSocket = (req: Request) => { socket: LinkSocket; response: Response };

/** What the node's server passes to the app beside each request (Hono's `c.env`). */
export interface ServerEnv {
  /** The client's address. */
  remoteAddr: { hostname: string; port: number; transport: "tcp" };
  /** The upgrade of this connection, when the server does it itself (else Deno's). */
  upgradeWebSocket?: UpgradeWebSocket;
}

/** Deno's upgrade (frames are buffered whole before the link sees their size). */
export const denoUpgrade: UpgradeWebSocket = (req) =>
  Deno.upgradeWebSocket(req, { idleTimeout: 0 });

/** The upgrade to use for a request whose server environment is `env`. */
export function upgradeOf(env: unknown): UpgradeWebSocket {
  return (env as Partial<ServerEnv> | undefined)?.upgradeWebSocket ?? denoUpgrade;
}
