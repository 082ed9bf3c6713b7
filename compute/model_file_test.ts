import assert from "node:assert/strict";
import { NotFoundError } from "../chain/errors.ts";
import { MODEL_CHUNK_SIZE, modelIdFromBytes } from "../chain/model_id.ts";
import { tempFile } from "../tests/compute/fixtures.ts";
import { readGGUFDirectory } from "../verifier-wasm/gguf.ts";
import { makeFixture } from "./fixture.ts";
import { ModelFileError, modelIdOfFile, openModelFile, readModelHeader } from "./model_file.ts";

Deno.test("file model id equals the in-memory id and reports progress", async () => {
  const bytes = new Uint8Array(2 * MODEL_CHUNK_SIZE + 123).map((_, i) => (i * 31) & 0xff);
  const path = tempFile("id.bin", bytes);
  const seen: number[] = [];
  assert.equal(await modelIdOfFile(path, (done) => seen.push(done)), modelIdFromBytes(bytes));
  assert.equal(seen.at(-1), bytes.length);
  assert.equal(
    await modelIdOfFile(tempFile("empty.bin", new Uint8Array(0))),
    modelIdFromBytes(new Uint8Array(0)),
  );
});

Deno.test("a missing file is a NotFoundError", async () => {
  await assert.rejects(
    modelIdOfFile("/nonexistent/x.gguf"),
    (e) => e instanceof NotFoundError && e.code === "model/not-found",
  );
});

Deno.test("a directory is an unreadable model file, for the model id and for opening alike", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-model-dir-" });
  try {
    const unreadable = (e: unknown) => e instanceof ModelFileError && e.code === "model/unreadable";
    await assert.rejects(openModelFile(dir), unreadable);
    await assert.rejects(modelIdOfFile(dir), unreadable);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("an open model file reports its size", async () => {
  const path = tempFile("sized.bin", new Uint8Array(1000));
  const { file, size } = await openModelFile(path);
  file.close();
  assert.equal(size, 1000);
});

Deno.test("a header longer than the first prefix is read by growing the prefix", async () => {
  const bytes = makeFixture({ size: "tiny", dtype: "f32", seed: 2n, vocab: 2000 });
  const path = tempFile("header.gguf", bytes);
  const prefixes: number[] = [];
  const dir = await readModelHeader(path, (prefix, size) => {
    prefixes.push(prefix.length);
    return readGGUFDirectory(prefix, size);
  }, 256);
  assert.deepEqual(dir, readGGUFDirectory(bytes, bytes.length));
  assert.ok(prefixes.length > 1 && prefixes[0] === 256, `prefixes ${prefixes}`);
  assert.deepEqual(
    prefixes.slice(1),
    prefixes.slice(0, -1).map((n) => Math.min(n * 4, bytes.length)),
  );
});
