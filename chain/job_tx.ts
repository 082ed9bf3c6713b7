/**
 * @module Builders of every job transaction and output, beside their parsers (job_unlock.ts for the
 * unlocking data, script.ts for the outputs, spend.ts for the rules): the escrow, stake, claim and
 * answer outputs funded from a wallet, and the single-input spends of an escrow (pay, refund), a
 * stake (release, fraud proof, non-delivery, bad answer) or a held reward (claim, fraud proof); a
 * payment with a validation pool and the pool's distribution (chain/pool_rules.ts).
 */

import { fromHex } from "./bytes.ts";
import { ValidationError } from "./errors.ts";
import type { Job } from "./job.ts";
import { jobIdBytes } from "./job.ts";
import { publicKeyOf, signDigest } from "./keys.ts";
import {
  computeStakeScript,
  heldRewardScriptOfStake,
  jobEscrowScript,
  parseOutputScript,
  stakeNoticeScript,
  TEMPLATE_JOB_ANSWER,
  TEMPLATE_JOB_CLAIM,
  TEMPLATE_VALIDATION_POOL,
  validationPoolScriptOfStake,
  validatorRewardScript,
} from "./script.ts";
import { maxDistributeFee, poolSplit } from "./pool_rules.ts";
import { hash160 } from "./hash.ts";
import { type ValidationRecord, validationRecordScript } from "./validation_record.ts";
import {
  encodeTransaction,
  signatureHash,
  spendInput,
  type Transaction,
  type TxOutput,
} from "./tx.ts";
import { buildSpend, type WalletUtxo } from "./wallet.ts";
import {
  type BadAnswerData,
  encodeBadAnswer,
  encodeBarePath,
  encodeFraudProof,
  encodePay,
  encodeSigned,
  type Outpoint,
  PATH_ESCROW_FRAUD,
  PATH_HELD_CLAIM,
  PATH_NON_DELIVERY,
  PATH_POOL_DISTRIBUTE,
  PATH_REFUND,
  PATH_RELEASE,
  type SignedData,
} from "./job_unlock.ts";

/** A job output being spent: where it is, its value and its locking script. */
export interface JobCoin extends Outpoint {
  /** Value in base units. */
  value: bigint;
  /** Locking script (escrow or stake template). */
  scriptPubKey: Uint8Array;
}

/** Where a spend pays, and what it leaves to the miner. */
export interface Payout {
  /** The one output's locking script. */
  payTo: Uint8Array;
  /** Miner fee in base units (the output carries the inputs' value less this). */
  fee: bigint;
}

/** The wallet that funds an output: candidate coins, owner key, fee. */
export interface Funding {
  /** Candidate outputs owned by `secretKey`. */
  utxos: WalletUtxo[];
  /** Owner's secret key. */
  secretKey: Uint8Array;
  /** Miner fee in base units. */
  fee: bigint;
}

/**
 * The one helper behind every single-input job spend: spends `coin` to one output of its value less
 * the fee, stamped with `jobId`, with the unlocking data `unlock` makes from the unsigned transaction.
 */
export function singleInputSpend(
  coin: Outpoint & { value: bigint },
  out: Payout,
  jobId: Uint8Array,
  unlock: (tx: Transaction) => Uint8Array,
): Transaction {
  const tx: Transaction = {
    version: 1,
    inputs: [spendInput(coin)],
    outputs: [{ value: coin.value - out.fee, scriptPubKey: out.payTo }],
    lockTime: 0,
    jobId,
  };
  tx.inputs[0].scriptSig = unlock(tx);
  return tx;
}

/** Signs input 0 of `tx`, which spends `coin`: the signature and the signer's public key. */
export function signFirstInput(tx: Transaction, coin: JobCoin, secretKey: Uint8Array): SignedData {
  return {
    sig: signDigest(signatureHash(tx, 0, coin), secretKey),
    pubkey: publicKeyOf(secretKey),
  };
}

