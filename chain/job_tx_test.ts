import assert from "node:assert/strict";
import fc from "fast-check";
import { toHex } from "./bytes.ts";
import { hash160 } from "./hash.ts";
import { type Job, jobIdBytes } from "./job.ts";
import { publicKeyOf } from "./keys.ts";
import {
  computeStakeScript,
  heldRewardScript,
  heldRewardScriptOfStake,
  parseOutputScript,
  payToHashScript,
} from "./script.ts";
import { decodeTransaction, encodeTransaction, type Transaction } from "./tx.ts";
import {
  answerOutput,
  badAnswerTx,
  claimHeldTx,
  claimOutput,
  escrowOutput,
  fraudProofTx,
  fundJobOutput,
  heldPayout,
  type JobCoin,
  nonDeliveryTx,
  payTx,
  refundTx,
  releaseTx,
  stakeOutput,
} from "./job_tx.ts";
import {
  parseBadAnswer,
  parseBarePath,
  parseFraudProof,
  parsePay,
  parseSigned,
  PATH_ESCROW_FRAUD,
  PATH_HELD_CLAIM,
  PATH_NON_DELIVERY,
  PATH_REFUND,
  PATH_RELEASE,
} from "./job_unlock.ts";

const RUNS = { seed: 20261201, numRuns: 40 };

/** A record of plain objects (what builders and parsers deal in). */
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  fc.record<T>(model, { noNullPrototype: true });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const secretKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => {
  b[0] = 1 + (b[0] % 200); // far below the group order, never zero
  return b;
});
const outpoint = record({ txid: bytes(32).map(toHex), vout: fc.nat({ max: 0xffffffff }) });
const value = fc.bigInt({ min: 1_000_000n, max: 1n << 50n });
const fee = fc.bigInt({ min: 0n, max: 999_999n });
const payout = record({ payTo: bytes(20).map(payToHashScript), fee });
const job = record({
  modelId: bytes(32),
  promptTokens: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 8 }),
  seed: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  maxTokens: fc.integer({ min: 1, max: 8192 }),
  temperature: fc.float({ min: 0, max: 4, noNaN: true }).map(Math.fround),
  topK: fc.nat({ max: 0xffffffff }),
  topP: fc.float({ min: Math.fround(0.01), max: 1, noNaN: true }).map(Math.fround),
  timestamp: fc.nat({ max: 0xffffffff }),
  expiryHeight: fc.nat({ max: 0xffffffff }),
  clientKey: secretKey.map(publicKeyOf),
  contact: fc.string({ maxLength: 40 }),
}) as fc.Arbitrary<Job>;

/** The transaction as a node receives it: encoded and decoded again. */
function wire(tx: Transaction): Transaction {
  return decodeTransaction(encodeTransaction(tx));
}

function assertSpends(tx: Transaction, coins: { txid: string; vout: number }[]): void {
  assert.deepEqual(
    tx.inputs.map((i) => ({ txid: toHex(i.prevout.txid), vout: i.prevout.vout })),
    coins.map(({ txid, vout }) => ({ txid, vout })),
  );
}

function assertPays(tx: Transaction, out: { payTo: Uint8Array; fee: bigint }, total: bigint): void {
  assert.deepEqual(tx.outputs, [{ value: total - out.fee, scriptPubKey: out.payTo }]);
}

Deno.test("pay, refund, release and held claim round-trip through their parsers", () => {
  const coin = fc.tuple(outpoint, value, bytes(58)).map(([o, v, s]): JobCoin => ({
    ...o,
    value: v,
    scriptPubKey: s,
  }));
  fc.assert(
    fc.property(coin, outpoint, payout, bytes(32), secretKey, (c, stake, out, jobId, sk) => {
      const pay = wire(payTx(c, stake, out, jobId, sk));
      assertSpends(pay, [c]);
      assertPays(pay, out, c.value);
      assert.deepEqual(pay.jobId, jobId);
      const data = parsePay(pay.inputs[0].scriptSig);
      assert.deepEqual(data.stake, stake);
      assert.deepEqual(data.pubkey, publicKeyOf(sk));
      assert.equal(data.sig.length, 64);
      const signedPaths = [
        [refundTx, PATH_REFUND],
        [releaseTx, PATH_RELEASE],
        [claimHeldTx, PATH_HELD_CLAIM],
      ] as const;
      for (const [build, path] of signedPaths) {
        const tx = wire(build(c, out, jobId, sk));
        assertSpends(tx, [c]);
        assertPays(tx, out, c.value);
        const signed = parseSigned(tx.inputs[0].scriptSig, path, "test");
        assert.deepEqual(signed.pubkey, publicKeyOf(sk));
      }
    }),
    RUNS,
  );
});

