/**
 * @module Consensus tests of validator rewards (docs/protocol.md, "Validator rewards and on-chain
 * evidence"): a payment names its validators by pairs of a reward (0x08) and a signed validation
 * record (0x09) after the executor's held reward, split as `validatorSplit` says; every malformed
 * pair is refused with its code, in the mempool and in blocks; only a payment creates them; a
 * record never enters the UTXO set; a validator's reward is held like the executor's and forfeited
 * to the client by the same fraud proof. Real dev node, real keys, fraud decided on the fixture model.
 */

import assert from "node:assert/strict";
import { toHex } from "./bytes.ts";
import { formatCoins } from "./amount.ts";
import { addressFromHash, publicKeyOf } from "./keys.ts";
import { COIN } from "./params.ts";
import {
  claimHeldTx,
  fraudProofTx,
  fundJobOutput,
  heldPayout,
  type JobCoin,
  paymentOutputs,
  validatorRewardCoins,
} from "./job_tx.ts";
import { parseOutputScript, validatorRewardScript } from "./script.ts";
import {
  MAX_PAID_VALIDATORS,
  signRecord,
  type ValidationRecord,
  validationRecordScript,
  validatorSplit,
  verdictDetail,
} from "./validation_record.ts";
import { validationTicket } from "./validator_draw.ts";
import type { Transaction, TxOutput } from "./tx.ts";
import { makeBlock, mine, newKey, spend, type TestKey } from "../tests/chain_helpers.ts";
import { expectCode, keyHash, sent, SUBSIDY } from "../tests/job_spend_helpers.ts";
import {
  assertNotWalletCoin,
  heldBench,
  PAY_FEE,
  payInEpochStart,
  paymentWithOutputs,
  type StakedFixtureJob,
  stakedFixtureJob,
} from "../tests/held_job_helpers.ts";
import { JobPool } from "../relay/jobpool.ts";

/**
 * The honest record of `validator` for a job and output commitment, signed with its key; its ticket
 * drawn for `ticketJobId` (another job's ticket when it differs).
 */
function recordBy(
  validator: TestKey,
  jobId: Uint8Array,
  commitment: Uint8Array,
  ticketJobId: Uint8Array = jobId,
): ValidationRecord {
  const ticket = validationTicket(ticketJobId, validator.secret);
  const checked = [
    { position: 0, outcome: "match", margin: -1.5 },
    { position: 5, outcome: "match", margin: 0.25 },
  ];
  return signRecord(jobId, commitment, {
    validatorKey: publicKeyOf(validator.secret),
    sprint: 1,
    gamma: ticket.gamma,
    proof: ticket.proof,
    verdict: "honest",
    positions: checked.length,
    exceeded: 1,
    detail: verdictDetail("request-nonce", checked),
  }, validator.secret);
}

/** The records of `validators` for `staked`, in ascending order of key hex (as clients pay them). */
function recordsFor(validators: TestKey[], staked: StakedFixtureJob): ValidationRecord[] {
  return validators.map((v) => recordBy(v, staked.jobId, staked.commitment))
    .sort((a, b) => toHex(a.validatorKey) < toHex(b.validatorKey) ? -1 : 1);
}

/** The outputs consensus takes for a payment of `staked` with `records`. */
const goodOutputs = (staked: StakedFixtureJob, records: ValidationRecord[]) =>
  paymentOutputs(
    staked.escrow.value - PAY_FEE,
    heldPayout(staked.stake, PAY_FEE).payTo,
    records,
  );

/** The reward coin of the validator paid at `vout` of a payment. */
function rewardCoin(payment: Transaction, payId: string, vout: number): JobCoin {
  const o = payment.outputs[vout];
  return { txid: payId, vout, value: o.value, scriptPubKey: o.scriptPubKey };
}

