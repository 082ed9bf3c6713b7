/**
 * @module The signature API bundled for browsers picks tiny-secp256k1 (libsecp256k1 in WASM) in
 * headless Chromium and gives the same verdicts as the native backend here.
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { sha256 } from "../../chain/hash.ts";
import { publicKeyOf, signPreimage } from "../../chain/keys.ts";
import { CURVE_ORDER } from "../../chain/secp/checks.ts";
import { signatureBackend, verifySignature } from "../../chain/signature.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Valid signatures and spoiled twins (high-S, wrong preimage, wrong key, random bytes). */
function cases(): { signature: string; preimage: string; publicKey: string }[] {
  const out = [];
  const n = BigInt("0x" + toHex(CURVE_ORDER));
  for (let i = 0; i < 6; i++) {
    const secret = sha256(new TextEncoder().encode(`browser key ${i}`));
    const preimage = sha256(new TextEncoder().encode(`browser message ${i}`));
    const signature = signPreimage(preimage, secret);
    const publicKey = publicKeyOf(secret);
    const s = BigInt("0x" + toHex(signature.subarray(32)));
    const high = Uint8Array.of(
      ...signature.subarray(0, 32),
      ...fromHex((n - s).toString(16).padStart(64, "0")),
    );
    const other = publicKeyOf(sha256(secret));
    for (
      const [sig, pre, key] of [
        [signature, preimage, publicKey],
        [high, preimage, publicKey],
        [signature, sha256(preimage), publicKey],
        [signature, preimage, other],
        [crypto.getRandomValues(new Uint8Array(64)), preimage, publicKey],
      ]
    ) out.push({ signature: toHex(sig), preimage: toHex(pre), publicKey: toHex(key) });
  }
  return out;
}

/** Headless Chromium; fails (never skips) where it is not installed. */
async function launchChromium() {
  const found = await Deno.stat(CHROMIUM).then(() => true, () => false);
  if (!found) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`,
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

Deno.test({
  name: "chromium: the bundled signature API runs on tiny-secp256k1 with the native verdicts",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const browser = await launchChromium();
    const dir = await Deno.makeTempDir({ prefix: "camelid-sig-bundle-" });
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      const bundle = `${dir}/signature.mjs`;
      const built = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--platform", "browser", "-o", bundle, "chain/signature.ts"],
        cwd: new URL("../../", import.meta.url).pathname,
      }).output();
      assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
      const all = cases();
      const expected = all.map((c) =>
        verifySignature(fromHex(c.signature), fromHex(c.preimage), fromHex(c.publicKey))
      );
      assert.equal(signatureBackend.name, "native");
      assert.equal(expected.filter((v) => v).length, 6);
      server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
        if (new URL(req.url).pathname === "/signature.mjs") {
          return new Response(await Deno.readFile(bundle), {
            headers: { "content-type": "text/javascript" },
          });
        }
        return new Response("<!doctype html><title>sig</title>", {
          headers: { "content-type": "text/html" },
        });
      });
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      const got = await page.evaluate(async (list) => {
        const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
        const api = await import("/signature.mjs" as string);
        return {
          backend: api.signatureBackend.name as string,
          verdicts: list.map((c) =>
            api.verifySignature(hex(c.signature), hex(c.preimage), hex(c.publicKey)) as boolean
          ),
        };
      }, all);
      assert.equal(got.backend, "tiny-secp256k1");
      assert.deepEqual(got.verdicts, expected);
    } finally {
      await browser.close();
      await server?.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
