/**
 * @module Test helpers of held payments (chain/held_reward_test.ts, chain/validator_reward_test.ts,
 * chain/report_test.ts, chain/validation_pool_test.ts): a dev node whose fraud proofs are decided by
 * the real fraud checker on the tiny fixture model, a fixture job staked on its honest (or a
 * cheating) output, its payment mined in the first block of an epoch (with validation records, or
 * with a validation pool), and validator keys given weight by real sprint proofs.
 */

import assert from "node:assert/strict";
import { ChainNode, type ChainNodeOptions } from "../chain/node.ts";
import { COIN, networkParams } from "../chain/params.ts";
import { jobIdBytes } from "../chain/job.ts";
import { publicKeyOf } from "../chain/keys.ts";
import { outputCommitment } from "../chain/commitment.ts";
import { epochEnd } from "../chain/sprint.ts";
import { heldRewardScript } from "../chain/script.ts";
import { encodePay } from "../chain/job_unlock.ts";
import {
  heldPayout,
  type JobCoin,
  payTx,
  payWithPoolTx,
  poolCoin,
  type RewardCoin,
  signFirstInput,
} from "../chain/job_tx.ts";
import { spendInput, type Transaction, type TxOutput } from "../chain/tx.ts";
import { buildPayment, type WalletUtxo } from "../chain/wallet.ts";
import { addressFromHash } from "../chain/keys.ts";
import {
  type RecordVerdict,
  signRecord,
  type ValidationRecord,
  verdictDetail,
} from "../chain/validation_record.ts";
import { validationTicket } from "../chain/validator_draw.ts";
import { coinbaseOf, mine, newKey, type TestKey } from "./chain_helpers.ts";
import { expectCode, jobOutputs, keyHash, lockJobOutput, sent } from "./job_spend_helpers.ts";
import { fixtureJob, fixtureModel, honestOutput } from "./fixture_job.ts";
import { checkFraudClaim } from "../compute/fraud.ts";
import { proveAndSubmit } from "./sprint_helpers.ts";

/** The fixture model every held-payment test decides fraud proofs with (made once per process). */
let fixtureOnce: ReturnType<typeof fixtureModel> | undefined;

/**
 * A dev node whose fraud proofs are decided with the fixture model (counted in `fraudChecks`); a
 * client and a compute key funded. `weightsOracle`: as ChainNode.open takes it (user reports).
 */
