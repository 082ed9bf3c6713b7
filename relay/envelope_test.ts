import assert from "node:assert/strict";
import fc from "fast-check";
import { DecodeError } from "../chain/errors.ts";
import { ByteWriter, toHex } from "../chain/bytes.ts";
import {
  BROADCAST,
  decodeEnvelope,
  decodeGetHeaders,
  decodeHeaders,
  decodeHello,
  decodeInv,
  decodePeers,
  encodeEnvelope,
  encodeGetHeaders,
  encodeHeaders,
  encodeHello,
  encodeInv,
  encodePeers,
  envelopeFromJson,
  envelopeToJson,
  MAX_PEERS_PER_ANSWER,
  verifyEnvelope,
} from "./envelope.ts";
import { NodeIdentity } from "./identity.ts";

const MAGIC = 0xc4a3e1d2;
const alice = new NodeIdentity(new Uint8Array(32).fill(7));
const bob = new NodeIdentity(new Uint8Array(32).fill(9));

function sample() {
  return alice.sign({
    magic: MAGIC,
    type: "direct",
    to: bob.publicKey,
    payload: new TextEncoder().encode("hello bob"),
    hopLimit: 5,
    timestamp: 1_764_000_000_000,
    id: new Uint8Array(16).fill(1),
  });
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${e}`);
    return e.code;
  }
  throw new Error("expected a DecodeError");
}

Deno.test("envelope round-trips through binary and JSON, and its signature verifies", () => {
  const env = sample();
  const bytes = encodeEnvelope(env);
  assert.equal(bytes.length, 4 + 1 + 1 + 33 + 33 + 16 + 1 + 8 + 1 + 9 + 64);
  assert.deepEqual(decodeEnvelope(bytes), env);
  assert.deepEqual(envelopeFromJson(JSON.parse(JSON.stringify(envelopeToJson(env)))), env);
  assert.ok(verifyEnvelope(env));
  // The hop limit is the one unsigned field: relays decrement it.
  assert.ok(verifyEnvelope({ ...env, hopLimit: 1 }));
});

Deno.test("a change to any signed field breaks the signature", () => {
  const env = sample();
  assert.equal(verifyEnvelope({ ...env, payload: new TextEncoder().encode("hello eve") }), false);
  assert.equal(verifyEnvelope({ ...env, to: alice.publicKey }), false);
  assert.equal(verifyEnvelope({ ...env, from: bob.publicKey }), false);
  assert.equal(verifyEnvelope({ ...env, timestamp: env.timestamp + 1 }), false);
  assert.equal(verifyEnvelope({ ...env, magic: env.magic + 1 }), false);
  assert.equal(verifyEnvelope({ ...env, type: "block" }), false);
  assert.equal(verifyEnvelope({ ...env, id: new Uint8Array(16).fill(2) }), false);
  const sig = env.signature.slice();
  sig[10] ^= 1;
  assert.equal(verifyEnvelope({ ...env, signature: sig }), false);
});

Deno.test("the binary decoder rejects truncated, trailing, oversized and unknown input", () => {
  const bytes = encodeEnvelope(sample());
  assert.equal(
    codeOf(() => decodeEnvelope(bytes.subarray(0, bytes.length - 1))),
    "decode/truncated",
  );
  const trailing = new Uint8Array(bytes.length + 1);
  trailing.set(bytes);
  assert.equal(codeOf(() => decodeEnvelope(trailing)), "decode/trailing-bytes");
  assert.equal(codeOf(() => decodeEnvelope(bytes, 100)), "envelope/too-large");
  const badVersion = bytes.slice();
  badVersion[4] = 2;
  assert.equal(codeOf(() => decodeEnvelope(badVersion)), "envelope/version");
  const badType = bytes.slice();
  badType[5] = 200;
  assert.equal(codeOf(() => decodeEnvelope(badType)), "envelope/type");
  const badFrom = bytes.slice();
  badFrom[6] = 4;
  assert.equal(codeOf(() => decodeEnvelope(badFrom)), "envelope/key");
  // Payload length written non-minimally (0xfd + u16 for a value below 0xfd).
  const env = sample();
  const w = new ByteWriter();
  w.u32(env.magic).u8(1).u8(13).bytes(env.from).bytes(env.to).bytes(env.id).u8(5);
  w.u64(BigInt(env.timestamp)).u8(0xfd).u16(env.payload.length).bytes(env.payload);
  w.bytes(env.signature);
  assert.equal(codeOf(() => decodeEnvelope(w.finish())), "decode/non-minimal-varint");
});

Deno.test("the JSON form is strict about fields, hex and sizes", () => {
  const json = envelopeToJson(sample()) as unknown as Record<string, unknown>;
  assert.equal(codeOf(() => envelopeFromJson({ ...json, extra: 1 })), "envelope/json");
  assert.equal(codeOf(() => envelopeFromJson({ ...json, from: "zz" })), "envelope/json");
  assert.equal(codeOf(() => envelopeFromJson({ ...json, signature: "00" })), "envelope/json");
  assert.equal(codeOf(() => envelopeFromJson({ ...json, hopLimit: 256 })), "envelope/json");
  assert.equal(codeOf(() => envelopeFromJson({ ...json, type: "nope" })), "envelope/type");
  assert.equal(codeOf(() => envelopeFromJson([])), "envelope/json");
  assert.equal(
    codeOf(() => envelopeFromJson({ ...json, payload: "00".repeat(2000) }, 1000)),
    "envelope/too-large",
  );
  assert.equal(
    codeOf(() => envelopeFromJson({ ...json, to: toHex(BROADCAST).replace(/^00/, "05") })),
    "envelope/key",
  );
});

Deno.test("payload codecs round-trip and reject bad input", () => {
  const hello = {
    echo: new Uint8Array(32).fill(1),
    challenge: new Uint8Array(32).fill(2),
    services: 3,
    listenUrl: "http://127.0.0.1:8787",
    height: 12,
    userAgent: "camelid/test",
  };
  assert.deepEqual(decodeHello(encodeHello(hello)), hello);
  assert.equal(codeOf(() => decodeHello(encodeHello(hello).subarray(1))), "decode/truncated");

  const peers = [{ key: bob.publicKey, url: "http://127.0.0.1:1", services: 1, lastSeen: 5 }];
  assert.deepEqual(decodePeers(encodePeers(peers)), peers);
  const many = Array.from({ length: MAX_PEERS_PER_ANSWER + 1 }, () => peers[0]);
  assert.throws(() => encodePeers(many), RangeError);
  const tooMany = new ByteWriter().varint(MAX_PEERS_PER_ANSWER + 1).finish();
  assert.equal(codeOf(() => decodePeers(tooMany)), "decode/too-large");

  const inv = [{ kind: "tx" as const, hash: "ab".repeat(32) }, {
    kind: "block" as const,
    hash: "cd".repeat(32),
  }];
  assert.deepEqual(decodeInv(encodeInv(inv)), inv);
  const badInv = encodeInv(inv);
  badInv[1] = 3;
  assert.equal(codeOf(() => decodeInv(badInv)), "payload/inv-kind");

  const loc = ["11".repeat(32), "22".repeat(32)];
  assert.deepEqual(decodeGetHeaders(encodeGetHeaders(loc)), loc);
  const headers = [new Uint8Array(80).fill(3)];
  assert.deepEqual(decodeHeaders(encodeHeaders(headers)), headers);
  assert.equal(
    codeOf(() => decodeHeaders(encodeHeaders(headers).subarray(0, 50))),
    "decode/truncated",
  );
});

Deno.test("random bytes never crash the decoders: they decode or throw DecodeError", () => {
  const valid = encodeEnvelope(sample());
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(valid.length), (junk, cut) => {
      for (
        const input of [
          junk,
          valid.subarray(0, cut),
          new Uint8Array([...valid.subarray(0, cut), ...junk]),
        ]
      ) {
        for (const dec of [decodeEnvelope, decodeHello, decodePeers, decodeInv, decodeHeaders]) {
          try {
            dec(input);
          } catch (e) {
            assert.ok(e instanceof DecodeError, String(e));
          }
        }
      }
    }),
    { seed: 42, numRuns: 300 },
  );
});
