/**
 * @module The relay envelope: canonical binary layout, signing digest, strict decoder, the JSON form
 * used by the HTTP API, and the payload codecs of every message type.
 *
 * Binary layout (all integers little-endian):
 * `magic u32 | version u8 | type u8 | from 33 | to 33 | id 16 | hopLimit u8 | timestamp u64 (ms) |
 * payloadLength CompactSize | payload | signature 64`.
 * The signature covers SHA-256d(`"camelid/envelope"` tag, every header field except the hop limit,
 * SHA-256d(payload)); relays decrement the hop limit, so it is the one field left unsigned.
 */

import { ByteReader, ByteWriter, equalBytes, fromHex, toHex } from "../chain/bytes.ts";
import { DecodeError } from "../chain/errors.ts";
import { sha256, sha256d } from "../chain/hash.ts";
import { isValidPublicKey, signPreimage, verifySignature } from "../chain/keys.ts";

/** Current envelope version. */
export const ENVELOPE_VERSION = 1;
/** Default largest envelope (binary form), bytes: 1 MiB. */
export const DEFAULT_MAX_ENVELOPE = 1024 * 1024;
/** Bytes of an envelope around its payload (with a 5-byte CompactSize length). */
export const ENVELOPE_OVERHEAD = 4 + 1 + 1 + 33 + 33 + 16 + 1 + 8 + 5 + 64;
/** The broadcast recipient: 33 zero bytes. */
export const BROADCAST: Uint8Array = new Uint8Array(33);

const SIG_TAG = new TextEncoder().encode("camelid/envelope");

/** Message types and their wire codes. */
export const MessageType = {
  hello: 1,
  ping: 2,
  pong: 3,
  getpeers: 4,
  peers: 5,
  inv: 6,
  getdata: 7,
  notfound: 8,
  tx: 9,
  block: 10,
  getheaders: 11,
  headers: 12,
  direct: 13,
} as const;

/** Name of a message type. */
export type MessageTypeName = keyof typeof MessageType;

const TYPE_NAMES: Record<number, MessageTypeName> = Object.fromEntries(
  Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]),
);

/** Types that travel one link only (hop limit 0, never forwarded); the rest are routed. */
export const LINK_LOCAL_TYPES: ReadonlySet<MessageTypeName> = new Set<MessageTypeName>([
  "hello",
  "ping",
  "pong",
  "getpeers",
  "peers",
  "inv",
  "getdata",
  "notfound",
  "tx",
  "block",
  "getheaders",
  "headers",
]);

/** A decoded envelope. */
export interface Envelope {
  /** Network magic (u32). */
  magic: number;
  /** Envelope version. */
  version: number;
  /** Message type. */
  type: MessageTypeName;
  /** Sender's 33-byte compressed public key. */
  from: Uint8Array;
  /** Recipient's public key, or {@link BROADCAST}. */
  to: Uint8Array;
  /** 16 random bytes chosen by the sender; (from, id) names the message. */
  id: Uint8Array;
  /** Remaining hops; relays decrement it (unsigned). */
  hopLimit: number;
  /** Sender's clock, milliseconds since the Unix epoch. */
  timestamp: number;
  /** The payload. */
  payload: Uint8Array;
  /** 64-byte compact low-S ECDSA signature. */
  signature: Uint8Array;
}

/** The JSON form of an envelope (hex fields) used by the HTTP API. */
export interface EnvelopeJson {
  /** Network magic as a number. */
  magic: number;
  /** Envelope version. */
  version: number;
  /** Message type name. */
  type: string;
  /** Sender key, hex. */
  from: string;
  /** Recipient key, hex (66 zeros for broadcast). */
  to: string;
  /** Message id, hex (32 chars). */
  id: string;
  /** Remaining hops. */
  hopLimit: number;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** Payload, hex. */
  payload: string;
  /** Signature, hex (128 chars). */
  signature: string;
}

