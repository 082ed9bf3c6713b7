/**
 * @module Signature benchmarks: verifies/s through our API (form checks + the backend chosen at
 * load) against bare `node:crypto` on the same inputs, with tiny-secp256k1 and noble beside them,
 * and the signature cache's hit path.
 */

import crypto from "node:crypto";
import { sha256 } from "../../chain/hash.ts";
import { publicKeyOf, signPreimage } from "../../chain/keys.ts";
import { SPKI_PREFIX } from "../../chain/secp/backends.ts";
import {
  availableBackends,
  signatureBackend,
  verifySignature,
  verifyWithBackend,
} from "../../chain/signature.ts";
import { SignatureCache, verifySignatureCached } from "../../chain/sig_cache.ts";

/** 256 signatures by 256 distinct keys over distinct 32-byte preimages. */
const cases = Array.from({ length: 256 }, (_, i) => {
  const secret = sha256(new TextEncoder().encode(`bench key ${i}`));
  const preimage = sha256(new TextEncoder().encode(`bench message ${i}`));
  const publicKey = publicKeyOf(secret);
  const spki = new Uint8Array(SPKI_PREFIX.length + 33);
  spki.set(SPKI_PREFIX);
  spki.set(publicKey, SPKI_PREFIX.length);
  return {
    signature: signPreimage(preimage, secret),
    preimage,
    publicKey,
    spki,
    keyObject: crypto.createPublicKey({ key: spki as never, format: "der", type: "spki" }),
  };
});
let next = 0;
const take = () => cases[next++ & 255];

const bareVerify = (c: (typeof cases)[number], key: crypto.KeyObject) =>
  crypto.verify("sha256", c.preimage, { key, dsaEncoding: "ieee-p1363" }, c.signature);

Deno.bench({
  name: "bare node:crypto (SPKI import + verify per call)",
  group: "signature verify",
  baseline: true,
  fn: () => {
    const c = take();
    const key = crypto.createPublicKey({ key: c.spki as never, format: "der", type: "spki" });
    if (!bareVerify(c, key)) throw new Error("bad case");
  },
});
Deno.bench({
  name: "bare node:crypto (key imported beforehand)",
  group: "signature verify",
  fn: () => {
    const c = take();
    if (!bareVerify(c, c.keyObject)) throw new Error("bad case");
  },
});
Deno.bench({
  name: `verifySignature (ours: form checks + ${signatureBackend.name})`,
  group: "signature verify",
  fn: () => {
    const c = take();
    if (!verifySignature(c.signature, c.preimage, c.publicKey)) throw new Error("bad case");
  },
});
for (const backend of (await availableBackends()).filter((b) => b.name !== "native")) {
  Deno.bench({
    name: `verifyWithBackend(${backend.name}) (form checks + backend)`,
    group: "signature verify",
    fn: () => {
      const c = take();
      if (!verifyWithBackend(backend, c.signature, c.preimage, c.publicKey)) {
        throw new Error("bad case");
      }
    },
  });
}

const warm = new SignatureCache();
for (const c of cases) warm.add(c.signature, c.preimage, c.publicKey);
Deno.bench({
  name: "verifySignatureCached, every lookup a hit",
  group: "signature verify",
  fn: () => {
    const c = take();
    if (!verifySignatureCached(c.signature, c.preimage, c.publicKey, warm)) {
      throw new Error("bad case");
    }
  },
});
