/**
 * @module `POST /v1/messages` (a socket-less client sends a signed envelope, JSON or binary) and
 * `GET /v1/messages?to=<key>&after=<seq>&limit=<n>` (it collects what its inbox holds).
 */

import { type Context, Hono } from "hono";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { DecodeError } from "../../chain/errors.ts";
import {
  decodeEnvelope,
  type Envelope,
  envelopeFromJson,
  envelopeToJson,
  isPeerKey,
} from "../envelope.ts";
import { Misbehaviour, RequestError, statusOf } from "../errors.ts";
import { limitBody } from "../middleware/body_limit.ts";
import { chargeMisbehaviour } from "../middleware/charge_misbehaviour.ts";
import { notDiscouraged } from "../middleware/not_discouraged.ts";
import { rateLimit } from "../middleware/rate_limit.ts";
import { remoteIp } from "../middleware/remote_ip.ts";
import { started } from "../middleware/started.ts";
import type { NetworkService } from "../network.ts";

/** Most messages one `GET /v1/messages` answers. */
export const MAX_MESSAGES_PER_GET = 1000;

/** Reads the envelope of a request (binary with `application/octet-stream`, else JSON). */
async function readEnvelope(c: Context, maxSize: number): Promise<Envelope> {
  try {
    if ((c.req.header("content-type") ?? "").startsWith("application/octet-stream")) {
      return decodeEnvelope(new Uint8Array(await c.req.arrayBuffer()), maxSize);
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new DecodeError("envelope/json", "body is not valid JSON");
    }
    return envelopeFromJson(body, maxSize);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const big = statusOf(e) === 413;
    throw new Misbehaviour(
      big ? "envelope/too-large" : "envelope/malformed",
      e.message,
      big ? 20 : 10,
    );
  }
}

/** The message routes of `network`. */
export function messageRoutes(network: NetworkService): Hono {
  const app = new Hono();
  const isStarted = started(() => network.started);
  const limited = rateLimit((ip) => network.takeHttpToken(ip));

  app.post(
    "/v1/messages",
    isStarted,
    notDiscouraged((ip) => network.table.isDiscouraged("ip", ip)),
    chargeMisbehaviour((ip, m) => network.scores.chargeAddress(ip, m)),
    limited,
    // The JSON form doubles the payload (hex) and adds field names.
    limitBody(
      () => network.limits.maxEnvelopeBytes * 2 + 4096,
      () => new Misbehaviour("envelope/too-large", "envelope too large", 20),
    ),
    async (c) => {
      const env = await readEnvelope(c, network.limits.maxEnvelopeBytes);
      const result = await network.router.accept(env, { kind: "http", ip: remoteIp(c) });
      return c.json({ id: toHex(env.id), from: toHex(env.from), result }, 202);
    },
  );

  app.get("/v1/messages", isStarted, limited, (c) => {
    let key: Uint8Array;
    try {
      key = fromHex(c.req.query("to") ?? "", 33);
    } catch {
      throw new RequestError("messages/to", "query to must be a 33-byte public key in hex");
    }
    if (!isPeerKey(key)) {
      throw new RequestError("messages/to", "query to is not a valid public key");
    }
    const after = Number(c.req.query("after") ?? "0");
    const limit = Number(c.req.query("limit") ?? "100");
    if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1) {
      throw new RequestError("messages/query", "after and limit must be non-negative integers");
    }
    const entries = network.inbox.get(toHex(key), after, Math.min(limit, MAX_MESSAGES_PER_GET));
    return c.json({
      messages: entries.map((e) => ({ seq: e.seq, ...envelopeToJson(e.envelope) })),
    });
  });
  return app;
}
