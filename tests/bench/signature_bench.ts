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
import { VerifyPool } from "../../chain/verify_pool.ts";
import { SignatureBatcher } from "../../chain/verify_batcher.ts";

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
/** One bench iteration: all 256 cases, each of which must verify (so a sample is ~50-200 ms). */
const ROUND = { n: 20, warmup: 2 };

const bareVerify = (c: (typeof cases)[number], key: crypto.KeyObject) =>
  crypto.verify("sha256", c.preimage, { key, dsaEncoding: "ieee-p1363" }, c.signature);

Deno.bench({
  name: "bare node:crypto x256 (SPKI import + verify per call)",
  group: "signature verify",
  baseline: true,
  ...ROUND,
  fn: () => {
    for (const c of cases) {
      const key = crypto.createPublicKey({ key: c.spki as never, format: "der", type: "spki" });
      if (!bareVerify(c, key)) throw new Error("bad case");
    }
  },
});
Deno.bench({
  name: "bare node:crypto x256 (keys imported beforehand)",
  group: "signature verify",
  ...ROUND,
  fn: () => {
    for (const c of cases) if (!bareVerify(c, c.keyObject)) throw new Error("bad case");
  },
});
Deno.bench({
  name: `verifySignature x256 (ours: form checks + ${signatureBackend.name})`,
  group: "signature verify",
  ...ROUND,
  fn: () => {
    for (const c of cases) {
      if (!verifySignature(c.signature, c.preimage, c.publicKey)) throw new Error("bad case");
    }
  },
});
for (const backend of (await availableBackends()).filter((b) => b.name !== "native")) {
  Deno.bench({
    name: `verifyWithBackend(${backend.name}) x256`,
    group: "signature verify",
    ...ROUND,
    fn: () => {
      for (const c of cases) {
        if (!verifyWithBackend(backend, c.signature, c.preimage, c.publicKey)) {
          throw new Error("bad case");
        }
      }
    },
  });
}

const warm = new SignatureCache();
for (const c of cases) warm.add(c.signature, c.preimage, c.publicKey);
Deno.bench({
  name: "verifySignatureCached x256, every lookup a hit",
  group: "signature verify",
  ...ROUND,
  fn: () => {
    for (const c of cases) {
      if (!verifySignatureCached(c.signature, c.preimage, c.publicKey, warm)) {
        throw new Error("bad case");
      }
    }
  },
});

const pool = new VerifyPool();
const batch = Array.from({ length: 4 }, () => cases).flat();
await pool.verifyBatch(batch);
Deno.bench({
  name: `bare node:crypto, ${batch.length} in a loop (keys imported beforehand)`,
  group: "signature batch",
  baseline: true,
  n: 10,
  warmup: 1,
  fn: () => {
    for (const c of batch) if (!bareVerify(c, c.keyObject)) throw new Error("bad case");
  },
});
Deno.bench({
  name: `VerifyPool.verifyBatch, ${batch.length} over ${pool.size} worker threads`,
  group: "signature batch",
  n: 10,
  warmup: 1,
  async fn() {
    if ((await pool.verifyBatch(batch)).includes(false)) throw new Error("bad case");
  },
});
const batcher = new SignatureBatcher(pool);
Deno.bench({
  name: `SignatureBatcher.verify, ${batch.length} single checks made at once`,
  group: "signature batch",
  n: 10,
  warmup: 1,
  async fn() {
    const verdicts = await Promise.all(batch.map((c) => batcher.verify(c)));
    if (verdicts.includes(false)) throw new Error("bad case");
  },
});
