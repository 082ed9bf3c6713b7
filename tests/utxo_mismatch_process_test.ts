/**
 * A node process on a data directory whose UTXO set holds coins its chain never paid (as two
 * processes on one directory left) refuses to start: one line with the code and the repair, exit 1.
 */

import assert from "node:assert/strict";
import { ChainNode } from "../chain/node.ts";
import { COIN, networkParams } from "../chain/params.ts";
import { coinValue, utxoKey } from "../chain/store.ts";
import { UTXO_REPAIR_HINT } from "../chain/utxo_check.ts";
import { mine, newKey } from "./chain_helpers.ts";
import { runCli } from "./process_helpers.ts";

Deno.test("a node refuses to start on phantom coins, in one line with the repair, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-utxo-" });
  try {
    const kv = await Deno.openKv(`${dir}/chain.kv`);
    const owner = newKey();
    await mine(await ChainNode.open({ params: networkParams("dev"), kv }), owner, 3);
    const phantom = { value: 50n * COIN, scriptPubKey: owner.script, height: 2, coinbase: true };
    await kv.set(utxoKey("ee".repeat(32), 0), coinValue(phantom));
    kv.close();
    const run = await runCli(["node", "--data-dir", dir, "--no-mine", "--port", "0"]);
    assert.equal(run.code, 1);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^error \(store\/utxo-mismatch\): .*more than .* paid out/);
    assert.ok(lines[0].endsWith(UTXO_REPAIR_HINT));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
