import assert from "node:assert/strict";
import { CamelidError } from "../chain/errors.ts";
import { readKeystore, writeNewKeystore } from "./wallet_file.ts";

const codeOf = (code: string) => (e: unknown) =>
  e instanceof CamelidError && e.code === code && !e.message.includes("\n");

Deno.test("wallet files: a directory, a corrupt or oversized file, and edited KDF give typed errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-wallet-file-" });
  try {
    await assert.rejects(() => readKeystore(dir), codeOf("wallet/not-a-file"));
    await assert.rejects(() => writeNewKeystore(dir, "pw"), codeOf("wallet/not-a-file"));
    await assert.rejects(() => readKeystore(`${dir}/none.json`), codeOf("wallet/not-found"));

    const path = `${dir}/w.json`;
    await writeNewKeystore(path, "pw");
    await assert.rejects(() => writeNewKeystore(path, "pw"), codeOf("wallet/exists"));
    const text = await Deno.readTextFile(path);
    assert.ok(await readKeystore(path));

    await Deno.writeTextFile(path, text.slice(0, text.length / 2)); // cut short
    await assert.rejects(() => readKeystore(path), codeOf("keystore/malformed"));
    await Deno.writeTextFile(path, " ".repeat(1 << 20) + text); // 1 MiB
    await assert.rejects(() => readKeystore(path), codeOf("keystore/malformed"));

    const json = JSON.parse(text);
    json.kdf.p = 1_000_000;
    await Deno.writeTextFile(path, JSON.stringify(json));
    await assert.rejects(
      () => readKeystore(path),
      (e: unknown) => codeOf("keystore/bad-kdf")(e) && (e as Error).message.startsWith(path),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