Deno.test("a payment with three validator records is mined: each validator claims its share from the epoch end, a record never enters the UTXO set, the job pool lists them", async () => {
  const b = await heldBench();
  const poolDir = await Deno.makeTempDir({ prefix: "camelid-pool-" });
  const poolKv = await Deno.openKv(`${poolDir}/pool.kv`);
  try {
    const { node, client } = b;
    const pool = new JobPool(poolKv, node);
    const staked = await stakedFixtureJob(b, false);
    const validators = [newKey(), newKey(), newKey()];
    const records = recordsFor(validators, staked);
    const { payment, pay, held, until } = await payInEpochStart(b, staked, records);
    assert.ok((await node.getTransaction(pay.id))?.blockHash, "the payment is mined");

    const total = staked.escrow.value - PAY_FEE;
    const { each, executor } = validatorSplit(total, 3);
    assert.equal(held.value, executor);
    assert.equal(payment.outputs.length, 7);
    const stored = await node.store.getCoins(
      [1, 2, 3, 4, 5, 6].map((vout) => ({ txid: pay.id, vout })),
    );
    stored.forEach((coin, j) => {
      if (j % 2 === 0) assert.equal(coin?.value, each, "a validator's reward is a coin");
      else assert.equal(coin, undefined, "a record is not a coin");
    });

    // A record is unspendable: a spend of it finds no input, in the mempool and in a block.
    const recordSpend = spend(client, [{ txid: pay.id, vout: 2, value: 0n }], [
      { value: 0n, script: client.script },
    ]);
    await expectCode(node.processTx(recordSpend.bytes), "tx/missing-inputs");
    await expectCode(
      node.processBlock(makeBlock(node, newKey(), (blk) => blk.txs.push(recordSpend.tx))),
      "tx/missing-inputs",
    );

    // The job pool shows the payment's validators.
    const entry = await waitFor(async () => {
      const e = await pool.get(toHex(staked.jobId));
      return e?.validators?.length ? e : undefined;
    });
    assert.deepEqual(
      entry.validators,
      records.map((r, j) => ({
        address: addressFromHash(keyHash(keyOf(validators, r))),
        value: formatCoins(payment.outputs[1 + 2 * j].value),
        verdict: "honest",
        positions: 2,
        exceeded: 1,
        txid: pay.id,
        vout: 1 + 2 * j,
      })),
    );

    const first = keyOf(validators, records[0]);
    const second = keyOf(validators, records[1]);
    const coin = rewardCoin(payment, pay.id, 1);
    // The wallet never takes a validator's reward as a coin.
    assertNotWalletCoin(coin, first, client);
    const claimTx = claimHeldTx(
      coin,
      { payTo: first.script, fee: 10_000n },
      staked.jobId,
      first.secret,
    );
    const claim = sent(claimTx);
    const thief = sent(
      claimHeldTx(coin, { payTo: second.script, fee: 10_000n }, staked.jobId, second.secret),
    );
    await expectCode(node.processTx(claim.bytes), "job/reward-held");
    await expectCode(
      node.processBlock(makeBlock(node, newKey(), (blk) => blk.txs.push(claimTx))),
      "job/reward-held",
    );
    await mine(node, newKey(), until - 1 - node.tip().height); // the next block is the epoch's end
    await expectCode(node.processTx(thief.bytes), "tx/wrong-key");
    await node.processTx(claim.bytes);
    await mine(node, newKey(), 1);
    assert.ok((await node.getTransaction(claim.id))?.blockHash, "the claim is mined at the end");
    const paid = await node.getAddressCoins(addressFromHash(keyHash(first)));
    assert.ok(paid.some((c) => c.txid === claim.id && c.coin.value === each - 10_000n));
  } finally {
    poolKv.close();
    await Deno.remove(poolDir, { recursive: true });
    await b.close();
  }
});