/**
 * Where a payment goes: the job's held reward for the node of `stake` (consensus takes no other
 * output), the escrow less `fee`.
 */
export function heldPayout(stake: { scriptPubKey: Uint8Array }, fee: bigint): Payout {
  return { payTo: heldRewardScriptOfStake(stake.scriptPubKey), fee };
}

/**
 * The client pays the escrow out, naming the node's stake (mineable a dispute window after the
 * stake); `out` is the stake's {@link heldPayout}: the plain payment, one output, the executor's
 * held reward ({@link payWithPoolTx} sets the job's validation pool aside beside it).
 */
export function payTx(
  escrow: JobCoin,
  stake: Outpoint,
  out: Payout,
  jobId: Uint8Array,
  secretKey: Uint8Array,
): Transaction {
  return signedPayment(
    escrow,
    stake,
    [{ value: escrow.value - out.fee, scriptPubKey: out.payTo }],
    jobId,
    secretKey,
  );
}

/** The escrow's PAY spend to `outputs`, naming `stake`, signed by the client. */
function signedPayment(
  escrow: JobCoin,
  stake: Outpoint,
  outputs: TxOutput[],
  jobId: Uint8Array,
  secretKey: Uint8Array,
): Transaction {
  const tx: Transaction = { version: 1, inputs: [spendInput(escrow)], outputs, lockTime: 0, jobId };
  tx.inputs[0].scriptSig = encodePay({ ...signFirstInput(tx, escrow, secretKey), stake });
  return tx;
}

/**
 * The client pays the escrow out with a validation pool, naming the node's stake (`stake`: its
 * outpoint and script): output 0 the executor's held reward, output 1 the job's pool, split by
 * {@link poolSplit} of the escrow less `fee`. The pool is (payment txid, 1).
 */
export function payWithPoolTx(
  escrow: JobCoin,
  stake: JobCoin,
  fee: bigint,
  jobId: Uint8Array,
  secretKey: Uint8Array,
): Transaction {
  return signedPayment(
    escrow,
    { txid: stake.txid, vout: stake.vout },
    poolPaymentOutputs(escrow.value - fee, stake.scriptPubKey),
    jobId,
    secretKey,
  );
}

/** The outputs of a payment of `total` with a pool: the stake's held reward, then its pool. */
export function poolPaymentOutputs(total: bigint, stakeScript: Uint8Array): TxOutput[] {
  const { pool, executor } = poolSplit(total);
  return [
    { value: executor, scriptPubKey: heldRewardScriptOfStake(stakeScript) },
    { value: pool, scriptPubKey: validationPoolScriptOfStake(stakeScript) },
  ];
}

/** What the client's distribution of a validation pool spends and pays. */
export interface DistributionRequest {
  /** The pool (0x0B coin: outpoint, value, script), the distribution's only input. */
  pool: JobCoin;
  /** The eligible validators' records (1..MAX_PAID_VALIDATORS), in the order they are paid. */
  records: readonly ValidationRecord[];
  /** The client's secret key (signs the DISTRIBUTE). */
  secretKey: Uint8Array;
  /** Miner fee, paid from the pool: at most `MAX_DISTRIBUTE_FEE_RATE` a byte of the transaction. */
  fee: bigint;
}

/**
 * The client's distribution of a pool, its only input: per record the validator's reward
 * (floor((pool - fee) / k)) and the record, stamped with the pool's job id; the rest of the pool
 * (`fee` and the division's remainder, < k units) is the fee. Throws `job/validator-split` when the
 * fee is negative, exceeds the pool or exceeds the consensus cap ({@link maxDistributeFee} of the
 * transaction's size).
 */
