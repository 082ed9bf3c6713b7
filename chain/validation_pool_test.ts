/**
 * @module Consensus tests of the validation pool (chain/pool_rules.ts): a payment sets the
 * validators' tenth aside in a pool (0x0B) beside the executor's held reward, exactly split; the
 * client distributes it before the epoch's end to validators whose records are eligible under the
 * chain-derived weights of their sprint (real sprint proofs on a real dev chain), in the mempool and
 * in blocks, the pool its only input and its fee (at most MAX_DISTRIBUTE_FEE_RATE a byte) from the
 * pool; every malformed distribution is refused with its code; the executor claims a pool left
 * undistributed from the epoch's end; a fraud proof forfeits it to the client before; only a payment
 * creates one. Real dev node, real keys, fraud decided on the fixture model.
 */

import assert from "node:assert/strict";
import { toHex } from "./bytes.ts";
import { formatCoins } from "./amount.ts";
import { addressFromHash, publicKeyOf } from "./keys.ts";
import { hash160 } from "./hash.ts";
import {
  claimHeldTx,
  distributeTx,
  fraudProofTx,
  fundJobOutput,
  type JobCoin,
  poolPaymentOutputs,
  signDistribution,
} from "./job_tx.ts";
import { parseOutputScript, validationPoolScript, validatorRewardScript } from "./script.ts";
import { MAX_DISTRIBUTE_FEE_RATE, maxDistributeFee, poolSplit } from "./pool_rules.ts";
import { recordIneligibility } from "./record_eligibility.ts";
import { type ValidationRecord, validationRecordScript } from "./validation_record.ts";
import { ticketDraw, validationTicket } from "./validator_draw.ts";
import {
  encodeTransaction,
  signPayToAddressInput,
  spendInput,
  type Transaction,
  txid,
  type TxOutput,
} from "./tx.ts";
import {
  coinbaseOf,
  makeBlock,
  mine,
  newKey,
  openDevNode,
  relayBlocks,
  type TestKey,
} from "../tests/chain_helpers.ts";
import { expectCode, keyHash, sent, SUBSIDY } from "../tests/job_spend_helpers.ts";
import {
  heldBench,
  PAY_FEE,
  paymentWithOutputs,
  payWithPoolInEpochStart,
  proveWeights,
  signedRecord,
  type StakedFixtureJob,
  stakedFixtureJob,
} from "../tests/held_job_helpers.ts";
import { waitFor } from "../tests/process_helpers.ts";
import { chainWeightsOracle } from "../verifier-wasm/weights_oracle.ts";
import { JobPool } from "../relay/jobpool.ts";

/** The fee rate of the distributions here, base units a byte (the client's: twice the relay floor). */
const DIST_RATE = 2n;

/** The serialized size of `tx`, bytes. */
const sizeOf = (tx: Transaction) => encodeTransaction(tx).length;

/** A fresh key whose ticket for `jobId` draws above `floor` (its record is not due at a small share). */
function keyDrawingAbove(jobId: Uint8Array, floor: number): TestKey {
  for (;;) {
    const k = newKey();
    if (ticketDraw(validationTicket(jobId, k.secret)) > floor) return k;
  }
}

/** Records in ascending order of key hex (as clients pay them). */
const byKey = (a: ValidationRecord, b: ValidationRecord) =>
  toHex(a.validatorKey) < toHex(b.validatorKey) ? -1 : 1;

/** The outputs of a distribution `tx` changed by `edit`, signed again by the client. */
function edited(
  tx: Transaction,
  pool: JobCoin,
  client: TestKey,
  edit: (outputs: TxOutput[]) => TxOutput[],
): Transaction {
  const copy: Transaction = { ...tx, inputs: tx.inputs.map((i) => ({ ...i })) };
  copy.outputs = edit(tx.outputs.map((o) => ({ ...o })));
  signDistribution(copy, pool, client.secret);
  return copy;
}