Deno.test("a fraud proof before the epoch end takes the stake, the held reward and the validator's reward to the client, the model run once", async () => {
  const b = await heldBench();
  try {
    const { node, client, compute } = b;
    const staked = await stakedFixtureJob(b, true);
    const validator = newKey();
    const { payment, pay, held, until } = await payInEpochStart(
      b,
      staked,
      recordsFor([validator], staked),
    );
    assert.ok((await node.getTransaction(pay.id))?.blockHash, "the payment is mined");
    assert.equal(payment.outputs.length, 3);
    const reward = rewardCoin(payment, pay.id, 1);
    assert.equal(reward.value, (staked.escrow.value - PAY_FEE) / 10n);
    assert.deepEqual(validatorRewardCoins(pay.id, payment.outputs), [
      { txid: pay.id, vout: 1, value: reward.value },
    ]);
    const { job, output, last, stake } = staked;
    const toClient = { payTo: client.script, fee: 10_000n };

    // The validator's reward alone: to anyone but the client, or with a position that holds, refused.
    await expectCode(
      node.processTx(
        sent(fraudProofTx(job, output, [last], null, null, { ...toClient, payTo: compute.script }, [
          reward,
        ])).bytes,
      ),
      "job/slash-not-to-client",
    );
    await expectCode(
      node.processTx(sent(fraudProofTx(job, output, [0], null, null, toClient, [reward])).bytes),
      "job/fraud-not-proven",
    );

    const checksBefore = b.fraudChecks.count;
    const proofTx = fraudProofTx(job, output, [last], stake, held, toClient, [reward]);
    const proof = sent(proofTx);
    const block = makeBlock(node, newKey(), (blk) => blk.txs.push(proofTx));
    assert.equal((await node.processBlock(block)).status, "connected");
    assert.equal(b.fraudChecks.count - checksBefore, 1, "one proof, one commitment: one model run");
    assert.ok(node.tip().height < until);
    const tx = (await node.getTransaction(proof.id))!.tx;
    assert.equal(tx.inputs.length, 3);
    assert.equal(tx.outputs[0].value, stake.value + held.value + reward.value - 10_000n);
    assert.deepEqual(parseOutputScript(tx.outputs[0].scriptPubKey), {
      type: "pay-to-address",
      pubKeyHash: keyHash(client),
    });
    await mine(node, newKey(), until - node.tip().height);
    const late = claimHeldTx(
      reward,
      { payTo: validator.script, fee: 10_000n },
      staked.jobId,
      validator.secret,
    );
    await expectCode(node.processTx(sent(late).bytes), "tx/missing-inputs");
  } finally {
    await b.close();
  }
});

