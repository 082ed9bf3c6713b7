import assert from "node:assert/strict";
import { makeFixture } from "../compute/fixture.ts";
import { modelIdFromBytes } from "../chain/model_id.ts";
import { runCli, spawnNode } from "./process_helpers.ts";

Deno.test("a model is fetched by id from several nodes, chunk by chunk, and a lying peer's chunks are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-models-" });
  const bytes = makeFixture({ size: "tiny", dtype: "f32", seed: 3n, vocab: 8000 });
  const id = modelIdFromBytes(bytes);
  const path = `${dir}/model.gguf`;
  await Deno.writeFile(path, bytes);
  const a = await spawnNode(["--data-dir", `${dir}/a`, "--no-mine", "--model", path]);
  const b = await spawnNode(["--data-dir", `${dir}/b`, "--no-mine", "--model", path]);
  // An adversary that serves the true manifest but flips a byte in every chunk it sends.
  const liar = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const upstream = await fetch(`${a.url}${url.pathname}`);
    if (!url.pathname.includes("/chunks/")) return upstream;
    const body = new Uint8Array(await upstream.arrayBuffer());
    body[body.length >> 1] ^= 0xff;
    return new Response(body);
  });
  const liarUrl = `http://127.0.0.1:${(liar.addr as Deno.NetAddr).port}`;
  try {
    const list = await (await fetch(`${a.url}/v1/models`)).json();
    assert.deepEqual(list.models.map((m: { id: string }) => m.id), [id]);
    assert.ok(list.models[0].chunks >= 3, "several 1 MiB chunks");
    const out = `${dir}/fetched.gguf`;
    const run = await runCli([
      "model",
      "fetch",
      id,
      "--from",
      liarUrl,
      "--from",
      a.url,
      "--from",
      b.url,
      "--out",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      await Deno.readFile(out),
      bytes,
      "the fetched file is the model, byte for byte",
    );
    assert.match(run.stderr, /does not match its leaf/, "the lying peer's chunks were refused");

    const missing = await runCli([
      "model",
      "fetch",
      "ab".repeat(32),
      "--from",
      a.url,
      "--out",
      `${dir}/none.gguf`,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /model\/unavailable/);
    const onlyLiar = await runCli([
      "model",
      "fetch",
      id,
      "--from",
      liarUrl,
      "--out",
      `${dir}/bad.gguf`,
    ]);
    assert.equal(onlyLiar.code, 1);
    assert.match(onlyLiar.stderr, /model\/fetch-failed/);
    await assert.rejects(
      Deno.stat(`${dir}/bad.gguf`),
      Deno.errors.NotFound,
      "nothing half-written",
    );
    const far = await fetch(`${a.url}/v1/models/${id}/chunks/9999`);
    assert.equal(far.status, 404);
    await far.body?.cancel();
    const bad = await fetch(`${a.url}/v1/models/${id}/chunks/x`);
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  } finally {
    await liar.shutdown();
    await a.stop();
    await b.stop();
  }
});