Deno.test("fraud proofs, non-delivery and bad-answer slashes round-trip through their parsers", () => {
  const output = record({
    outputTokens: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 20 }),
    finishReason: fc.constantFrom("stop" as const, "length" as const),
  });
  const positions = fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 64 });
  const coin = fc.tuple(outpoint, value).map(([o, v]) => ({ ...o, value: v }));
  fc.assert(
    fc.property(
      job,
      output,
      positions,
      coin,
      fc.option(coin),
      payout,
      (j, o, ps, stake, escrow, out) => {
        const tx = wire(fraudProofTx(j, o, ps, stake, escrow, out));
        assertSpends(tx, escrow ? [stake, escrow] : [stake]);
        assertPays(tx, out, stake.value + (escrow?.value ?? 0n));
        assert.deepEqual(tx.jobId, jobIdBytes(j));
        assert.deepEqual(parseFraudProof(tx.inputs[0].scriptSig), {
          job: j,
          jobId: jobIdBytes(j),
          ...o,
          positions: ps,
        });
        if (escrow) parseBarePath(tx.inputs[1].scriptSig, PATH_ESCROW_FRAUD, "test");
        // Beside the stake, or alone, a held reward is spent with the same proof.
        const held = { ...(escrow ?? stake), held: true };
        for (const s of [stake, null]) {
          const h = wire(fraudProofTx(j, o, ps, s, held, out));
          assertSpends(h, s ? [s, held] : [held]);
          assertPays(h, out, (s?.value ?? 0n) + held.value);
          assert.deepEqual(h.inputs.at(-1)!.scriptSig, tx.inputs[0].scriptSig);
        }
        assert.throws(() => fraudProofTx(j, o, ps, null, escrow, out), RangeError);
      },
    ),
    RUNS,
  );
  const proof = record({
    answer: outpoint,
    clientKey: secretKey.map(publicKeyOf),
    shared: bytes(65),
    proof: bytes(98),
  });
  fc.assert(
    fc.property(coin, proof, payout, bytes(32), (stake, p, out, jobId) => {
      const slash = wire(badAnswerTx(stake, p, out, jobId));
      assertSpends(slash, [stake]);
      assertPays(slash, out, stake.value);
      assert.deepEqual(parseBadAnswer(slash.inputs[0].scriptSig), p);
      const unanswered = wire(nonDeliveryTx(stake, out, jobId));
      assertSpends(unanswered, [stake]);
      assertPays(unanswered, out, stake.value);
      parseBarePath(unanswered.inputs[0].scriptSig, PATH_NON_DELIVERY, "test");
      assert.deepEqual(unanswered.jobId, jobId);
    }),
    RUNS,
  );
});

Deno.test("escrow, stake, claim and answer outputs round-trip through the script parser, funded from a wallet", () => {
  const hash = bytes(20);
  fc.assert(
    fc.property(
      bytes(32),
      hash,
      hash,
      bytes(32),
      fc.nat({ max: 0xffffffff }),
      outpoint,
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      value,
      secretKey,
      (jobId, nodeHash, clientHash, commitment, expiryHeight, stake, ciphertext, v, sk) => {
        const outputs = [
          [escrowOutput(jobId, clientHash, expiryHeight, v), {
            type: "job-escrow",
            jobId,
            clientHash,
            expiryHeight,
          }],
          [stakeOutput(jobId, nodeHash, clientHash, commitment, v), {
            type: "compute-stake",
            jobId,
            nodeHash,
            clientHash,
            commitment,
          }],
          [claimOutput(stake), { type: "job-claim", stake }],
          [answerOutput(stake, ciphertext), { type: "job-answer", stake, ciphertext }],
        ] as const;
        const wallet = {
          utxos: [{
            txid: toHex(new Uint8Array(32).fill(1)),
            vout: 0,
            value: 2n * v + 1_000_000n,
            scriptPubKey: payToHashScript(hash160(publicKeyOf(sk))),
          }],
          secretKey: sk,
          fee: 1_000n,
        };
        for (const [output, parsed] of outputs) {
          assert.deepEqual(parseOutputScript(output.scriptPubKey), parsed);
          const funded = decodeTransaction(fundJobOutput(output, jobId, wallet).bytes);
          assert.deepEqual(funded.outputs[0], output);
          assert.deepEqual(funded.jobId, jobId);
          assert.equal(toHex(funded.inputs[0].prevout.txid), wallet.utxos[0].txid);
        }
      },
    ),
    RUNS,
  );
});

Deno.test("held reward scripts round-trip through the strict parser; a payment's output is its stake's held reward", () => {
  const hash = bytes(20);
  fc.assert(
    fc.property(bytes(32), hash, hash, bytes(32), fee, (jobId, nodeHash, clientHash, c, f) => {
      const script = heldRewardScript(jobId, nodeHash, clientHash, c);
      assert.deepEqual(parseOutputScript(script), {
        type: "held-reward",
        jobId,
        nodeHash,
        clientHash,
        commitment: c,
      });
      const stake = computeStakeScript(jobId, nodeHash, clientHash, c);
      assert.deepEqual(heldRewardScriptOfStake(stake), script);
      assert.deepEqual(heldPayout({ scriptPubKey: stake }, f), { payTo: script, fee: f });
      for (const bad of [script.subarray(0, 104), new Uint8Array([...script, 0])]) {
        assert.throws(() => parseOutputScript(bad), { code: "script/length" });
      }
      assert.throws(() => heldRewardScriptOfStake(script), RangeError);
    }),
    RUNS,
  );
});