Deno.test("validation pool: a payment with a pool is split exactly; the client distributes it to eligible validators before the epoch's end (mempool and block), every bad distribution refused; the executor claims an undistributed pool from the end; a fraud proof forfeits one; only a payment creates one", async (t) => {
  const b = await heldBench(chainWeightsOracle);
  const poolDir = await Deno.makeTempDir({ prefix: "camelid-pool-" });
  const poolKv = await Deno.openKv(`${poolDir}/pool.kv`);
  try {
    const { node, client, compute } = b;
    const jobPool = new JobPool(poolKv, node);
    const miner = newKey();
    const clientCoins = [b.coins.client];
    const computeCoins = [b.coins.compute];
    for (const h of await mine(node, client, 3)) clientCoins.push(await coinbaseOf(node, h));
    for (const h of await mine(node, compute, 3)) computeCoins.push(await coinbaseOf(node, h));
    await mine(node, miner, node.params.coinbaseMaturity);
    // A: distributed to two validators (mempool); B: to one (a block); C: left to the executor;
    // D: a cheat, its pool forfeited by the fraud proof.
    const jobs: StakedFixtureJob[] = [];
    for (const [i, cheat] of [false, false, false, true].entries()) {
      const coins = { client: clientCoins[i], compute: computeCoins[i] };
      jobs.push(await stakedFixtureJob(b, cheat, coins));
    }
    const [A, B, C, D] = jobs;
    // v1 and v2 hold most of the weight (each is eligible whatever its draw); `low` little, with a
    // draw for job B far above its threshold; the newcomer none.
    const [v1, v2, newcomer] = [newKey(), newKey(), newKey()];
    const low = keyDrawingAbove(B.jobId, 0.9);
    const sprint = await proveWeights(node, miner, [[v1, 1600], [v2, 1600], [low, 300]]);
    const weights = await chainWeightsOracle(node)(sprint);
    const executor = addressFromHash(keyHash(compute));
    const why = (k: TestKey, job: StakedFixtureJob) =>
      recordIneligibility(signedRecord(k, job, sprint), { sprint, byAddress: weights }, executor);
    assert.deepEqual(
      [why(v1, A), why(v2, A), why(v1, B), why(low, B), why(newcomer, B), why(v1, C)],
      [null, null, null, "record/not-due", "record/no-weight", null],
    );

    const total = A.escrow.value - PAY_FEE;
    const split = poolSplit(total);
    await t.step(
      "a payment with a pool: the exact split only, output 1 the stake's pool",
      async () => {
        const good = poolPaymentOutputs(total, A.stake.scriptPubKey);
        assert.deepEqual(good.map((o) => o.value), [total - total / 10n, total / 10n]);
        assert.deepEqual(good.map((o) => o.value), [split.executor, split.pool]);
        const otherPool = (nodeHash: Uint8Array, commitment: Uint8Array) =>
          validationPoolScript(A.jobId, nodeHash, keyHash(client), commitment);
        const refused: [TxOutput[], string][] = [
          [
            [{ ...good[0], value: split.executor + 1n }, { ...good[1], value: split.pool - 1n }],
            "job/validator-split",
          ],
          [
            [{ ...good[0], value: split.executor - 1n }, { ...good[1], value: split.pool + 1n }],
            "job/validator-split",
          ],
          [[good[1], good[0]], "job/pay-not-held"],
          [
            [good[0], { ...good[1], scriptPubKey: otherPool(keyHash(v1), A.commitment) }],
            "job/pay-not-held",
          ],
          [
            [good[0], { ...good[1], scriptPubKey: otherPool(keyHash(compute), B.commitment) }],
            "job/pay-not-held",
          ],
          [[good[0], good[1], {
            value: 0n,
            scriptPubKey: validationRecordScript(signedRecord(v1, A, sprint)),
          }], "job/pay-not-held"],
        ];
        for (const [outputs, code] of refused) {
          await expectCode(node.processTx(paymentWithOutputs(b, A, outputs).bytes), code);
        }
        const block = makeBlock(
          node,
          miner,
          (blk) => blk.txs.push(paymentWithOutputs(b, A, refused[0][0]).tx),
        );
        await expectCode(node.processBlock(block), "job/validator-split");
      },
    );

    const { paid, until } = await payWithPoolInEpochStart(b, jobs);
    const [pA, pB, pC, pD] = paid;
    /**
     * The client's distribution of `job`'s pool `pool` to `keys`' records (ascending by key), its
     * fee `rate` a byte from the pool.
     */
    const distribution = (
      pool: JobCoin,
      job: StakedFixtureJob,
      keys: TestKey[],
      s = sprint,
      rate = DIST_RATE,
    ) => {
      const records = keys.map((k) => signedRecord(k, job, s)).sort(byKey);
      const size = sizeOf(distributeTx({ pool, records, secretKey: client.secret, fee: 0n }));
      return distributeTx({ pool, records, secretKey: client.secret, fee: rate * BigInt(size) });
    };

    await t.step(
      "the payment is mined: held reward and pool coins, indexed by job, shown by the job pool",
      async () => {
        assert.deepEqual([pA.held.value, pA.pool.value], [split.executor, split.pool]);
        assert.equal(pA.pool.vout, 1);
        const [coin] = await node.store.getCoins([pA.pool]);
        assert.deepEqual(parseOutputScript(coin!.scriptPubKey), {
          type: "validation-pool",
          jobId: A.jobId,
          nodeHash: keyHash(compute),
          clientHash: keyHash(client),
          commitment: A.commitment,
        });
        const indexed = await node.store.jobCoins(toHex(A.jobId));
        assert.ok(indexed.some((c) => c.txid === pA.id && c.vout === 1), "the pool is a job coin");
        const entry = await waitFor("the paid job", async () => {
          const e = await jobPool.get(toHex(A.jobId));
          return e?.pool ? e : undefined;
        });
        assert.deepEqual(entry.pool, { txid: pA.id, vout: 1, value: formatCoins(split.pool) });
        assert.deepEqual(entry.validators, []);
      },
    );

    await t.step("a distribution that breaks a rule is refused with its code", async () => {
      const one = (k: TestKey) => distribution(pB.pool, B, [k]);
      await expectCode(node.processTx(sent(one(newcomer)).bytes), "job/validator-ineligible");
      await expectCode(node.processTx(sent(one(low)).bytes), "job/validator-ineligible");
      await expectCode(node.processTx(sent(one(compute)).bytes), "job/self-validation");
      const stale = distribution(pB.pool, B, [v1], sprint + 1);
      await expectCode(node.processTx(sent(stale).bytes), "job/validator-ineligible");
      // Signed by a validator, not by the client.
      const thief = distributeTx({
        pool: pB.pool,
        records: [signedRecord(v1, B, sprint)],
        secretKey: v1.secret,
        fee: 2_000n,
      });
      await expectCode(node.processTx(sent(thief).bytes), "tx/wrong-key");
      // Two records: unequal rewards, change to the client or to another, a record without its
      // reward.
      const two = distribution(pB.pool, B, [v1, v2]);
      const redo = (edit: (o: TxOutput[]) => TxOutput[]) =>
        sent(edited(two, pB.pool, client, edit));
      await expectCode(
        node.processTx(
          redo((o) => {
            o[0].value += 1n;
            o[2].value -= 1n;
            return o;
          }).bytes,
        ),
        "job/validator-split",
      );
      for (const to of [client, v1]) {
        const change = redo((o) => {
          o[0].value -= 1_000n;
          o[2].value -= 1_000n;
          return [...o, { value: 2_000n, scriptPubKey: to.script }];
        });
        await expectCode(node.processTx(change.bytes), "job/distribute-shape");
      }
      await expectCode(node.processTx(redo((o) => o.slice(1)).bytes), "job/distribute-shape");
      const stamped = { ...two, inputs: two.inputs.map((i) => ({ ...i })), jobId: A.jobId };
      signDistribution(stamped, pB.pool, client.secret);
      await expectCode(node.processTx(sent(stamped).bytes), "job/wrong-job-id");
      // Fees: one unit over the cap (MAX_DISTRIBUTE_FEE_RATE a byte), or rewards beyond the pool.
      const one1 = one(v1);
      const cap = maxDistributeFee(sizeOf(one1));
      assert.equal(cap, MAX_DISTRIBUTE_FEE_RATE * BigInt(sizeOf(one1)));
      const overCap = edited(one1, pB.pool, client, ([r, rec]) => [
        { ...r, value: pB.pool.value - cap - 1n },
        rec,
      ]);
      await expectCode(node.processTx(sent(overCap).bytes), "job/validator-split");
      await expectCode(
        node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(overCap))),
        "job/validator-split",
      );
      const beyond = edited(one1, pB.pool, client, ([r, rec]) => [
        { ...r, value: pB.pool.value + 1n },
        rec,
      ]);
      await expectCode(node.processTx(sent(beyond).bytes), "job/validator-split");
      // A second input beside the pool: another's coin signed by its owner, or the client's own.
      const mature = node.tip().height + 1 - node.params.coinbaseMaturity;
      const [own] = (await node.getAddressCoins(addressFromHash(keyHash(miner))))
        .filter((c) => c.coin.height <= mature);
      const foreign: JobCoin = { txid: own.txid, vout: own.vout, ...own.coin };
      for (const [coin, owner] of [[foreign, miner], [B.change, client]] as const) {
        const mixed = distribution(pB.pool, B, [v1]);
        mixed.inputs.push(spendInput(coin));
        signDistribution(mixed, pB.pool, client.secret);
        signPayToAddressInput(mixed, 1, coin, owner.secret);
        await expectCode(node.processTx(sent(mixed).bytes), "job/distribute-inputs");
      }
      await expectCode(
        node.processBlock(
          makeBlock(
            node,
            miner,
            (blk) =>
              blk.txs.push(edited(two, pB.pool, client, (o) => {
                o[0].value += 1n;
                o[2].value -= 1n;
                return o;
              })),
          ),
        ),
        "job/validator-split",
      );
      // A node without the weights oracle takes no distribution.
      const bare = await openDevNode();
      try {
        const hashes = [];
        for (let h = 1; h <= node.tip().height; h++) hashes.push(node.hashAtHeight(h)!);
        await relayBlocks(node, bare.node, hashes);
        await expectCode(bare.node.processTx(sent(one(v1)).bytes), "job/no-weights");
      } finally {
        bare.close();
        await Deno.remove(bare.dir, { recursive: true });
      }
    });

    const distA = distribution(pA.pool, A, [v1, v2]);
    const recordsA = [1, 3].map((vout) => {
      const s = parseOutputScript(distA.outputs[vout].scriptPubKey);
      assert.equal(s.type, "validation-record");
      return (s as Extract<typeof s, { type: "validation-record" }>).record;
    });
    // B's at the cap: MAX_DISTRIBUTE_FEE_RATE a byte.
    const distB = distribution(pB.pool, B, [v1], sprint, MAX_DISTRIBUTE_FEE_RATE);
    await t.step(
      "distributions to two validators (mempool) and to one (a block, its fee at the cap) are mined, the pool their only input and their fee",
      async () => {
        assert.deepEqual([distA.inputs.length, distA.outputs.length], [1, 4]);
        assert.deepEqual([distB.inputs.length, distB.outputs.length], [1, 2]);
        await node.processTx(sent(distA).bytes);
        const feeA = split.pool - 2n * distA.outputs[0].value;
        assert.equal(node.mempool.get(sent(distA).id)?.fee, feeA, "the pool pays the fee");
        const asked = DIST_RATE * BigInt(sizeOf(distA));
        assert.equal(feeA, asked + (split.pool - asked) % 2n, "the fee asked and the remainder");
        const r = await node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(distB)));
        assert.equal(r.status, "connected");
        const idA = sent(distA).id;
        assert.equal((await node.getTransaction(idA))?.blockHash, r.hash, "A's is in the block");
        const each = (split.pool - DIST_RATE * BigInt(sizeOf(distA))) / 2n;
        const outA = await node.store.getCoins([0, 1, 2, 3].map((vout) => ({ txid: idA, vout })));
        assert.deepEqual(outA.map((c) => c?.value), [each, undefined, each, undefined]);
        recordsA.forEach((rec, j) =>
          assert.deepEqual(
            outA[2 * j]!.scriptPubKey,
            validatorRewardScript(
              A.jobId,
              keyHash(keyOf([v1, v2], rec)),
              keyHash(client),
              A.commitment,
            ),
          )
        );
        assert.equal((await node.store.getCoins([pA.pool]))[0], undefined, "the pool is spent");
        const [rewardB] = await node.store.getCoins([{ txid: sent(distB).id, vout: 0 }]);
        assert.equal(rewardB?.value, split.pool - maxDistributeFee(sizeOf(distB)));
        const entry = await waitFor("the distribution in the job pool", async () => {
          const e = await jobPool.get(toHex(A.jobId));
          return e?.validators?.length ? e : undefined;
        });
        assert.deepEqual(
          entry.validators,
          recordsA.map((rec, j) => ({
            address: addressFromHash(keyHash(keyOf([v1, v2], rec))),
            value: formatCoins(each),
            verdict: "honest",
            positions: 1,
            exceeded: 0,
            txid: idA,
            vout: 2 * j,
          })),
        );
        assert.deepEqual(entry.pool, { txid: pA.id, vout: 1, value: formatCoins(split.pool) });
      },
    );

    await t.step(
      "a fraud proof before the epoch's end forfeits the pool with the stake and the held reward",
      async () => {
        const before = b.fraudChecks.count;
        const slash = fraudProofTx(
          D.job,
          D.output,
          [D.last],
          D.stake,
          pD.held,
          { payTo: client.script, fee: 30_000n },
          [],
          pD.pool,
        );
        await node.processTx(sent(slash).bytes);
        assert.equal(b.fraudChecks.count - before, 1, "one model run for the three inputs");
        await mine(node, miner, 1);
        assert.equal((await node.getTransaction(sent(slash).id))?.height, node.tip().height);
        assert.equal((await node.store.getCoins([pD.pool]))[0], undefined);
        const [refund] = await node.store.getCoins([{ txid: sent(slash).id, vout: 0 }]);
        assert.equal(refund?.value, D.stake.value + pD.held.value + pD.pool.value - 30_000n);
      },
    );

    await t.step(
      "from the epoch's end: no distribution; the executor claims the pool left, validators their rewards",
      async () => {
        const claimPool = (k: TestKey) =>
          sent(claimHeldTx(pC.pool, { payTo: k.script, fee: 10_000n }, C.jobId, k.secret));
        const rewardA: JobCoin = { txid: sent(distA).id, vout: 0, ...distA.outputs[0] };
        const first = keyOf([v1, v2], recordsA[0]);
        const claimReward = sent(
          claimHeldTx(rewardA, { payTo: first.script, fee: 10_000n }, A.jobId, first.secret),
        );
        await expectCode(node.processTx(claimPool(compute).bytes), "job/reward-held");
        await expectCode(node.processTx(claimReward.bytes), "job/reward-held");
        // A distribution sent for the epoch's last block and left out of it is evicted at the end
        // (a template carrying it would be refused).
        await mine(node, miner, until - 2 - node.tip().height);
        const late = distribution(pC.pool, C, [v1]);
        const lateId = sent(late).id;
        await node.processTx(sent(late).bytes);
        const { fee } = node.mempool.get(lateId)!;
        const without = makeBlock(node, miner, (blk) => {
          blk.txs = blk.txs.filter((tx) => txid(tx) !== lateId);
          blk.txs[0].outputs[0].value -= fee;
        });
        assert.equal((await node.processBlock(without)).status, "connected");
        assert.equal(node.tip().height, until - 1); // the next block is the epoch's end
        assert.equal(node.mempool.has(lateId), false, "evicted");
        await expectCode(node.processTx(sent(late).bytes), "job/pool-closed");
        await expectCode(
          node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(late))),
          "job/pool-closed",
        );
        await expectCode(node.processTx(claimPool(v1).bytes), "tx/wrong-key");
        const claimed = claimPool(compute);
        await node.processTx(claimed.bytes);
        await node.processTx(claimReward.bytes);
        await mine(node, miner, 1);
        assert.equal((await node.getTransaction(claimed.id))?.height, until);
        assert.equal((await node.getTransaction(claimReward.id))?.height, until);
        const [toExecutor] = await node.store.getCoins([{ txid: claimed.id, vout: 0 }]);
        assert.equal(toExecutor?.value, pC.pool.value - 10_000n);
      },
    );

    await t.step("no transaction but a payment creates a pool; no coinbase either", async () => {
      const [h] = await mine(node, miner, 1);
      await mine(node, miner, node.params.coinbaseMaturity);
      const coin = {
        txid: await coinbaseOf(node, h),
        vout: 0,
        value: SUBSIDY,
        scriptPubKey: miner.script,
      };
      const poolScript = validationPoolScript(
        A.jobId,
        keyHash(compute),
        keyHash(client),
        A.commitment,
      );
      const { bytes } = fundJobOutput({ value: 1_000n, scriptPubKey: poolScript }, A.jobId, {
        utxos: [coin],
        secretKey: miner.secret,
        fee: 10_000n,
      });
      await expectCode(node.processTx(bytes), "job/held-not-from-pay");
      const minted = makeBlock(node, miner, (blk) => {
        const out = blk.txs[0].outputs[0];
        blk.txs[0].outputs = [
          { ...out, value: out.value - 1_000n },
          { value: 1_000n, scriptPubKey: poolScript },
        ];
      });
      await expectCode(node.processBlock(minted), "job/held-not-from-pay");
    });
  } finally {
    poolKv.close();
    await Deno.remove(poolDir, { recursive: true });
    await b.close();
  }
});