/** Message key used by seen-sets and routes: hex of from || id. */
export function messageKey(env: Envelope): string {
  return toHex(env.from) + toHex(env.id);
}

/** True when `to` is the broadcast address. */
export function isBroadcast(to: Uint8Array): boolean {
  return equalBytes(to, BROADCAST);
}

/** The 32-byte digest an envelope's signature covers: SHA-256 of {@link signingPreimage}. */
export function signingDigest(env: Omit<Envelope, "signature" | "hopLimit">): Uint8Array {
  return sha256(signingPreimage(env));
}

/** The single SHA-256 under the signing digest, which verifiers are handed (chain/signature.ts). */
export function signingPreimage(env: Omit<Envelope, "signature" | "hopLimit">): Uint8Array {
  const w = new ByteWriter(128);
  w.bytes(SIG_TAG).u32(env.magic).u8(env.version).u8(MessageType[env.type]);
  w.bytes(env.from).bytes(env.to).bytes(env.id).u64(BigInt(env.timestamp));
  w.varint(env.payload.length).bytes(sha256d(env.payload));
  return sha256(w.finish());
}

/** Fields needed to create an envelope. */
export interface EnvelopeInit {
  /** Network magic. */
  magic: number;
  /** Message type. */
  type: MessageTypeName;
  /** Recipient key (default broadcast). */
  to?: Uint8Array;
  /** Hop limit (default 0 for link-local types, 8 otherwise). */
  hopLimit?: number;
  /** Payload bytes (default empty). */
  payload?: Uint8Array;
  /** Timestamp in ms (default now). */
  timestamp?: number;
  /** Message id (default 16 random bytes). */
  id?: Uint8Array;
}

/** Creates and signs an envelope with `secretKey`, whose public key is `from`. */
export function createEnvelope(
  init: EnvelopeInit,
  from: Uint8Array,
  secretKey: Uint8Array,
): Envelope {
  const env = {
    magic: init.magic,
    version: ENVELOPE_VERSION,
    type: init.type,
    from,
    to: init.to ?? BROADCAST,
    id: init.id ?? crypto.getRandomValues(new Uint8Array(16)),
    hopLimit: init.hopLimit ?? (LINK_LOCAL_TYPES.has(init.type) ? 0 : 8),
    timestamp: init.timestamp ?? Date.now(),
    payload: init.payload ?? new Uint8Array(0),
  };
  return { ...env, signature: signPreimage(signingPreimage(env), secretKey) };
}

/** True when the envelope's signature is valid for its `from` key. */
export function verifyEnvelope(env: Envelope): boolean {
  return verifySignature(env.signature, signingPreimage(env), env.from);
}

/** Encodes an envelope in its canonical binary form. */
export function encodeEnvelope(env: Envelope): Uint8Array {
  const w = new ByteWriter(ENVELOPE_OVERHEAD + env.payload.length);
  w.u32(env.magic).u8(env.version).u8(MessageType[env.type]);
  w.bytes(env.from).bytes(env.to).bytes(env.id).u8(env.hopLimit).u64(BigInt(env.timestamp));
  w.varBytes(env.payload).bytes(env.signature);
  return w.finish();
}

function checkKeyField(key: Uint8Array, what: string, allowBroadcast: boolean): void {
  if (allowBroadcast && isBroadcast(key)) return;
  if (key[0] !== 2 && key[0] !== 3) {
    throw new DecodeError("envelope/key", `${what} is not a compressed public key`);
  }
}

/**
 * Strictly decodes a binary envelope no larger than `maxSize`. Throws `DecodeError` with codes
 * `envelope/too-large`, `envelope/version`, `envelope/type`, `envelope/key`,
 * `envelope/timestamp` or the byte reader's `decode/*` codes.
 */
