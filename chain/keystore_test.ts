import assert from "node:assert/strict";
import {
  createKeystore,
  KDF_LIMITS,
  KeystoreError,
  type KeystoreFile,
  parseKeystore,
  unlockKeystore,
} from "./keystore.ts";

const codeOf = (code: string) => (e: unknown) => e instanceof KeystoreError && e.code === code;

/** A keystore's JSON as a person may edit it (any value in any field). */
type KeystoreJson = {
  version: unknown;
  address: string;
  publicKey: string;
  iv: string;
  ciphertext: string;
  kdf?: { N: unknown; r: unknown; p: unknown; salt: string };
};

/** A copy of `ks` with `edit` applied to its JSON form (as a person editing the file would). */
function edited(ks: KeystoreFile, edit: (j: KeystoreJson) => void): unknown {
  const j = JSON.parse(JSON.stringify(ks));
  edit(j);
  return j;
}

Deno.test("a keystore we write parses and unlocks", async () => {
  const ks = await createKeystore("pw");
  assert.deepEqual(parseKeystore(JSON.parse(JSON.stringify(ks))), ks);
  assert.equal((await unlockKeystore(ks, "pw")).length, 32);
  await assert.rejects(() => unlockKeystore(ks, "not pw"), codeOf("keystore/bad-passphrase"));
});

Deno.test("KDF parameters outside what we write are refused before any key derivation", async () => {
  const ks = await createKeystore("pw");
  const cases: [string, (j: KeystoreJson) => void][] = [
    ["p = 1,000,000 (hung wallet send)", (j) => j.kdf!.p = 1_000_000],
    ["N = 2^20 (1.1 GB)", (j) => j.kdf!.N = 2 ** 20],
    ["N = 3 (library stack trace)", (j) => j.kdf!.N = 3],
    ["N = 2^13 (weaker than we write)", (j) => j.kdf!.N = 2 ** 13],
    ["N = 2^15 + 0.5", (j) => j.kdf!.N = 2 ** 15 + 0.5],
    ["r = 1024", (j) => j.kdf!.r = 1024],
  ];
  for (const [what, edit] of cases) {
    const started = performance.now();
    assert.throws(() => parseKeystore(edited(ks, edit)), codeOf("keystore/bad-kdf"), what);
    // The same parameters handed straight to unlock (no parse) are refused too.
    await assert.rejects(
      () => unlockKeystore(edited(ks, edit) as KeystoreFile, "pw"),
      codeOf("keystore/bad-kdf"),
      what,
    );
    assert.ok(performance.now() - started < 5_000, `${what} was not refused at once`);
  }
  for (const log2N of [KDF_LIMITS.minLog2N, KDF_LIMITS.maxLog2N]) {
    assert.ok(parseKeystore(edited(ks, (j) => j.kdf!.N = 2 ** log2N)), `N = 2^${log2N} is allowed`);
  }
  await assert.rejects(() => createKeystore("pw", undefined, 2 ** 20), codeOf("keystore/bad-kdf"));
});

Deno.test("a damaged keystore is keystore/malformed with a one-line reason", async () => {
  const ks = await createKeystore("pw");
  const cases: [string, unknown][] = [
    ["null", null],
    ["an array", []],
    ["version 2", edited(ks, (j) => j.version = 2)],
    ["address of another key", edited(ks, (j) => j.address = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")],
    ["public key cut short", edited(ks, (j) => j.publicKey = j.publicKey.slice(0, 40))],
    ["kdf missing", edited(ks, (j) => delete j.kdf)],
    ["kdf N as a string", edited(ks, (j) => j.kdf!.N = "32768")],
    ["salt not hex", edited(ks, (j) => j.kdf!.salt = "zz".repeat(16))],
    ["iv cut short", edited(ks, (j) => j.iv = j.iv.slice(2))],
    ["ciphertext cut short", edited(ks, (j) => j.ciphertext = j.ciphertext.slice(0, 64))],
  ];
  for (const [what, json] of cases) {
    assert.throws(
      () => parseKeystore(json),
      (e: unknown) => codeOf("keystore/malformed")(e) && !(e as Error).message.includes("\n"),
      what,
    );
  }
});
