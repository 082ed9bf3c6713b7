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
    assert.match(lines[0], /^error \((job|file)\/not-found\): /);
    assert.ok(lines[0].includes(`${dir}/job.json`), lines[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