/** The key of `keys` that signed `record`. */
function keyOf(keys: TestKey[], record: ValidationRecord): TestKey {
  return keys.find((k) => toHex(publicKeyOf(k.secret)) === toHex(record.validatorKey))!;
}

Deno.test("distributeTx: the pool its only input; rewards floor((pool - fee) / k) and the records in order, the rest fee; a fee below 0, above the pool or above MAX_DISTRIBUTE_FEE_RATE a byte is job/validator-split", () => {
  const [client, v1, v2, v3] = [newKey(), newKey(), newKey(), newKey()];
  const job = { jobId: new Uint8Array(32).fill(1), commitment: new Uint8Array(32).fill(2) };
  const script = validationPoolScript(job.jobId, keyHash(v3), keyHash(client), job.commitment);
  const pool: JobCoin = { txid: "aa".repeat(32), vout: 1, value: 1_000_003n, scriptPubKey: script };
  const records = [v1, v2].map((k) => signedRecord(k, job, 4)).sort(byKey);
  // A fee of 2,000: each (1,000,003 - 2,000) / 2 = 499,001, the unit left over is fee too.
  const tx = distributeTx({ pool, records, secretKey: client.secret, fee: 2_000n });
  assert.equal(tx.inputs.length, 1);
  assert.deepEqual(
    { txid: toHex(tx.inputs[0].prevout.txid), vout: tx.inputs[0].prevout.vout },
    { txid: pool.txid, vout: pool.vout },
  );
  assert.deepEqual(tx.jobId, job.jobId);
  assert.deepEqual(tx.outputs.map((o) => o.value), [499_001n, 0n, 499_001n, 0n]);
  assert.deepEqual(
    [0, 2].map((n) => parseOutputScript(tx.outputs[n].scriptPubKey)),
    records.map((r) => ({
      type: "validator-reward",
      jobId: job.jobId,
      nodeHash: hash160(r.validatorKey),
      clientHash: keyHash(client),
      commitment: job.commitment,
    })),
  );
  assert.deepEqual(tx.outputs[1].scriptPubKey, validationRecordScript(records[0]));
  assert.deepEqual(tx.outputs[3].scriptPubKey, validationRecordScript(records[1]));
  // The cap: MAX_DISTRIBUTE_FEE_RATE times the size (which the values do not change).
  const cap = MAX_DISTRIBUTE_FEE_RATE * BigInt(sizeOf(tx));
  const atCap = distributeTx({ pool, records, secretKey: client.secret, fee: cap });
  assert.equal(sizeOf(atCap), sizeOf(tx));
  assert.equal(atCap.outputs[0].value, (pool.value - cap) / 2n);
  const small: JobCoin = { ...pool, value: 999n };
  for (const [p, fee] of [[pool, cap + 1n], [pool, -1n], [small, 1_000n]] as const) {
    assert.throws(
      () => distributeTx({ pool: p, records, secretKey: client.secret, fee }),
      { code: "job/validator-split" },
    );
  }
  // A pool smaller than the cap may go to fee whole (the validators get 0, their records stand).
  assert.deepEqual(
    distributeTx({ pool: small, records, secretKey: client.secret, fee: 999n }).outputs.map((o) =>
      o.value
    ),
    [0n, 0n, 0n, 0n],
  );
  assert.throws(
    () => distributeTx({ pool, records: [], secretKey: client.secret, fee: 0n }),
    RangeError,
  );
});
