import assert from "node:assert/strict";
import { COIN, networkParams } from "./params.ts";
import { ChainNode } from "./node.ts";
import { blockSubsidy } from "./validation.ts";
import { createApp } from "../relay/app.ts";
import { assertRejectsWithCode, coinbaseOf, mine, newKey, spend } from "../tests/chain_helpers.ts";

Deno.test("a full mempool refuses equal fee rates (mempool/full, then mempool/min-fee) and says which it evicted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-full-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  try {
    const alice = newKey();
    const fill = await ChainNode.open({ params: networkParams("dev"), kv, mempoolBytes: 1 });
    const [first] = await mine(fill, alice, 1 + fill.params.coinbaseMaturity);
    const coin = {
      txid: await coinbaseOf(fill, first),
      vout: 0,
      value: blockSubsidy(1, fill.params),
    };
    const fan = spend(
      alice,
      [coin],
      Array.from({ length: 20 }, () => ({ value: COIN, script: alice.script })),
    );
    const payment = (vout: number, fee: bigint) =>
      spend(alice, [{ txid: fan.id, vout, value: COIN }], [{
        value: COIN - fee,
        script: alice.script,
      }]);
    const size = payment(0, 10_000n).bytes.length;
    const chain = await ChainNode.open({
      params: networkParams("dev"),
      kv,
      mempoolBytes: 10 * size,
    });
    await chain.processTx(fan.bytes);
    await mine(chain, alice, 1);
    const app = createApp({ chain });
    const accepted = [];
    for (let i = 0; i < 10; i++) {
      const p = payment(i, 10_000n);
      assert.equal((await chain.processTx(p.bytes)).status, "mempool");
      accepted.push(p.id);
    }
    await assertRejectsWithCode(chain.processTx(payment(10, 10_000n).bytes), "mempool/full");
    assert.ok(
      accepted.every((id) => chain.mempool.has(id)),
      "no accepted transaction was evicted for an equal fee rate",
    );
    assert.equal(chain.mempoolStatus().minFeeRate, 0);

    const better = payment(11, 20_000n);
    assert.equal((await chain.processTx(better.bytes)).status, "mempool");
    const gone = accepted.filter((id) => !chain.mempool.has(id));
    assert.deepEqual(
      gone,
      [accepted[9]],
      "one transaction left: the newest of the lowest fee rate",
    );
    const res = await app.request(`/v1/txs/${gone[0]}`);
    const body = await res.json();
    assert.equal(res.status, 404);
    assert.equal(body.error.code, "tx/evicted", "the wallet is told its transaction was evicted");
    const floor = chain.mempoolStatus().minFeeRate;
    assert.equal(floor, 10_000 / size + 1, "floor: the evicted fee rate plus the incremental rate");
    await assertRejectsWithCode(chain.processTx(payment(12, 10_000n).bytes), "mempool/min-fee");
    const status = await (await app.request("/v1/status")).json();
    assert.equal(status.mempool.minFeeRate, floor);
    assert.equal(status.mempool.size, 10);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