export function decodeEnvelope(bytes: Uint8Array, maxSize = DEFAULT_MAX_ENVELOPE): Envelope {
  if (bytes.length > maxSize) {
    throw new DecodeError(
      "envelope/too-large",
      `envelope of ${bytes.length} bytes exceeds ${maxSize}`,
    );
  }
  const r = new ByteReader(bytes, "envelope");
  const magic = r.u32();
  const version = r.u8();
  if (version !== ENVELOPE_VERSION) {
    throw new DecodeError("envelope/version", `unknown envelope version ${version}`);
  }
  const code = r.u8();
  const type = TYPE_NAMES[code];
  if (!type) throw new DecodeError("envelope/type", `unknown message type ${code}`);
  const from = r.bytes(33);
  checkKeyField(from, "from", false);
  const to = r.bytes(33);
  checkKeyField(to, "to", true);
  const id = r.bytes(16);
  const hopLimit = r.u8();
  const ts = r.u64();
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DecodeError("envelope/timestamp", "timestamp out of range");
  }
  const payload = r.varBytes(maxSize);
  const signature = r.bytes(64);
  r.end();
  return {
    magic,
    version,
    type,
    from,
    to,
    id,
    hopLimit,
    timestamp: Number(ts),
    payload,
    signature,
  };
}

/** The JSON form of an envelope. */
export function envelopeToJson(env: Envelope): EnvelopeJson {
  return {
    magic: env.magic,
    version: env.version,
    type: env.type,
    from: toHex(env.from),
    to: toHex(env.to),
    id: toHex(env.id),
    hopLimit: env.hopLimit,
    timestamp: env.timestamp,
    payload: toHex(env.payload),
    signature: toHex(env.signature),
  };
}

function intField(o: Record<string, unknown>, k: string, max: number): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new DecodeError("envelope/json", `field "${k}" must be an integer in [0, ${max}]`);
  }
  return v;
}

function hexField(
  o: Record<string, unknown>,
  k: string,
  len?: number,
  maxLen?: number,
): Uint8Array {
  const v = o[k];
  if (typeof v !== "string") {
    throw new DecodeError("envelope/json", `field "${k}" must be a hex string`);
  }
  if (maxLen !== undefined && v.length > maxLen * 2) {
    throw new DecodeError("envelope/too-large", `field "${k}" exceeds ${maxLen} bytes`);
  }
  try {
    return fromHex(v, len);
  } catch (e) {
    throw new DecodeError("envelope/json", `field "${k}": ${(e as Error).message}`);
  }
}

/**
 * Parses the JSON form strictly: every field present with the right type and length, no unknown
 * fields. Throws `DecodeError` (`envelope/json`, `envelope/type`, `envelope/version`,
 * `envelope/key`, `envelope/too-large`).
 */
export function envelopeFromJson(value: unknown, maxSize = DEFAULT_MAX_ENVELOPE): Envelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError("envelope/json", "envelope must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  const known = [
    "magic",
    "version",
    "type",
    "from",
    "to",
    "id",
    "hopLimit",
    "timestamp",
    "payload",
    "signature",
  ];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new DecodeError("envelope/json", `unknown field "${k}"`);
  }
  const version = intField(o, "version", 255);
  if (version !== ENVELOPE_VERSION) {
    throw new DecodeError("envelope/version", `unknown envelope version ${version}`);
  }
  if (typeof o.type !== "string" || !Object.hasOwn(MessageType, o.type)) {
    throw new DecodeError("envelope/type", `unknown message type ${JSON.stringify(o.type)}`);
  }
  const from = hexField(o, "from", 33);
  checkKeyField(from, "from", false);
  const to = hexField(o, "to", 33);
  checkKeyField(to, "to", true);
  const env: Envelope = {
    magic: intField(o, "magic", 0xffffffff),
    version,
    type: o.type as MessageTypeName,
    from,
    to,
    id: hexField(o, "id", 16),
    hopLimit: intField(o, "hopLimit", 255),
    timestamp: intField(o, "timestamp", Number.MAX_SAFE_INTEGER),
    payload: hexField(o, "payload", undefined, maxSize),
    signature: hexField(o, "signature", 64),
  };
  const size = env.payload.length + ENVELOPE_OVERHEAD;
  if (size > maxSize) {
    throw new DecodeError("envelope/too-large", `envelope of ${size} bytes exceeds ${maxSize}`);
  }
  return env;
}

