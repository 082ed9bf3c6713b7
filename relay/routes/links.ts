/**
 * @module `GET /v1/ws`: a peer dials in. The dialer's challenge comes in the query
 * (`?challenge=<32 bytes hex>`); the upgrade is refused when no inbound slot is left.
 */

import { Hono } from "hono";
import { fromHex, isHex32 } from "../../chain/bytes.ts";
import { RequestError } from "../errors.ts";
import { notDiscouraged } from "../middleware/not_discouraged.ts";
import { remoteIp } from "../middleware/remote_ip.ts";
import { started } from "../middleware/started.ts";
import type { NetworkService } from "../network.ts";
import { upgradeOf } from "../upgrade.ts";

/** The link route of `network`. */
export function linkRoutes(network: NetworkService): Hono {
  const app = new Hono();
  app.get(
    "/v1/ws",
    started(() => network.started),
    notDiscouraged((ip) => network.table.isDiscouraged("ip", ip)),
    (c) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new RequestError("ws/upgrade", "expected a WebSocket upgrade");
      }
      const challenge = c.req.query("challenge") ?? "";
      if (!isHex32(challenge)) {
        throw new RequestError("ws/challenge", "query challenge must be 32 bytes of lowercase hex");
      }
      const ip = remoteIp(c);
      network.checkInboundSlot(ip);
      const { socket, response } = upgradeOf(c.env)(c.req.raw);
      network.acceptInbound(socket, ip, fromHex(challenge, 32));
      return response;
    },
  );
  return app;
}