export async function heldBench(weightsOracle?: ChainNodeOptions["weightsOracle"]) {
  const fixture = await (fixtureOnce ??= fixtureModel());
  const dir = await Deno.makeTempDir({ prefix: "camelid-held-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const fraudChecks = { count: 0 };
  const node = await ChainNode.open({
    params: networkParams("dev"),
    kv,
    fraudChecker: (claim) => {
      fraudChecks.count++;
      return checkFraudClaim(claim, fixture.gguf);
    },
    weightsOracle,
  });
  const client = newKey();
  const compute = newKey();
  const [c0] = await mine(node, client, 1);
  const [n0] = await mine(node, compute, 1);
  await mine(node, newKey(), node.params.coinbaseMaturity);
  const coins = { client: await coinbaseOf(node, c0), compute: await coinbaseOf(node, n0) };
  return {
    fixture,
    /** How many fraud claims the node's checker has decided (model runs). */
    fraudChecks,
    node,
    client,
    compute,
    coins,
    close: async () => {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A {@link heldBench}. */
export type HeldBench = Awaited<ReturnType<typeof heldBench>>;

/**
 * A fixture job of `b.client` staked by `b.compute` on the honest output, or on one with a changed
 * last token (`cheat`: the fraud is at `last`), escrow and stake mined and a dispute window deep:
 * ready to be paid. `coins`: the coinbases (txids) that fund the escrow and the stake (the bench's
 * by default); the escrow's transaction returns the client's change at `change`.
 */
export async function stakedFixtureJob(
  b: HeldBench,
  cheat: boolean,
  coins: { client: string; compute: string } = b.coins,
) {
  const { node, client, compute, fixture } = b;
  const job = {
    ...fixtureJob(fixture.modelId),
    clientKey: publicKeyOf(client.secret),
    expiryHeight: node.tip().height + 60,
  };
  const id = jobIdBytes(job);
  const honest = await honestOutput(fixture, job, id);
  const tokens = [...honest.outputTokens];
  const last = tokens.length - 1;
  if (cheat) tokens[last] = tokens[last] === 100 ? 101 : 100;
  const output = { outputTokens: tokens, finishReason: honest.finishReason };
  const commitment = outputCommitment(id, output.outputTokens, output.finishReason);
  const { jobId, escrowOut, stakeOut } = jobOutputs(job, client, compute, commitment, {
    escrow: 5n * COIN,
    stake: 2n * COIN,
  });
  const e = lockJobOutput(client, coins.client, escrowOut, jobId);
  const s = lockJobOutput(compute, coins.compute, stakeOut, jobId);
  await node.processTx(e.bytes);
  await node.processTx(s.bytes);
  await mine(node, newKey(), 1);
  await mine(node, newKey(), node.params.jobs.disputeWindow);
  const escrow: JobCoin = { txid: e.id, vout: 0, ...escrowOut };
  const stake: JobCoin = { txid: s.id, vout: 0, ...stakeOut };
  const change: JobCoin = { txid: e.id, vout: 1, ...e.tx.outputs[1] };
  return { job, jobId, output, last, commitment, escrow, stake, change };
}

/** A {@link stakedFixtureJob}. */
export type StakedFixtureJob = Awaited<ReturnType<typeof stakedFixtureJob>>;

/** The fee of every payment these helpers make. */
export const PAY_FEE = 10_000n;

/**
 * Pays `staked` (the plain payment, the held reward alone) in the first block of an epoch, so the
 * payment is held for a whole epoch; before, checks that a payment to the node's address is
 * refused. Returns the payment, the executor's held reward and the height it is held until.
 */
export async function payInEpochStart(b: HeldBench, staked: StakedFixtureJob) {
  const { node, client, compute } = b;
  const { escrow, stake, jobId, commitment } = staked;
  // A payment to the node's address is not a payment: consensus takes only the held reward.
  const plain = sent(
    payTx(escrow, stake, { payTo: compute.script, fee: PAY_FEE }, jobId, client.secret),
  );
  await expectCode(node.processTx(plain.bytes), "job/pay-not-held");

  const I = node.params.sprint.interval;
  await mine(node, newKey(), (I - ((node.tip().height + 1) % I)) % I);
  const payment = payTx(escrow, stake, heldPayout(stake, PAY_FEE), jobId, client.secret);
  const pay = sent(payment);
  await node.processTx(pay.bytes);
  await mine(node, newKey(), 1);
  const paidHeight = node.tip().height;
  assert.equal(paidHeight % I, 0);
  const held: RewardCoin & JobCoin = {
    txid: pay.id,
    vout: 0,
    value: payment.outputs[0].value,
    scriptPubKey: heldRewardScript(jobId, keyHash(compute), keyHash(client), commitment),
    held: true,
  };
  const coin = (await node.store.getCoins([held]))[0];
  assert.deepEqual(coin?.scriptPubKey, held.scriptPubKey, "the payment's output is held");
  return { payment, pay, paidHeight, held, until: epochEnd(node.params.sprint, paidHeight) };
}

/** The client's payment of `staked` with exactly `outputs` (signed over them), sent. */
export function paymentWithOutputs(b: HeldBench, staked: StakedFixtureJob, outputs: TxOutput[]) {
  const tx: Transaction = {
    version: 1,
    inputs: [spendInput(staked.escrow)],
    outputs,
    lockTime: 0,
    jobId: staked.jobId,
  };
  tx.inputs[0].scriptSig = encodePay({
    ...signFirstInput(tx, staked.escrow, b.client.secret),
    stake: staked.stake,
  });
  return { ...sent(tx), tx };
}

/**
 * Pays every job of `jobs` with a validation pool in the first block of an epoch (so each pool is
 * distributable for a whole epoch). Returns, per job, the payment, its held reward and its pool,
 * with the height they are held until.
 */
export async function payWithPoolInEpochStart(b: HeldBench, jobs: readonly StakedFixtureJob[]) {
  const { node, client } = b;
  const I = node.params.sprint.interval;
  await mine(node, newKey(), (I - ((node.tip().height + 1) % I)) % I);
  const payments = jobs.map((j) =>
    sent(payWithPoolTx(j.escrow, j.stake, PAY_FEE, j.jobId, client.secret))
  );
  for (const p of payments) await node.processTx(p.bytes);
  await mine(node, newKey(), 1);
  const paidHeight = node.tip().height;
  assert.equal(paidHeight % I, 0);
  const paid = await Promise.all(payments.map(async (p) => {
    const { tx } = (await node.getTransaction(p.id))!;
    const held: RewardCoin & JobCoin = { txid: p.id, vout: 0, ...tx.outputs[0], held: true };
    return { payment: tx, id: p.id, held, pool: poolCoin(p.id, tx.outputs)! };
  }));
  return { paid, paidHeight, until: epochEnd(node.params.sprint, paidHeight) };
}

/**
 * Gives each of `provers` (a key and the nonces it tries) weight in one sprint: a coinbase each,
 * mined to `miner`'s blocks up to the first sprint that opens once those coins are mature, every
 * proof submitted in its window and mined. Returns the sprint.
 */
export async function proveWeights(
  node: ChainNode,
  miner: TestKey,
  provers: readonly (readonly [TestKey, number])[],
): Promise<number> {
  for (const [k] of provers) await mine(node, k, 1);
  const I = node.params.sprint.interval;
  const sprint = Math.ceil((node.tip().height + node.params.coinbaseMaturity) / I);
  await mine(node, miner, sprint * I - node.tip().height);
  for (const [k, tries] of provers) await proveAndSubmit(node, k, sprint, tries);
  await mine(node, miner, 1);
  return sprint;
}

/**
 * A fixture job staked on the honest output (or a cheating one) and paid without validators in the
 * first block of an epoch: the job, the held reward and its epoch end.
 */
export async function paidJob(b: HeldBench, cheat: boolean) {
  const staked = await stakedFixtureJob(b, cheat);
  const { held, until } = await payInEpochStart(b, staked);
  return { ...staked, held, until };
}

/**
 * `key`'s signed validation record of `verdict` on `job`'s committed output, its ticket drawn for
 * the job, under sprint `sprint`: `exceeded` of `positions` checked positions over the margin level.
 */
export function signedRecord(
  key: TestKey,
  job: { jobId: Uint8Array; commitment: Uint8Array },
  sprint: number,
  { verdict = "honest", positions = 1, exceeded = 0 }: {
    verdict?: RecordVerdict;
    positions?: number;
    exceeded?: number;
  } = {},
): ValidationRecord {
  const { gamma, proof } = validationTicket(job.jobId, key.secret);
  const checked = Array.from({ length: positions }, (_, position) => ({
    position,
    outcome: verdict === "fraud" ? "fraud" : "match",
    margin: position < exceeded ? 0.5 : -1,
  }));
  return signRecord(job.jobId, job.commitment, {
    validatorKey: publicKeyOf(key.secret),
    sprint,
    gamma,
    proof,
    verdict,
    positions,
    exceeded,
    detail: verdictDetail("test", checked),
  }, key.secret);
}

/** Asserts that the wallet of `owner` refuses `coin` (a held reward, its own or a validator's). */
export function assertNotWalletCoin(coin: WalletUtxo, owner: TestKey, to: TestKey): void {
  assert.throws(
    () =>
      buildPayment({
        utxos: [coin],
        secretKey: owner.secret,
        to: addressFromHash(keyHash(to)),
        amount: 1n,
        fee: 1n,
      }),
    { code: "wallet/not-wallet-coin" },
  );
}
