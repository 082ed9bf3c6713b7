/** @module Start-up with real processes: one node per data directory (flock) and a port in use. */

import assert from "node:assert/strict";
import { runBriefly } from "./run_briefly.ts";
import { spawnNode } from "./process_helpers.ts";

Deno.test("a second node on the same data directory exits 1; after kill -9 of the first a new one starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-lock-" });
  const first = await spawnNode(["--data-dir", dir, "--no-mine"]);
  let third: Awaited<ReturnType<typeof spawnNode>> | null = null;
  try {
    const second = await runBriefly(["node", "--port", "0", "--data-dir", dir, "--no-mine"]);
    assert.equal(second.signal, null, "the second node kept running");
    assert.equal(second.code, 1);
    const lines = second.stderr.trim().split("\n");
    assert.equal(lines.length, 1, second.stderr);
    assert.match(
      lines[0],
      new RegExp(
        `^error \\(datadir/locked\\): data directory ${dir} is in use .*process ${first.child.pid}`,
      ),
    );
    // The first node still serves, untouched.
    const res = await fetch(`${first.url}/v1/status`);
    assert.equal(res.status, 200);
    await res.body?.cancel();

    await first.stop("SIGKILL"); // no clean-up runs: the kernel must drop the lock
    third = await spawnNode(["--data-dir", dir, "--no-mine"]);
    const again = await fetch(`${third.url}/v1/status`);
    assert.equal(again.status, 200);
    await again.body?.cancel();
  } finally {
    await first.stop("SIGKILL");
    await third?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node on a port in use exits 1 with one line naming the port, no stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-port-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const run = await runBriefly(["node", "--port", String(port), "--data-dir", dir, "--no-mine"]);
    assert.equal(run.code, 1);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0],
      new RegExp(`^error \\(node/port-in-use\\): port ${port} on 127\\.0\\.0\\.1 `),
    );
    // It let go of its data directory: a node on a free port starts there at once.
    const node = await spawnNode(["--data-dir", dir, "--no-mine"]);
    await node.stop();
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
