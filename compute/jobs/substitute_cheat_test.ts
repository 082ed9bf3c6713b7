/** @module Tests of the `--cheat substitute=<file>` dev/test mode (substitute_cheat.ts). */

import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { makeFixture } from "../fixture.ts";
import { ModelStore } from "../model_store.ts";
import { parseCheatOption, substituteFile, substitutingStore } from "./substitute_cheat.ts";

Deno.test("--cheat takes the listed modes and substitute=<file>, nothing else", () => {
  assert.equal(parseCheatOption("change-token"), "change-token");
  assert.equal(parseCheatOption("substitute=/tmp/q8.gguf"), "substitute=/tmp/q8.gguf");
  assert.throws(() => parseCheatOption("substitute="), InvalidArgumentError);
  assert.throws(() => parseCheatOption("swap"), InvalidArgumentError);
  assert.equal(substituteFile("substitute=/tmp/q8.gguf"), "/tmp/q8.gguf");
  assert.equal(substituteFile("change-token"), null);
});

Deno.test("a substituting store lists the held ids and gives the substitute's path for each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f16.gguf`, makeFixture({ size: "tiny", dtype: "f16", seed: 5n }));
    await Deno.writeFile(`${dir}/q8.gguf`, makeFixture({ size: "tiny", dtype: "q8_0", seed: 5n }));
    const models = await ModelStore.open({ files: [`${dir}/f16.gguf`] });
    const [id] = models.ids();
    const served = await substitutingStore(models, `${dir}/q8.gguf`);
    assert.deepEqual(served.ids(), [id]);
    assert.equal(served.path(id), `${dir}/q8.gguf`);
    assert.equal(served.path("00".repeat(32)), undefined);
    assert.equal(models.path(id), `${dir}/f16.gguf`); // the node's other roles keep the true file
    await assert.rejects(substitutingStore(models, `${dir}/missing.gguf`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
