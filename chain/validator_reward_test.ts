/**
 * @module Consensus tests of validator rewards (docs/protocol.md, "Validator rewards and on-chain
 * evidence"): only a pool's DISTRIBUTE creates a validator's reward (0x08) and its signed
 * validation record (0x09); a PAY naming validators by such pairs is refused (`job/pay-not-held`),
 * in the mempool and in blocks, as is any other transaction or a coinbase making one; every
 * malformed pair of a distribution is refused with its code; a record never enters the UTXO set; a
 * validator's reward is held like the executor's, claimed by its key from the epoch's end and
 * forfeited to the client by the same fraud proof. Real dev node with chain-derived weights (real
 * sprint proofs), real keys, fraud decided on the fixture model.
 */

import assert from "node:assert/strict";
import { toHex } from "./bytes.ts";
import { hash160 } from "./hash.ts";
import { addressFromHash, publicKeyOf } from "./keys.ts";
import { COIN } from "./params.ts";
import {
  claimHeldTx,
  distributeTx,
  fraudProofTx,
  fundJobOutput,
  heldPayout,
  type JobCoin,
  signDistribution,
} from "./job_tx.ts";
import { parseOutputScript, validatorRewardScript } from "./script.ts";
import { recordIneligibility } from "./record_eligibility.ts";
import {
  signRecord,
  type ValidationRecord,
  validationRecordScript,
  validatorSplit,
  verdictDetail,
} from "./validation_record.ts";
import { validationTicket } from "./validator_draw.ts";
import { encodeTransaction, type Transaction, type TxOutput } from "./tx.ts";
import {
  coinbaseOf,
  makeBlock,
  mine,
  newKey,
  spend,
  type TestKey,
} from "../tests/chain_helpers.ts";
import { expectCode, keyHash, sent } from "../tests/job_spend_helpers.ts";
import {
  assertNotWalletCoin,
  heldBench,
  PAY_FEE,
  paymentWithOutputs,
  payWithPoolInEpochStart,
  proveWeights,
  signedRecord,
  type StakedFixtureJob,
  stakedFixtureJob,
} from "../tests/held_job_helpers.ts";
import { chainWeightsOracle } from "../verifier-wasm/weights_oracle.ts";

/** `key`'s honest record of `job` under `sprint`, its ticket drawn for another job `ticketJobId`. */
function recordWithTicketOf(
  key: TestKey,
  job: StakedFixtureJob,
  sprint: number,
  ticketJobId: Uint8Array,
): ValidationRecord {
  const ticket = validationTicket(ticketJobId, key.secret);
  return signRecord(job.jobId, job.commitment, {
    validatorKey: publicKeyOf(key.secret),
    sprint,
    gamma: ticket.gamma,
    proof: ticket.proof,
    verdict: "honest",
    positions: 1,
    exceeded: 0,
    detail: verdictDetail("test", [{ position: 0, outcome: "match", margin: -1 }]),
  }, key.secret);
}

/** Records in ascending order of key hex (as clients pay them). */
const byKey = (a: ValidationRecord, b: ValidationRecord) =>
  toHex(a.validatorKey) < toHex(b.validatorKey) ? -1 : 1;

/** The test key of `keys` whose public key made `record`. */
function keyOf(keys: TestKey[], record: ValidationRecord): TestKey {
  return keys.find((k) => toHex(publicKeyOf(k.secret)) === toHex(record.validatorKey))!;
}

