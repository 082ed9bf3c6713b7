/** @module CLI user errors with real processes: one line, exit 1, a typed code. */

import assert from "node:assert/strict";
import { runBriefly } from "./run_briefly.ts";

/** Asserts `run` failed with exit 1 and exactly one stderr line starting with `error (code)`. */
function assertOneLineError(run: { code: number; stderr: string }, code: string): string {
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.ok(lines[0].startsWith(`error (${code}): `), run.stderr);
  return lines[0];
}

/** A loopback port where nothing listens (taken from the OS, then let go). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("model fetch --from an address where nothing listens says it is unreachable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-fetch-" });
  try {
    const url = `http://127.0.0.1:${closedPort()}`;
    const run = await runBriefly([
      "model",
      "fetch",
      "ab".repeat(32),
      "--from",
      url,
      "--out",
      `${dir}/m.gguf`,
    ]);
    const line = assertOneLineError(run, "model/peer-unreachable");
    assert.ok(line.includes(url), line);
    assert.ok(!/holds model/.test(line), line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify with a missing job file is one line naming the file, not a stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-verify-missing-" });
  try {
    const run = await runBriefly([
      "verify",
      "--model",
      `${dir}/model.gguf`,
      "--job",
      `${dir}/job.json`,
    ]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^error \(job\/not-found\): job file .* does not exist$/);
    assert.ok(lines[0].includes(`${dir}/job.json`), lines[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model fixture refuses to overwrite a file unless --force", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-fixture-force-" });
  try {
    const out = `${dir}/m.gguf`;
    await Deno.writeTextFile(out, "my notes, not a model");
    const args = ["model", "fixture", "--size", "tiny", "--out", out];
    const refused = await runBriefly(args);
    assertOneLineError(refused, "model/exists");
    assert.equal(await Deno.readTextFile(out), "my notes, not a model");
    const forced = await runBriefly([...args, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await Deno.readTextFile(out), "my notes, not a model");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model id of a file that is not GGUF is an error, not an id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-model-id-" });
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
    const run = await runBriefly(["model", "id", `${dir}/notes.txt`]);
    assertOneLineError(run, "gguf/bad-magic");
    assert.equal(run.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
