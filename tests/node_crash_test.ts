import assert from "node:assert/strict";
import { ChainNode } from "../chain/node.ts";
import { networkParams } from "../chain/params.ts";
import { COIN } from "../chain/params.ts";
import { toHex } from "../chain/bytes.ts";
import { coinbaseOf, makeBlock, mine, newKey, openDevNode, spend } from "./chain_helpers.ts";
import { getJson, spawnNode } from "./process_helpers.ts";

Deno.test("a node killed with SIGKILL in the middle of connecting a block recovers to the replayed UTXO set", async () => {
  // Build a chain in-process whose last block needs several KV commits to connect.
  const source = await openDevNode();
  const alice = newKey();
  const [first] = await mine(source.node, alice, 1);
  await mine(source.node, alice, source.node.params.coinbaseMaturity);
  const cb = await coinbaseOf(source.node, first);
  const fan = spend(
    alice,
    [{ txid: cb, vout: 0, value: 50n * COIN }],
    Array.from({ length: 1200 }, () => ({ value: 4_000_000n, script: alice.script })),
  );
  await source.node.processTx(fan.bytes);
  const bigBlock = makeBlock(source.node, alice);
  const hashes: string[] = [];
  for (let h = 1; h <= source.node.tip().height; h++) hashes.push(source.node.hashAtHeight(h)!);
  const blocks = await Promise.all(hashes.map((h) => source.node.getBlockBytes(h)));
  source.close();

  // A node process receives the chain, then the big block, and is killed mid-connection.
  const dir = await Deno.makeTempDir({ prefix: "camelid-crash-" });
  const crashing = await spawnNode(["--data-dir", dir, "--no-mine"], {
    CAMELID_FAULT: "connect:batch",
  });
  for (const b of blocks) {
    const res = await fetch(`${crashing.url}/v1/blocks`, { method: "POST", body: toHex(b!) });
    assert.equal(res.status, 202, await res.text());
  }
  await fetch(`${crashing.url}/v1/blocks`, { method: "POST", body: toHex(bigBlock) }).then((r) =>
    r.body?.cancel()
  ).catch(() => {});
  const status = await crashing.child.status;
  assert.equal(status.signal, "SIGKILL", "the process died by SIGKILL during the connection");

  // Restart: recovery finishes the interrupted connection.
  const restarted = await spawnNode(["--data-dir", dir, "--no-mine"]);
  const tip = await getJson<{ height: number }>(`${restarted.url}/v1/status`);
  assert.equal(tip.body.height, blocks.length + 1);
  await restarted.stop();
  assert.match(restarted.output(), /Finishing an interrupted connect/, "recovery ran on restart");

  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const recovered = await ChainNode.open({ params: networkParams("dev"), kv });
  const got = await recovered.utxoTotals();
  kv.close();

  // Replay from genesis on a fresh store gives the same UTXO set.
  const replay = await openDevNode();
  for (const b of [...blocks, bigBlock]) await replay.node.processBlock(b!);
  const want = await replay.node.utxoTotals();
  replay.close();
  assert.equal(got.count, want.count);
  assert.equal(got.total, want.total);
  assert.equal(got.digest, want.digest);
});