export function distributeTx(r: DistributionRequest): Transaction {
  const pool = parseOutputScript(r.pool.scriptPubKey);
  if (pool.type !== "validation-pool") throw new RangeError("not a validation pool coin");
  if (r.records.length === 0) throw new RangeError("a distribution pays at least one validator");
  const k = BigInt(r.records.length);
  const each = r.fee >= 0n && r.fee <= r.pool.value ? (r.pool.value - r.fee) / k : 0n;
  const tx: Transaction = {
    version: 1,
    inputs: [spendInput(r.pool)],
    outputs: r.records.flatMap((rec) => [
      {
        value: each,
        scriptPubKey: validatorRewardScript(
          pool.jobId,
          hash160(rec.validatorKey),
          pool.clientHash,
          pool.commitment,
        ),
      },
      { value: 0n, scriptPubKey: validationRecordScript(rec) },
    ]),
    lockTime: 0,
    jobId: pool.jobId,
  };
  signDistribution(tx, r.pool, r.secretKey);
  const cap = maxDistributeFee(encodeTransaction(tx).length);
  if (r.fee < 0n || r.fee > r.pool.value || r.fee > cap) {
    throw new ValidationError(
      "job/validator-split",
      `a distribution of a pool of ${r.pool.value} pays a fee of 0..${
        r.pool.value < cap ? r.pool.value : cap
      }, not ${r.fee}`,
    );
  }
  return tx;
}

/** Signs a distribution `tx` (its input 0 spends `pool`) with `secretKey`: the DISTRIBUTE path. */
export function signDistribution(tx: Transaction, pool: JobCoin, secretKey: Uint8Array): void {
  tx.inputs[0].scriptSig = encodeSigned(
    PATH_POOL_DISTRIBUTE,
    signFirstInput(tx, pool, secretKey),
  );
}

/** A spend of `coin` by its owner's signature alone, on path `path` (`path || sig || pubkey`). */
function signedPathSpend(
  path: typeof PATH_REFUND | typeof PATH_RELEASE | typeof PATH_HELD_CLAIM,
) {
  return (coin: JobCoin, out: Payout, jobId: Uint8Array, secretKey: Uint8Array): Transaction =>
    singleInputSpend(
      coin,
      out,
      jobId,
      (tx) => encodeSigned(path, signFirstInput(tx, coin, secretKey)),
    );
}

/** The client takes an unpaid escrow back (at or after its expiry height). */
export const refundTx = signedPathSpend(PATH_REFUND);

/** The node takes its stake back (two dispute windows after the stake). */
export const releaseTx = signedPathSpend(PATH_RELEASE);

/**
 * The node takes its held reward, a validator its reward, or the executor an undistributed pool
 * (from the end of the epoch it was paid in).
 */
export const claimHeldTx = signedPathSpend(PATH_HELD_CLAIM);

/** Slashes a stake whose non-delivery claim went unanswered for the window. */
export function nonDeliveryTx(
  stake: Outpoint & { value: bigint },
  out: Payout,
  jobId: Uint8Array,
): Transaction {
  return singleInputSpend(stake, out, jobId, () => encodeBarePath(PATH_NON_DELIVERY));
}

/** Slashes a stake whose on-chain answer provably does not decrypt to the committed output. */
export function badAnswerTx(
  stake: Outpoint & { value: bigint },
  proof: BadAnswerData,
  out: Payout,
  jobId: Uint8Array,
): Transaction {
  return singleInputSpend(stake, out, jobId, () => encodeBadAnswer(proof));
}

/** The reward a fraud proof takes back beside the stake: the unpaid escrow, or the held payment. */
export type RewardCoin = Outpoint & {
  /** Value in base units. */
  value: bigint;
  /** True for a held reward (the payment was mined), false or absent for the escrow. */
  held?: boolean;
};

/**
 * The fraud proof: slashes the stake by revealing the output and naming false positions, and (when
 * given) takes the reward back beside it (the escrow on its FRAUD path, or the held payment with the
 * same proof; the held payment alone when `stake` is null, the stake being released), the
 * `validatorRewards` of the payment (the validators vouched for that output) and its undistributed
 * `pool` with the same proof; one output of everything less the fee.
 */