/** True when `key` is a usable 33-byte compressed public key. */
export function isPeerKey(key: Uint8Array): boolean {
  return isValidPublicKey(key);
}

// ---------------------------------------------------------------------------------------------
// Payloads

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function writeString(w: ByteWriter, s: string, max: number): void {
  const b = enc.encode(s);
  if (b.length > max) throw new RangeError(`string of ${b.length} bytes exceeds ${max}`);
  w.varBytes(b);
}

function readString(r: ByteReader, max: number): string {
  try {
    return dec.decode(r.varBytes(max));
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError("payload/utf8", `${r.what}: string is not valid UTF-8`);
  }
}

/** Service bits a node advertises. */
export const Services = {
  /** Holds a full chain and serves blocks and transactions. */
  chain: 1,
  /** Relays envelopes. */
  relay: 2,
} as const;

/** Largest advertised URL, bytes. */
export const MAX_URL_BYTES = 256;

/** Hello: the handshake message; proves the sender holds its key by signing the peer's challenge. */
export interface Hello {
  /** The challenge the peer sent, echoed (32 bytes). */
  echo: Uint8Array;
  /** A fresh challenge for the peer (32 bytes). */
  challenge: Uint8Array;
  /** Service bits. */
  services: number;
  /** URL others can reach the sender at (empty when not listening). */
  listenUrl: string;
  /** Sender's tip height (0 without a chain). */
  height: number;
  /** Software name and version. */
  userAgent: string;
}

/** Encodes a hello payload. */
export function encodeHello(h: Hello): Uint8Array {
  const w = new ByteWriter(128);
  w.bytes(h.echo).bytes(h.challenge).u32(h.services);
  writeString(w, h.listenUrl, MAX_URL_BYTES);
  w.u32(h.height);
  writeString(w, h.userAgent, 64);
  return w.finish();
}

/** Strictly decodes a hello payload. */
export function decodeHello(bytes: Uint8Array): Hello {
  const r = new ByteReader(bytes, "hello");
  const h: Hello = {
    echo: r.bytes(32),
    challenge: r.bytes(32),
    services: r.u32(),
    listenUrl: readString(r, MAX_URL_BYTES),
    height: r.u32(),
    userAgent: readString(r, 64),
  };
  r.end();
  return h;
}

/** Encodes a ping/pong nonce. */
export function encodeNonce(nonce: bigint): Uint8Array {
  return new ByteWriter(8).u64(nonce).finish();
}

/** Decodes a ping/pong nonce. */
export function decodeNonce(bytes: Uint8Array): bigint {
  const r = new ByteReader(bytes, "ping");
  const n = r.u64();
  r.end();
  return n;
}

/** Largest number of entries in a peers answer. */
export const MAX_PEERS_PER_ANSWER = 1000;

/** One entry of a peer exchange answer. */
export interface PeerAddress {
  /** Peer key (33 bytes). */
  key: Uint8Array;
  /** URL of the peer's HTTP/WebSocket endpoint. */
  url: string;
  /** Service bits. */
  services: number;
  /** Last time the peer was seen alive, ms. */
  lastSeen: number;
}

/** Encodes a CompactSize-counted list of at most `max` items of about `itemBytes` bytes each. */
function encodeList<T>(
  items: readonly T[],
  what: string,
  max: number,
  itemBytes: number,
  write: (w: ByteWriter, item: T) => void,
): Uint8Array {
  if (items.length > max) throw new RangeError(`${what} holds at most ${max} entries`);
  const w = new ByteWriter(9 + items.length * itemBytes);
  w.varint(items.length);
  for (const item of items) write(w, item);
  return w.finish();
}

