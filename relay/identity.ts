/** @module The node's relay identity: a secp256k1 key kept in Deno KV, used to sign envelopes. */

import { toHex } from "../chain/bytes.ts";
import { generateSecretKey, publicKeyOf } from "../chain/keys.ts";
import { createEnvelope, type Envelope, type EnvelopeInit } from "./envelope.ts";

/** KV key under which the node's secret key is stored. */
export const IDENTITY_KV_KEY: Deno.KvKey = ["relay", "identity", "v1"];

/** A node's signing identity. */
export class NodeIdentity {
  /** 32-byte secret key. */
  readonly secretKey: Uint8Array;
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  /** Hex of the public key. */
  readonly keyHex: string;

  /** Wraps an existing secret key. */
  constructor(secretKey: Uint8Array) {
    this.secretKey = secretKey;
    this.publicKey = publicKeyOf(secretKey);
    this.keyHex = toHex(this.publicKey);
  }

  /** A fresh random identity (not persisted). */
  static generate(): NodeIdentity {
    return new NodeIdentity(generateSecretKey());
  }

  /** Creates and signs an envelope from this identity. */
  sign(init: EnvelopeInit): Envelope {
    return createEnvelope(init, this.publicKey, this.secretKey);
  }
}

/**
 * Loads the identity stored in `kv`, creating and storing one on first use. Concurrent first
 * starts agree on one key (atomic check on the empty entry).
 */
export async function loadIdentity(kv: Deno.Kv): Promise<NodeIdentity> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const got = await kv.get<Uint8Array>(IDENTITY_KV_KEY);
    if (got.value instanceof Uint8Array && got.value.length === 32) {
      return new NodeIdentity(got.value);
    }
    const fresh = generateSecretKey();
    const res = await kv.atomic().check(got).set(IDENTITY_KV_KEY, fresh).commit();
    if (res.ok) return new NodeIdentity(fresh);
  }
  throw new Error("could not load or store the relay identity in KV");
}
