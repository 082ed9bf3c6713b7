import assert from "node:assert/strict";
import { COIN } from "./params.ts";
import { assertRejectsWithCode, newKey, openFundedDevNode, spend } from "../tests/chain_helpers.ts";

const SUBSIDY = 50n * COIN;

Deno.test("mempool rejects double spends, bad signatures, overspends and low fees with named reasons", async () => {
  const { node, close, owner: alice, coin: funded } = await openFundedDevNode();
  try {
    const mallory = newKey();
    const coin = [funded];
    const a = spend(alice, coin, [{ value: 49n * COIN, script: alice.script }]);
    const b = spend(alice, coin, [{ value: 48n * COIN, script: mallory.script }]);
    await node.processTx(a.bytes);
    await assertRejectsWithCode(node.processTx(b.bytes), "mempool/conflict");
    const stolen = spend(mallory, coin, [{ value: 49n * COIN, script: mallory.script }]);
    await assertRejectsWithCode(node.processTx(stolen.bytes), "mempool/conflict");
    node.mempool.remove(a.id);
    await assertRejectsWithCode(node.processTx(stolen.bytes), "tx/wrong-key");
    const tampered = spend(alice, coin, [{ value: 49n * COIN, script: alice.script }]);
    tampered.tx.outputs[0].value = 49n * COIN + 1n;
    const { encodeTransaction } = await import("./tx.ts");
    await assertRejectsWithCode(node.processTx(encodeTransaction(tampered.tx)), "tx/bad-signature");
    await assertRejectsWithCode(
      node.processTx(spend(alice, coin, [{ value: 51n * COIN, script: alice.script }]).bytes),
      "tx/in-below-out",
    );
    await assertRejectsWithCode(
      node.processTx(spend(alice, coin, [{ value: SUBSIDY, script: alice.script }]).bytes),
      "tx/fee-too-low",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, [{ ...funded, vout: 7 }], [{ value: COIN, script: alice.script }]).bytes,
      ),
      "tx/missing-inputs",
    );
    const unknownParent = spend(alice, [{ txid: "ab".repeat(32), vout: 0, value: SUBSIDY }], [{
      value: COIN,
      script: alice.script,
    }]);
    await assertRejectsWithCode(node.processTx(unknownParent.bytes), "tx/missing-inputs");
    assert.deepEqual(await node.processTx(unknownParent.bytes, "http:192.0.2.1"), {
      txid: unknownParent.id,
      status: "orphan",
      missingParents: ["ab".repeat(32)],
    });
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, [...coin, ...coin], [{ value: COIN, script: alice.script }]).bytes,
      ),
      "tx/duplicate-inputs",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, coin, [{ value: 21_000_001n * COIN, script: alice.script }]).bytes,
      ),
      "tx/output-too-large",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, coin, [{ value: 20_000_000n * COIN, script: alice.script }, {
          value: 20_000_000n * COIN,
          script: alice.script,
        }]).bytes,
      ),
      "tx/value-overflow",
    );
    await assertRejectsWithCode(
      node.processTx(
        spend(alice, coin, [{ value: COIN, script: new Uint8Array([9, 1, 2]) }]).bytes,
      ),
      "tx/bad-output-script",
    );
    assert.equal(node.mempool.size, 0, "nothing entered the mempool");
  } finally {
    close();
  }
});