/** Strictly decodes a CompactSize-counted list of at most `max` items; nothing may follow it. */
function decodeList<T>(
  bytes: Uint8Array,
  what: string,
  max: number,
  read: (r: ByteReader) => T,
): T[] {
  const r = new ByteReader(bytes, what);
  const n = r.varint(max);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(read(r));
  r.end();
  return out;
}

/** Encodes a peers answer (at most {@link MAX_PEERS_PER_ANSWER} entries). */
export function encodePeers(peers: PeerAddress[]): Uint8Array {
  return encodeList(peers, "peers", MAX_PEERS_PER_ANSWER, 80, (w, p) => {
    w.bytes(p.key);
    writeString(w, p.url, MAX_URL_BYTES);
    w.u32(p.services).u64(BigInt(p.lastSeen));
  });
}

/** Strictly decodes a peers answer. */
export function decodePeers(bytes: Uint8Array): PeerAddress[] {
  return decodeList(bytes, "peers", MAX_PEERS_PER_ANSWER, (r) => {
    const key = r.bytes(33);
    checkKeyField(key, "peer key", false);
    const url = readString(r, MAX_URL_BYTES);
    const services = r.u32();
    const ls = r.u64();
    return { key, url, services, lastSeen: Number(ls > 2n ** 53n ? 0n : ls) };
  });
}

/** Kinds of inventory items. */
export const InvKind = { tx: 1, block: 2 } as const;

/** One inventory item. */
export interface InvItem {
  /** Item kind. */
  kind: "tx" | "block";
  /** Id: lowercase hex in digest byte order. */
  hash: string;
}

/** Largest number of inventory items in one message. */
export const MAX_INV = 1000;

/** Encodes an inv, getdata or notfound payload. */
export function encodeInv(items: InvItem[]): Uint8Array {
  return encodeList(items, "inv", MAX_INV, 33, (w, it) => {
    w.u8(InvKind[it.kind]).bytes(fromHex(it.hash, 32));
  });
}

/** Strictly decodes an inv, getdata or notfound payload. */
export function decodeInv(bytes: Uint8Array): InvItem[] {
  return decodeList(bytes, "inv", MAX_INV, (r) => {
    const k = r.u8();
    if (k !== InvKind.tx && k !== InvKind.block) {
      throw new DecodeError("payload/inv-kind", `unknown inventory kind ${k}`);
    }
    return { kind: k === InvKind.tx ? "tx" : "block", hash: toHex(r.bytes(32)) };
  });
}

/** Largest locator length in a headers request. */
export const MAX_LOCATOR = 101;
/** Largest number of headers in one answer. */
export const MAX_HEADERS = 2000;

/** Encodes a headers request: the locator (hex block hashes, tip first). */
export function encodeGetHeaders(locator: string[]): Uint8Array {
  return encodeList(locator, "getheaders", MAX_LOCATOR, 32, (w, h) => w.bytes(fromHex(h, 32)));
}

/** Strictly decodes a headers request. */
export function decodeGetHeaders(bytes: Uint8Array): string[] {
  return decodeList(bytes, "getheaders", MAX_LOCATOR, (r) => toHex(r.bytes(32)));
}

/** Encodes a headers answer (80-byte headers). */
export function encodeHeaders(headers: Uint8Array[]): Uint8Array {
  return encodeList(headers, "headers", MAX_HEADERS, 80, (w, h) => {
    if (h.length !== 80) throw new RangeError("a block header is 80 bytes");
    w.bytes(h);
  });
}

/** Strictly decodes a headers answer. */
export function decodeHeaders(bytes: Uint8Array): Uint8Array[] {
  return decodeList(bytes, "headers", MAX_HEADERS, (r) => r.bytes(80));
}
