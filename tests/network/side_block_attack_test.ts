/**
 * Issue 11 item 6 against a node process: side blocks of ~1 MB forking at height 1, full of spends
 * of coins that do not exist, pushed over HTTP and over a link. HTTP submission is rationed by bytes
 * per address (429), blocks a peer pushes without being asked are rationed per peer (the peer is
 * charged and disconnected), and what gets through stays within the side-block budget on disk.
 */

import assert from "node:assert/strict";
import { blockHash, decodeBlock } from "../../chain/block.ts";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { MAX_BLOCK_SIZE, networkParams } from "../../chain/params.ts";
import { BLOCK_BYTES_PER_SECOND } from "../../relay/routes/chain.ts";
import { DEFAULT_SIDE_BLOCK_BYTES } from "../../chain/side_blocks.ts";
import { NodeIdentity } from "../../relay/identity.ts";
import { newKey } from "../chain_helpers.ts";
import { blockOn, junkTx } from "../junk_blocks.ts";
import { getJson, spawnNode, waitFor } from "../process_helpers.ts";
import { DEV_MAGIC, networkTest, peers, rawPeer } from "./helpers.ts";

/** `n` side blocks of ~970 kB on the block `parentHex` (height 1). */
function sideBlocks(parentHex: string, n: number): Uint8Array[] {
  const header = decodeBlock(fromHex(parentHex)).header;
  const parent = {
    hash: fromHex(blockHash(header), 32),
    height: 1,
    bits: header.bits,
    minTime: header.time + 1,
  };
  const to = newKey();
  return Array.from(
    { length: n },
    (_, i) => blockOn(networkParams("dev"), parent, to, Array.from({ length: 10 }, junkTx), i),
  );
}

async function kvBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const f of Deno.readDir(dir)) {
    if (f.name.startsWith("chain.kv")) n += (await Deno.stat(`${dir}/${f.name}`)).size;
  }
  return n;
}

networkTest(
  "30 MB of side blocks over HTTP and over a link: rationed, charged, and bounded on disk",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "camelid-side-" });
    const node = await spawnNode(["--data-dir", dir]);
    try {
      await waitFor(
        "height 2",
        async () => (await getJson<{ height: number }>(`${node.url}/v1/status`)).body.height >= 2,
      );
      const one = await getJson<{ hex: string }>(`${node.url}/v1/blocks/1?format=hex`);
      const before = await kvBytes(dir);

      // HTTP: 30 blocks from one address, as fast as it can.
      const http: Record<string, number> = {};
      const blocks = sideBlocks(one.body.hex, 30);
      let t = performance.now();
      for (const b of blocks) {
        const res = await fetch(`${node.url}/v1/blocks`, { method: "POST", body: toHex(b) });
        const body = await res.json();
        const key = `${res.status} ${body.status ?? body.error?.code}`;
        http[key] = (http[key] ?? 0) + 1;
      }
      const postMs = performance.now() - t;
      console.log(`HTTP: 30 side blocks in ${postMs.toFixed(0)} ms: ${JSON.stringify(http)}`);
      // The address's bucket: a burst of 8 blocks' bytes, refilled at 1 MB/s while they were
      // posted (a slow machine posts slowly and earns more); past it every block is refused.
      const allowance = 8 * MAX_BLOCK_SIZE + BLOCK_BYTES_PER_SECOND * postMs / 1000;
      const fit = Math.floor(allowance / Math.min(...blocks.map((b) => b.length)));
      assert.ok(
        (http["429 rate/limited"] ?? 0) >= 30 - fit && fit < 30,
        `past ${fit} blocks (8 MB and 1 MB/s over ${
          postMs.toFixed(0)
        } ms) the address is rate limited`,
      );

      // A link: 30 blocks pushed without a getdata.
      const attacker = NodeIdentity.generate();
      const link = await rawPeer(node.url, attacker);
      t = performance.now();
      let sent = 0;
      for (const b of sideBlocks(one.body.hex, 30)) {
        if (link.ws.readyState !== WebSocket.OPEN) break;
        link.send(
          attacker.sign({ magic: DEV_MAGIC, type: "block", to: link.serverKey, payload: b }),
        );
        sent++;
      }
      const closed = await link.closed;
      console.log(
        `link: closed ${closed.code} after ${sent} blocks sent in ${
          (performance.now() - t).toFixed(0)
        } ms`,
      );
      assert.equal(closed.code, 1008, "the pushing peer is disconnected");
      assert.match(node.output(), /sync\/unrequested-blocks/, "charged for blocks not asked for");
      const table = await peers(node.url);
      assert.ok(
        table.discouraged.some((d) => d.kind === "key" && d.value === attacker.keyHex),
        "and discouraged",
      );

      const after = await kvBytes(dir);
      console.log(`KV files: ${before} -> ${after} bytes`);
      assert.ok(
        after - before < DEFAULT_SIDE_BLOCK_BYTES + 8_000_000,
        "disk growth within the side-block budget",
      );
      const st = await getJson<{ height: number }>(`${node.url}/v1/status`);
      assert.ok(st.body.height >= 2, "the node still serves and mines");
    } finally {
      await node.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
