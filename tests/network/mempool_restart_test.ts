/**
 * A node restarted with a large saved mempool answers at once (`/v1/status` says it is restoring)
 * and restores in the background; stopped in the middle of the restore, it loses nothing.
 */

import assert from "node:assert/strict";
import { ChainNode } from "../../chain/node.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { blockSubsidy } from "../../chain/validation.ts";
import { coinbaseOf, mine, newKey, spend } from "../chain_helpers.ts";
import { getJson, spawnNode, waitFor } from "../process_helpers.ts";
import { networkTest } from "./helpers.ts";

const PAYMENTS = 2000;

/** A dev chain in `dir` whose saved mempool holds {@link PAYMENTS} valid payments. */
async function dataDirWithSavedMempool(dir: string): Promise<void> {
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  try {
    const chain = await ChainNode.open({ params: networkParams("dev"), kv });
    const alice = newKey();
    const firsts = await mine(chain, alice, 2);
    await mine(chain, alice, chain.params.coinbaseMaturity);
    const payments: Uint8Array[] = [];
    for (const hash of firsts) {
      const coin = {
        txid: await coinbaseOf(chain, hash),
        vout: 0,
        value: blockSubsidy(1, chain.params),
      };
      const outs = Array.from(
        { length: PAYMENTS / 2 },
        () => ({ value: COIN / 100n, script: alice.script }),
      );
      const fan = spend(alice, [coin], outs);
      await chain.processTx(fan.bytes);
      for (let vout = 0; vout < outs.length; vout++) {
        const p = spend(alice, [{ txid: fan.id, vout, value: COIN / 100n }], [{
          value: COIN / 100n - 10_000n,
          script: alice.script,
        }]);
        payments.push(p.bytes);
      }
    }
    await mine(chain, alice, 1);
    await chain.store.saveMempool(payments);
  } finally {
    kv.close();
  }
}

interface StatusBody {
  mempool: { size: number; restoring: boolean };
}

networkTest(
  "a restarted node with a full saved mempool serves at once and restores in the background",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "camelid-restore-" });
    try {
      await dataDirWithSavedMempool(dir);
      const started = performance.now();
      const node = await spawnNode(["--data-dir", dir, "--no-mine"]);
      try {
        const first = await getJson<StatusBody>(`${node.url}/v1/status`);
        const answered = performance.now() - started;
        assert.equal(first.status, 200);
        assert.equal(
          first.body.mempool.restoring,
          true,
          "status says the mempool is being restored",
        );
        assert.ok(first.body.mempool.size < PAYMENTS);
        const done = await waitFor("restore finished", async () => {
          const s = await getJson<StatusBody>(`${node.url}/v1/status`);
          return !s.body.mempool.restoring && s.body;
        }, 120_000);
        const restored = performance.now() - started;
        console.log(
          `${PAYMENTS} saved transactions: first answer ${answered.toFixed(0)} ms after spawn, ` +
            `restore done ${restored.toFixed(0)} ms after spawn`,
        );
        assert.equal(done.mempool.size, PAYMENTS, "every saved transaction is back");
      } finally {
        await node.stop();
      }

      // Stopped in the middle of a restore, it saves what it had not re-admitted yet.
      const again = await spawnNode(["--data-dir", dir, "--no-mine"]);
      const cut = await getJson<StatusBody>(`${again.url}/v1/status`);
      assert.equal(cut.body.mempool.restoring, true);
      assert.equal((await again.stop()).code, 0);
      const third = await spawnNode(["--data-dir", dir, "--no-mine"]);
      try {
        const done = await waitFor("second restore finished", async () => {
          const s = await getJson<StatusBody>(`${third.url}/v1/status`);
          return !s.body.mempool.restoring && s.body;
        }, 120_000);
        assert.equal(done.mempool.size, PAYMENTS, "a stop during the restore lost nothing");
      } finally {
        await third.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