Deno.test("a payment's validator pairs are refused with their codes, in the mempool and in blocks; only a payment creates them", async () => {
  const b = await heldBench();
  try {
    const { node, client, compute } = b;
    const staked = await stakedFixtureJob(b, false);
    const { jobId, commitment } = staked;
    const [v1, v2] = [newKey(), newKey()];
    const [r1, r2] = recordsFor([v1, v2], staked);
    const [k1, k2] = [keyOf([v1, v2], r1), keyOf([v1, v2], r2)];
    const otherJob = new Uint8Array(32).fill(7);
    const otherCommitment = new Uint8Array(32).fill(8);
    const edited = (records: ValidationRecord[], edit: (o: TxOutput[]) => void) => {
      const outputs = goodOutputs(staked, records);
      edit(outputs);
      return outputs;
    };
    const nine = Array.from({ length: MAX_PAID_VALIDATORS + 1 }, () => newKey());
    const nineRecords = recordsFor(nine, staked);
    const cases: [string, string, TxOutput[]][] = [
      [
        "another job's ticket",
        "job/bad-ticket",
        goodOutputs(staked, [recordBy(v1, jobId, commitment, otherJob)]),
      ],
      [
        "a record signed for another output",
        "job/bad-attestation",
        goodOutputs(staked, [recordBy(v1, jobId, otherCommitment)]),
      ],
      [
        "a record whose counts were changed after signing",
        "job/bad-attestation",
        goodOutputs(staked, [{ ...r1, exceeded: 0 }]),
      ],
      [
        "a reward to another key than the record's",
        "job/validator-reward",
        edited([r1], (o) => {
          o[1].scriptPubKey = validatorRewardScript(
            jobId,
            keyHash(k2),
            keyHash(client),
            commitment,
          );
        }),
      ],
      [
        "a reward on another commitment",
        "job/validator-reward",
        edited([r1], (o) => {
          o[1].scriptPubKey = validatorRewardScript(
            jobId,
            keyHash(k1),
            keyHash(client),
            otherCommitment,
          );
        }),
      ],
      [
        "the executor's own record",
        "job/self-validation",
        goodOutputs(staked, [recordBy(compute, jobId, commitment)]),
      ],
      ["a validator twice", "job/duplicate-validator", goodOutputs(staked, [r1, r2, r1])],
      [
        "a validator paid one unit less",
        "job/validator-split",
        edited([r1, r2], (o) => {
          o[0].value += 1n;
          o[3].value -= 1n;
        }),
      ],
      [
        "a record carrying value",
        "job/validator-split",
        edited([r1], (o) => {
          o[0].value -= 1n;
          o[2].value = 1n;
        }),
      ],
      [
        "the split of two validators paid to one",
        "job/validator-split",
        edited([r1], (o) => {
          const split = validatorSplit(staked.escrow.value - PAY_FEE, 2);
          o[0].value = split.executor + split.each;
          o[1].value = split.each;
        }),
      ],
      ["a reward without its record", "job/pay-not-held", goodOutputs(staked, [r1]).slice(0, 2)],
      [
        "a record before its reward",
        "job/pay-not-held",
        edited([r1], (o) => o.splice(1, 2, o[2], o[1])),
      ],
      [
        `${MAX_PAID_VALIDATORS + 1} validators`,
        "job/pay-not-held",
        [
          ...goodOutputs(staked, nineRecords.slice(0, MAX_PAID_VALIDATORS)),
          { value: 0n, scriptPubKey: goodOutputs(staked, nineRecords.slice(8))[1].scriptPubKey },
          { value: 0n, scriptPubKey: validationRecordScript(nineRecords[8]) },
        ],
      ],
    ];
    const refused = new Map<string, ReturnType<typeof paymentWithOutputs>>();
    for (const [what, code, outputs] of cases) {
      const bad = paymentWithOutputs(b, staked, outputs);
      await expectCode(node.processTx(bad.bytes), code).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      refused.set(code, bad);
    }
    for (const code of ["job/bad-ticket", "job/validator-split", "job/duplicate-validator"]) {
      const blk = makeBlock(node, newKey(), (blk) => blk.txs.push(refused.get(code)!.tx));
      await expectCode(node.processBlock(blk), code);
    }

    // A wallet spend that makes a validator's reward or a record is refused, as is a coinbase.
    const change = {
      txid: staked.escrow.txid,
      vout: 1,
      value: SUBSIDY - 5n * COIN - 100_000n,
      scriptPubKey: client.script,
    };
    const forged: TxOutput[] = [
      { value: COIN, scriptPubKey: goodOutputs(staked, [r1])[1].scriptPubKey },
      { value: 0n, scriptPubKey: validationRecordScript(r1) },
    ];
    for (const output of forged) {
      const made = fundJobOutput(output, jobId, {
        utxos: [change],
        secretKey: client.secret,
        fee: 100_000n,
      });
      await expectCode(node.processTx(made.bytes), "job/held-not-from-pay");
      await expectCode(
        node.processBlock(makeBlock(node, newKey(), (blk) => blk.txs.push(made.tx))),
        "job/held-not-from-pay",
      );
    }
    const coinbase = makeBlock(node, newKey(), (blk) => {
      const out = blk.txs[0].outputs[0];
      blk.txs[0].outputs = [{ ...out, value: out.value - COIN }, forged[0]];
    });
    await expectCode(node.processBlock(coinbase), "job/held-not-from-pay");

    // The same payment, well formed, is taken; its record is no coin even in the mempool.
    const pay = paymentWithOutputs(b, staked, goodOutputs(staked, [r1, r2]));
    await node.processTx(pay.bytes);
    const recordSpend = spend(client, [{ txid: pay.id, vout: 2, value: 0n }], [
      { value: 0n, script: client.script },
    ]);
    await expectCode(node.processTx(recordSpend.bytes), "tx/unspendable");
    await mine(node, newKey(), 1);
    assert.ok((await node.getTransaction(pay.id))?.blockHash, "the payment is mined");
  } finally {
    await b.close();
  }
});

/** The test key whose public key made `record`. */
function keyOf(keys: TestKey[], record: ValidationRecord): TestKey {
  return keys.find((k) => toHex(publicKeyOf(k.secret)) === toHex(record.validatorKey))!;
}

/** Polls `read` until it gives a value (the job pool follows blocks asynchronously). */
async function waitFor<T>(read: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await read();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out waiting for the job pool");
}
