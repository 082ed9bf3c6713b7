import assert from "node:assert/strict";
import fc from "fast-check";
import { fromHex, toHex } from "./bytes.ts";
import { sha256 } from "./hash.ts";
import { publicKeyOf, signPreimage } from "./keys.ts";
import { CURVE_ORDER, FIELD_PRIME, HALF_CURVE_ORDER } from "./secp/checks.ts";
import {
  availableBackends,
  type SignatureBackend,
  signatureBackend,
  verifySignature,
  verifyWithBackend,
} from "./signature.ts";

const backends: SignatureBackend[] = await availableBackends();

interface Case {
  name: string;
  signature: Uint8Array;
  preimage: Uint8Array;
  publicKey: Uint8Array;
  valid: boolean;
}

const N = BigInt("0x" + toHex(CURVE_ORDER));
const P = BigInt("0x" + toHex(FIELD_PRIME));

function be32(v: bigint): Uint8Array {
  return fromHex(v.toString(16).padStart(64, "0"));
}

function withR(sig: Uint8Array, r: Uint8Array): Uint8Array {
  const out = new Uint8Array(sig);
  out.set(r, 0);
  return out;
}

function withS(sig: Uint8Array, s: Uint8Array): Uint8Array {
  const out = new Uint8Array(sig);
  out.set(s, 32);
  return out;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = result * base % mod;
    base = base * base % mod;
    exp >>= 1n;
  }
  return result;
}

/** A compressed key whose x is below p but has no point on the curve (x^3 + 7 is not a square). */
function offCurveKey(): Uint8Array {
  for (let x = 1n;; x++) {
    const rhs = (x ** 3n + 7n) % P;
    if (modPow(rhs, (P - 1n) / 2n, P) === P - 1n) return Uint8Array.of(2, ...be32(x));
  }
}

function cases(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 8; i++) {
    const sk = sha256(new TextEncoder().encode(`key ${i}`));
    const pub = publicKeyOf(sk);
    const preimage = i % 3 === 2
      ? new TextEncoder().encode(`a longer preimage number ${i}`.repeat(i))
      : sha256(new TextEncoder().encode(`message ${i}`));
    const sig = signPreimage(preimage, sk);
    const s = BigInt("0x" + toHex(sig.subarray(32)));
    const other = publicKeyOf(sha256(new TextEncoder().encode(`other ${i}`)));
    const wrongPreimage = new Uint8Array(preimage);
    wrongPreimage[0] ^= 1;
    out.push(
      { name: `valid ${i}`, signature: sig, preimage, publicKey: pub, valid: true },
      {
        name: `high-S ${i}`,
        signature: withS(sig, be32(N - s)),
        preimage,
        publicKey: pub,
        valid: false,
      },
      { name: `wrong key ${i}`, signature: sig, preimage, publicKey: other, valid: false },
      {
        name: `wrong digest ${i}`,
        signature: sig,
        preimage: wrongPreimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `r = 0 ${i}`,
        signature: withR(sig, new Uint8Array(32)),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `s = 0 ${i}`,
        signature: withS(sig, new Uint8Array(32)),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `r = n ${i}`,
        signature: withR(sig, CURVE_ORDER),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `r + n mod 2^256 ${i}`,
        signature: withR(sig, be32((BigInt("0x" + toHex(sig.subarray(0, 32))) + N) % (1n << 256n))),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `s = n ${i}`,
        signature: withS(sig, CURVE_ORDER),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `s = n/2 + 1 ${i}`,
        signature: withS(sig, be32(N / 2n + 1n)),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `s = n/2 ${i}`,
        signature: withS(sig, HALF_CURVE_ORDER),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `r = 2^256-1 ${i}`,
        signature: withR(sig, new Uint8Array(32).fill(255)),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `short signature ${i}`,
        signature: sig.subarray(0, 63),
        preimage,
        publicKey: pub,
        valid: false,
      },
      {
        name: `prefix 04 ${i}`,
        signature: sig,
        preimage,
        publicKey: Uint8Array.of(4, ...pub.subarray(1)),
        valid: false,
      },
      {
        name: `odd/even flipped ${i}`,
        signature: sig,
        preimage,
        publicKey: Uint8Array.of(pub[0] ^ 1, ...pub.subarray(1)),
        valid: false,
      },
    );
  }
  const { signature, preimage } = out[0];
  out.push(
    { name: "off-curve key", signature, preimage, publicKey: offCurveKey(), valid: false },
    {
      name: "x = p",
      signature,
      preimage,
      publicKey: Uint8Array.of(2, ...FIELD_PRIME),
      valid: false,
    },
    {
      name: "x = p + 1",
      signature,
      preimage,
      publicKey: Uint8Array.of(3, ...be32(P + 1n)),
      valid: false,
    },
    { name: "zero key", signature, preimage, publicKey: new Uint8Array(33), valid: false },
    {
      name: "uncompressed-length key",
      signature,
      preimage,
      publicKey: new Uint8Array(65).fill(4),
      valid: false,
    },
  );
  return out;
}

Deno.test("every backend loads here and the native one was chosen", () => {
  assert.deepEqual(backends.map((b) => b.name), ["native", "tiny-secp256k1", "noble"]);
  assert.equal(signatureBackend.name, "native");
});

Deno.test("all backends give the same, expected answer on every case", () => {
  for (const c of cases()) {
    for (const backend of backends) {
      assert.equal(
        verifyWithBackend(backend, c.signature, c.preimage, c.publicKey),
        c.valid,
        `${c.name} on ${backend.name}`,
      );
    }
    assert.equal(verifySignature(c.signature, c.preimage, c.publicKey), c.valid, c.name);
  }
});

Deno.test("random bytes: all backends agree (and refuse)", () => {
  const valid = cases()[0];
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 0, maxLength: 80 }),
      fc.oneof(
        fc.uint8Array({ minLength: 33, maxLength: 33 }),
        fc.constant(valid.publicKey),
      ),
      (signature, preimage, publicKey) => {
        const answers = backends.map((b) => verifyWithBackend(b, signature, preimage, publicKey));
        assert.deepEqual(answers, backends.map(() => false));
      },
    ),
    { seed: 12, numRuns: 300 },
  );
});

Deno.test("a backend's own leniency cannot pass a high-S or out-of-range signature", () => {
  const lenient: SignatureBackend = { name: "noble", verify: () => true };
  let checked = 0;
  for (
    const c of cases().filter((c) =>
      /^(high-S|[rs] = 0|[rs] = n |s = n\/2 \+ 1|r = 2\^256|short|prefix|x = p|zero|uncompressed)/
        .test(c.name)
    )
  ) {
    assert.equal(verifyWithBackend(lenient, c.signature, c.preimage, c.publicKey), false, c.name);
    checked++;
  }
  assert.equal(checked, 8 * 9 + 4);
});