export function fraudProofTx(
  job: Job,
  output: { outputTokens: number[]; finishReason: "stop" | "length" },
  positions: number[],
  stake: (Outpoint & { value: bigint }) | null,
  reward: RewardCoin | null,
  out: Payout,
  validatorRewards: readonly (Outpoint & { value: bigint })[] = [],
  pool: (Outpoint & { value: bigint }) | null = null,
): Transaction {
  const held = [...validatorRewards, ...(pool ? [pool] : [])];
  if (!stake && !reward?.held && held.length === 0) {
    throw new RangeError(
      "a fraud proof spends a stake, a held reward, a validator's reward or a pool",
    );
  }
  const proof = encodeFraudProof({ job, ...output, positions });
  const inputs = stake ? [spendInput(stake, proof)] : [];
  if (reward) {
    inputs.push(spendInput(reward, reward.held ? proof : encodeBarePath(PATH_ESCROW_FRAUD)));
  }
  for (const v of held) inputs.push(spendInput(v, proof));
  const total = [stake, reward, ...held].reduce((sum, c) => sum + (c?.value ?? 0n), 0n);
  return {
    version: 1,
    inputs,
    outputs: [{ value: total - out.fee, scriptPubKey: out.payTo }],
    lockTime: 0,
    jobId: jobIdBytes(job),
  };
}

/**
 * The validation pool (0x0B) among the outputs of a payment `paymentTxid`, with its script, or null
 * (a payment without a pool).
 */
export function poolCoin(
  paymentTxid: string,
  outputs: readonly { value: bigint; scriptPubKey: Uint8Array }[],
): JobCoin | null {
  const vout = outputs.findIndex((o) => o.scriptPubKey[0] === TEMPLATE_VALIDATION_POOL);
  if (vout < 0) return null;
  const { value, scriptPubKey } = outputs[vout];
  return { txid: paymentTxid, vout, value, scriptPubKey };
}

/** The escrow output of a job: the reward, refundable to the client at the job's expiry height. */
export function escrowOutput(
  jobId: Uint8Array,
  clientHash: Uint8Array,
  expiryHeight: number,
  value: bigint,
): TxOutput {
  return { value, scriptPubKey: jobEscrowScript(jobId, clientHash, expiryHeight) };
}

/** The stake output of a node for one job, committing to its output. */
export function stakeOutput(
  jobId: Uint8Array,
  nodeHash: Uint8Array,
  clientHash: Uint8Array,
  commitment: Uint8Array,
  value: bigint,
): TxOutput {
  return { value, scriptPubKey: computeStakeScript(jobId, nodeHash, clientHash, commitment) };
}

/** A non-delivery claim output (value 0) naming a stake. */
export function claimOutput(stake: Outpoint): TxOutput {
  return {
    value: 0n,
    scriptPubKey: stakeNoticeScript(TEMPLATE_JOB_CLAIM, fromHex(stake.txid, 32), stake.vout),
  };
}

/** A claim's answer output (value 0): the stake and the output encrypted to the client. */
export function answerOutput(stake: Outpoint, ciphertext: Uint8Array): TxOutput {
  return {
    value: 0n,
    scriptPubKey: stakeNoticeScript(
      TEMPLATE_JOB_ANSWER,
      fromHex(stake.txid, 32),
      stake.vout,
      ciphertext,
    ),
  };
}

/**
 * A wallet-funded transaction of one job output (escrow, stake, claim or answer, as output 0),
 * change back to the wallet, stamped with the job id.
 */
export function fundJobOutput(
  output: TxOutput,
  jobId: Uint8Array,
  funding: Funding,
): { tx: Transaction; bytes: Uint8Array } {
  return buildSpend({ ...funding, outputs: [output], jobId });
}
