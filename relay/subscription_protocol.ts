/**
 * @module The light-client subscription protocol (`GET /v1/subscribe`, a WebSocket of JSON text
 * frames), shared by the node's side (relay/routes/subscribe.ts) and the client's
 * (client/subscription.ts): the frames each side sends, their bounds, and the challenge a client
 * signs to prove it holds the key it subscribes for. No Deno, npm or file access: browsers load it.
 */

import { concatBytes, isHex32 } from "../chain/bytes.ts";
import type { EnvelopeJson } from "./envelope.ts";

/** Names the protocol in the signed challenge. */
export const SUBSCRIBE_PROTOCOL = "camelid/subscribe/1";
/** Largest frame a client may send, bytes. */
export const MAX_SUBSCRIBER_FRAME = 4096;
/** Most job ids one subscription watches. */
export const MAX_WATCHED_JOBS = 32;
/** A subscriber that has not authenticated by then is closed, ms. */
export const SUBSCRIBE_AUTH_TIMEOUT_MS = 10_000;

/** WebSocket close codes of the subscription (4000-4999 are the application's). */
export const SubscribeClose = {
  /** A malformed, unknown or out-of-order frame. */
  protocol: 4400,
  /** The signature does not prove the key. */
  badAuth: 4401,
  /** No authentication in time. */
  authTimeout: 4408,
  /** Frames too fast (the per-address request bucket is empty). */
  rateLimited: 4429,
  /** The subscriber reads too slowly: its unsent backlog passed the link bound (resume later). */
  backlog: 4413,
  /** The node is stopping. */
  stopping: 1001,
} as const;

/** Node -> client, first frame: the challenge to sign. */
export interface ChallengeFrame {
  /** Type. */
  t: "challenge";
  /** 32 random bytes, hex. */
  nonce: string;
  /** The node's network magic. */
  magic: number;
}

/** Client -> node: the key, its signature over the challenge, and where to resume. */
export interface AuthFrame {
  /** Type. */
  t: "auth";
  /** Compressed public key, hex (the inbox subscribed to). */
  key: string;
  /** Compact ECDSA signature of {@link subscribeChallengePreimage}, hex. */
  sig: string;
  /** Inbox sequence number already seen: messages after it are sent first (0: all held). */
  after: number;
  /** Job ids (hex) whose transactions to push. */
  jobs?: string[];
  /** Push new tips. */
  tips?: boolean;
}

/** Client -> node: watch more jobs. */
export interface WatchFrame {
  /** Type. */
  t: "watch";
  /** Job ids, hex. */
  jobs: string[];
}

/** A client's frame. */
export type ClientFrame = AuthFrame | WatchFrame;

/** Node -> client: authenticated; the inbox held up to `seq` when the backlog was sent. */
export interface ReadyFrame {
  /** Type. */
  t: "ready";
  /** Highest inbox sequence number sent in the backlog (or the client's `after`). */
  seq: number;
  /** The tip at that moment. */
  height: number;
  /** Its hash (empty on a chain-less relay). */
  tip: string;
}

/** Node -> client: a message in the client's inbox (the backlog first, then as they come). */
export interface MessageFrame {
  /** Type. */
  t: "message";
  /** Its inbox sequence number (resume with `after` = the last one handled). */
  seq: number;
  /** The signed envelope. */
  envelope: EnvelopeJson;
}

/** Node -> client: a new best block. */
export interface TipFrame {
  /** Type. */
  t: "tip";
  /** Its height. */
  height: number;
  /** Its hash. */
  hash: string;
}

/** Node -> client: a transaction of a watched job entered the mempool (height null) or a block. */
export interface JobTxFrame {
  /** Type. */
  t: "job";
  /** Job id hex. */
  jobId: string;
  /** The transaction. */
  txid: string;
  /** The block height, or null in the mempool. */
  height: number | null;
}

/** A node's frame. */
export type NodeFrame = ChallengeFrame | ReadyFrame | MessageFrame | TipFrame | JobTxFrame;

/**
 * What a subscriber signs: SHA-256 of `"camelid/subscribe/1" || magic (u32 LE) || nonce (32) ||
 * key (33)`. The nonce is fresh per connection, so a signature answers one connection only; the
 * magic and protocol name keep it from being reused as any other signature.
 */
export function subscribeChallengePreimage(
  magic: number,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array {
  const m = new Uint8Array(4);
  new DataView(m.buffer).setUint32(0, magic >>> 0, true);
  return concatBytes(new TextEncoder().encode(SUBSCRIBE_PROTOCOL), m, nonce, key);
}

/** True for a 32-byte job id in lowercase hex. */
export function isJobIdHex(s: unknown): s is string {
  return isHex32(s);
}
