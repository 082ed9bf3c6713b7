import assert from "node:assert/strict";
import { DecodeError, NotFoundError } from "../chain/errors.ts";
import { makeFixture } from "./fixture.ts";
import { assertGgufFile } from "./gguf_check.ts";

Deno.test("only a file that starts with the GGUF magic passes the GGUF check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-gguf-check-" });
  try {
    await Deno.writeFile(`${dir}/m.gguf`, makeFixture({ size: "tiny", dtype: "f32", seed: 1n }));
    await assertGgufFile(`${dir}/m.gguf`);
    const bad = (e: unknown) => e instanceof DecodeError && e.code === "gguf/bad-magic";
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello, not a model");
    await assert.rejects(() => assertGgufFile(`${dir}/notes.txt`), bad);
    await Deno.writeFile(`${dir}/short`, new TextEncoder().encode("GGU"));
    await assert.rejects(() => assertGgufFile(`${dir}/short`), bad);
    await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
    await assert.rejects(() => assertGgufFile(`${dir}/empty`), bad);
    await assert.rejects(() => assertGgufFile(`${dir}/none.gguf`), NotFoundError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