Deno.test("validator rewards come only from a pool's distribution: a PAY with validator pairs is refused; bad pairs are refused with their codes; each validator claims its share from the epoch end; a record never enters the UTXO set; a fraud proof takes their rewards; no wallet spend or coinbase makes one", async (t) => {
  const b = await heldBench(chainWeightsOracle);
  try {
    const { node, client, compute } = b;
    const miner = newKey();
    const clientCoins = [b.coins.client, await coinbaseOf(node, (await mine(node, client, 1))[0])];
    const computeCoins = [
      b.coins.compute,
      await coinbaseOf(node, (await mine(node, compute, 1))[0]),
    ];
    await mine(node, miner, node.params.coinbaseMaturity);
    // A: honest, distributed to two validators; D: a cheat, distributed to one, then proven.
    const A = await stakedFixtureJob(b, false, {
      client: clientCoins[0],
      compute: computeCoins[0],
    });
    const D = await stakedFixtureJob(b, true, { client: clientCoins[1], compute: computeCoins[1] });
    const [v1, v2] = [newKey(), newKey()];
    const sprint = await proveWeights(node, miner, [[v1, 1600], [v2, 1600]]);
    const weights = await chainWeightsOracle(node)(sprint);
    const executor = addressFromHash(keyHash(compute));
    for (const k of [v1, v2]) {
      for (const job of [A, D]) {
        const why = recordIneligibility(
          signedRecord(k, job, sprint),
          { sprint, byAddress: weights },
          executor,
        );
        assert.equal(why, null, "v1 and v2 hold all the weight: eligible whatever their draw");
      }
    }
    const recordsA = [v1, v2].map((k) => signedRecord(k, A, sprint)).sort(byKey);
    /** The (validator reward, record) pairs of `records` on `job`, each reward worth `value`. */
    const pairs = (job: StakedFixtureJob, records: ValidationRecord[], value: bigint) =>
      records.flatMap((r): TxOutput[] => [
        {
          value,
          scriptPubKey: validatorRewardScript(
            job.jobId,
            hash160(r.validatorKey),
            keyHash(client),
            job.commitment,
          ),
        },
        { value: 0n, scriptPubKey: validationRecordScript(r) },
      ]);

    await t.step(
      "a PAY naming validators by (reward, record) pairs after the held reward is refused: job/pay-not-held (mempool and block)",
      async () => {
        const { each, executor: toExecutor } = validatorSplit(A.escrow.value - PAY_FEE, 2);
        const held = { value: toExecutor, scriptPubKey: heldPayout(A.stake, PAY_FEE).payTo };
        const withPairs = paymentWithOutputs(b, A, [held, ...pairs(A, recordsA, each)]);
        await expectCode(node.processTx(withPairs.bytes), "job/pay-not-held");
        await expectCode(
          node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(withPairs.tx))),
          "job/pay-not-held",
        );
        // The client's own weightless keys named as validators: refused alike.
        const [w1, w2] = [newKey(), newKey()];
        const own = [w1, w2].map((k) => signedRecord(k, A, sprint)).sort(byKey);
        const selfPaid = paymentWithOutputs(b, A, [held, ...pairs(A, own, each)]);
        await expectCode(node.processTx(selfPaid.bytes), "job/pay-not-held");
      },
    );

    const { paid, until } = await payWithPoolInEpochStart(b, [A, D]);
    const [pA, pD] = paid;
    /** The client's distribution of `pool` to `records` (in order), its fee 2 units a byte. */
    const distribution = (pool: JobCoin, records: ValidationRecord[]) => {
      const size = encodeTransaction(
        distributeTx({ pool, records, secretKey: client.secret, fee: 0n }),
      ).length;
      return distributeTx({ pool, records, secretKey: client.secret, fee: 2n * BigInt(size) });
    };
    /** `tx` with its outputs changed by `edit`, signed again by the client. */
    const resigned = (tx: Transaction, pool: JobCoin, edit: (o: TxOutput[]) => void) => {
      const copy: Transaction = { ...tx, inputs: tx.inputs.map((i) => ({ ...i })) };
      copy.outputs = tx.outputs.map((o) => ({ ...o }));
      edit(copy.outputs);
      signDistribution(copy, pool, client.secret);
      return copy;
    };

    await t.step(
      "a distribution's malformed pairs are refused with their codes (mempool and block)",
      async () => {
        const [r1, r2] = recordsA;
        const [k1, k2] = [keyOf([v1, v2], r1), keyOf([v1, v2], r2)];
        const otherJob = new Uint8Array(32).fill(7);
        const otherCommitment = new Uint8Array(32).fill(8);
        const one = distribution(pA.pool, [r1]);
        const cases: [string, string, Transaction][] = [
          [
            "another job's ticket",
            "job/bad-ticket",
            distribution(pA.pool, [recordWithTicketOf(k1, A, sprint, otherJob)]),
          ],
          [
            "a record signed for another output",
            "job/bad-attestation",
            distribution(pA.pool, [
              signedRecord(k1, { jobId: A.jobId, commitment: otherCommitment }, sprint),
            ]),
          ],
          [
            "a record whose counts were changed after signing",
            "job/bad-attestation",
            distribution(pA.pool, [{ ...r1, exceeded: 1 }]),
          ],
          [
            "a reward to another key than the record's",
            "job/validator-reward",
            resigned(one, pA.pool, (o) => {
              o[0].scriptPubKey = validatorRewardScript(
                A.jobId,
                keyHash(k2),
                keyHash(client),
                A.commitment,
              );
            }),
          ],
          [
            "a reward on another commitment",
            "job/validator-reward",
            resigned(one, pA.pool, (o) => {
              o[0].scriptPubKey = validatorRewardScript(
                A.jobId,
                keyHash(k1),
                keyHash(client),
                otherCommitment,
              );
            }),
          ],
          ["a validator twice", "job/duplicate-validator", distribution(pA.pool, [r1, r2, r1])],
        ];
        const refused = new Map<string, Transaction>();
        for (const [what, code, tx] of cases) {
          await expectCode(node.processTx(sent(tx).bytes), code).catch((e) => {
            throw new Error(`${what}: ${e.message}`);
          });
          refused.set(code, tx);
        }
        for (const code of ["job/bad-ticket", "job/duplicate-validator", "job/validator-reward"]) {
          const blk = makeBlock(node, miner, (blk) => blk.txs.push(refused.get(code)!));
          await expectCode(node.processBlock(blk), code);
        }
      },
    );

    const distA = distribution(pA.pool, recordsA);
    const idA = sent(distA).id;
    const each = distA.outputs[0].value;
    await t.step(
      "a distribution to two validators: its records are no coins in the mempool (tx/unspendable) nor once mined (tx/missing-inputs)",
      async () => {
        await node.processTx(sent(distA).bytes);
        const recordSpend = spend(client, [{ txid: idA, vout: 1, value: 0n }], [
          { value: 0n, script: client.script },
        ]);
        await expectCode(node.processTx(recordSpend.bytes), "tx/unspendable");
        await mine(node, miner, 1);
        assert.ok((await node.getTransaction(idA))?.blockHash, "the distribution is mined");
        const stored = await node.store.getCoins([0, 1, 2, 3].map((vout) => ({ txid: idA, vout })));
        assert.deepEqual(stored.map((c) => c?.value), [each, undefined, each, undefined]);
        await expectCode(node.processTx(recordSpend.bytes), "tx/missing-inputs");
        await expectCode(
          node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(recordSpend.tx))),
          "tx/missing-inputs",
        );
        // The job pool's listing of these validators: chain/validation_pool_test.ts.
      },
    );

    const distD = distribution(pD.pool, [signedRecord(v1, D, sprint)]);
    const rewardD: JobCoin = { txid: sent(distD).id, vout: 0, ...distD.outputs[0] };
    await t.step(
      "a fraud proof before the epoch end takes the stake, the held reward and the validator's reward to the client, the model run once",
      async () => {
        await node.processTx(sent(distD).bytes);
        await mine(node, miner, 1);
        assert.ok((await node.getTransaction(rewardD.txid))?.blockHash, "distributed");
        const { job, output, last, stake } = D;
        const toClient = { payTo: client.script, fee: 10_000n };
        // The validator's reward alone: to anyone but the client, or with a position that holds.
        await expectCode(
          node.processTx(
            sent(
              fraudProofTx(
                job,
                output,
                [last],
                null,
                null,
                { ...toClient, payTo: compute.script },
                [
                  rewardD,
                ],
              ),
            ).bytes,
          ),
          "job/slash-not-to-client",
        );
        await expectCode(
          node.processTx(
            sent(fraudProofTx(job, output, [0], null, null, toClient, [rewardD])).bytes,
          ),
          "job/fraud-not-proven",
        );
        const checksBefore = b.fraudChecks.count;
        const proofTx = fraudProofTx(job, output, [last], stake, pD.held, toClient, [rewardD]);
        const block = makeBlock(node, miner, (blk) => blk.txs.push(proofTx));
        assert.equal((await node.processBlock(block)).status, "connected");
        assert.equal(b.fraudChecks.count - checksBefore, 1, "one proof, one commitment: one run");
        assert.ok(node.tip().height < until);
        const tx = (await node.getTransaction(sent(proofTx).id))!.tx;
        assert.equal(tx.inputs.length, 3);
        assert.equal(tx.outputs[0].value, stake.value + pD.held.value + rewardD.value - 10_000n);
        assert.deepEqual(parseOutputScript(tx.outputs[0].scriptPubKey), {
          type: "pay-to-address",
          pubKeyHash: keyHash(client),
        });
      },
    );

    await t.step(
      "no wallet spend and no coinbase makes a validator's reward or a record: job/held-not-from-pay",
      async () => {
        const forged: TxOutput[] = [
          { ...pairs(A, [recordsA[0]], COIN)[0] },
          pairs(A, [recordsA[0]], COIN)[1],
        ];
        for (const output of forged) {
          const made = fundJobOutput(output, A.jobId, {
            utxos: [A.change],
            secretKey: client.secret,
            fee: 100_000n,
          });
          await expectCode(node.processTx(made.bytes), "job/held-not-from-pay");
          await expectCode(
            node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(made.tx))),
            "job/held-not-from-pay",
          );
        }
        const coinbase = makeBlock(node, miner, (blk) => {
          const out = blk.txs[0].outputs[0];
          blk.txs[0].outputs = [{ ...out, value: out.value - COIN }, forged[0]];
        });
        await expectCode(node.processBlock(coinbase), "job/held-not-from-pay");
      },
    );

    await t.step(
      "each validator claims its share from the epoch end, by its key only; a forfeited reward is gone",
      async () => {
        const keys = recordsA.map((r) => keyOf([v1, v2], r));
        const rewards: JobCoin[] = [0, 2].map((vout) => ({
          txid: idA,
          vout,
          ...distA.outputs[vout],
        }));
        // The wallet never takes a validator's reward as a coin.
        assertNotWalletCoin(rewards[0], keys[0], client);
        const claims = keys.map((k, j) =>
          claimHeldTx(rewards[j], { payTo: k.script, fee: 10_000n }, A.jobId, k.secret)
        );
        const thief = sent(
          claimHeldTx(rewards[0], { payTo: keys[1].script, fee: 10_000n }, A.jobId, keys[1].secret),
        );
        await expectCode(node.processTx(sent(claims[0]).bytes), "job/reward-held");
        await expectCode(
          node.processBlock(makeBlock(node, miner, (blk) => blk.txs.push(claims[0]))),
          "job/reward-held",
        );
        await mine(node, miner, until - 1 - node.tip().height); // the next block is the epoch's end
        await expectCode(node.processTx(thief.bytes), "tx/wrong-key");
        for (const c of claims) await node.processTx(sent(c).bytes);
        await mine(node, miner, 1);
        for (const [j, k] of keys.entries()) {
          const id = sent(claims[j]).id;
          assert.equal((await node.getTransaction(id))?.height, until, "claimed at the end");
          const coins = await node.getAddressCoins(addressFromHash(keyHash(k)));
          assert.ok(coins.some((c) => c.txid === id && c.coin.value === each - 10_000n));
        }
        const late = claimHeldTx(rewardD, { payTo: v1.script, fee: 10_000n }, D.jobId, v1.secret);
        await expectCode(node.processTx(sent(late).bytes), "tx/missing-inputs");
      },
    );
  } finally {
    await b.close();
  }
});
