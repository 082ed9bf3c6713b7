/**
 * @module Consensus rules of the validation pool (template 0x0B, issue 16): a payment may set the
 * validators' tenth aside in a pool beside the executor's held reward, and the job's client alone
 * distributes it, before the end of the payment's epoch, to the validators whose records are
 * eligible under the chain-derived weights of their sprints (the {@link WeightsOracle} user reports
 * use, gathered before the synchronous input checks).
 *
 * - PAY with a pool: outputs exactly `[held reward of the stake, pool of the same job, executor,
 *   client and commitment]`, the pool worth floor(total / 10) ({@link poolSplit}), the held reward
 *   the rest.
 * - DISTRIBUTE (`0x04 || sig 64 || pubkey 33`, the client's key; the transaction stamped with the
 *   pool's job id, `job/wrong-job-id`) before `epochEnd(pool height)` (`job/pool-closed`): the pool
 *   is its only input (`job/distribute-inputs`), so it needs no coin of the client's wallet; its
 *   outputs are k = 1..8 (validator reward, record) pairs of the pool's job, client and commitment
 *   and nothing else (`job/distribute-shape`); the pair rules of a payment
 *   (chain/validator_pairs.ts); every reward equal, every record 0, and the fee, the pool less the k
 *   rewards, between 0 and {@link MAX_DISTRIBUTE_FEE_RATE} times the transaction's size in bytes
 *   (`job/validator-split`); each record of a recent closed sprint at the spend height and eligible
 *   under that sprint's weights (chain/record_eligibility.ts; `job/validator-ineligible`); without
 *   the weights `job/no-weights`.
 * - CLAIM and FRAUD: those of a held reward (chain/spend.ts `checkHeldSpend`): the executor from the
 *   epoch end, a proven fraud proof to the client before.
 */

import { equalBytes } from "./bytes.ts";
import { ValidationError } from "./errors.ts";
import { addressFromHash } from "./keys.ts";
import { parseSigned, PATH_POOL_DISTRIBUTE } from "./job_unlock.ts";
import type { NetworkParams } from "./params.ts";
import {
  type OutputScript,
  TEMPLATE_VALIDATION_POOL,
  TEMPLATE_VALIDATION_RECORD,
  validationPoolScript,
} from "./script.ts";
import { epochEnd } from "./sprint.ts";
import { encodeTransaction, type Transaction } from "./tx.ts";
import {
  MAX_PAID_VALIDATORS,
  parseValidationRecord,
  VALIDATOR_PART_DIVISOR,
} from "./validation_record.ts";
import { recordIneligibility, recordSprintInRange } from "./record_eligibility.ts";
import { gatherSprintWeights, newestClosedSprintAt, type WeightsOracle } from "./report_rules.ts";
import {
  checkRecordsHold,
  checkValidatorPairs,
  leadingPairs,
  pairValuesAre,
} from "./validator_pairs.ts";

/**
 * The most a pool's distribution may pay as fee, base units per byte of the transaction: several
 * times the minimum relay fee (1 a byte), so a distribution always relays, and small enough that a
 * client colluding with a miner cannot hand the validators' part to the miner as fee.
 */
export const MAX_DISTRIBUTE_FEE_RATE = 10n;

/** The largest fee a distribution of `size` bytes may pay ({@link MAX_DISTRIBUTE_FEE_RATE}). */
export function maxDistributeFee(size: number): bigint {
  return MAX_DISTRIBUTE_FEE_RATE * BigInt(size);
}

/** What a DISTRIBUTE needs, gathered before the synchronous checks. */
export interface PoolContext {
  /** Weights of the recent closed sprints its records name; null when the node has no oracle. */
  weights: Map<number, ReadonlyMap<string, number>> | null;
}

/** A pool's script, decoded. */
type PoolScript = Extract<OutputScript, { type: "validation-pool" }>;

function fail(code: string, message: string): never {
  throw new ValidationError(code, message);
}

/** How a payment of `total` with a pool splits: the pool floor(total / 10), the executor the rest. */
export function poolSplit(total: bigint): { pool: bigint; executor: bigint } {
  if (total < 0n) throw new RangeError("a payment's total is not negative");
  const pool = total / VALIDATOR_PART_DIVISOR;
  return { pool, executor: total - pool };
}

/** True when `tx` has a pool payment's shape: two outputs, the second a pool (by template byte). */
export function isPoolPaymentShape(tx: Transaction): boolean {
  return tx.outputs.length === 2 && tx.outputs[1].scriptPubKey[0] === TEMPLATE_VALIDATION_POOL;
}

/**
 * Checks a payment with a pool of the job staked by `stake` (its output 0, the held reward, checked
 * by the caller): output 1 is the pool of the stake's job, executor, client and commitment
 * (`job/pay-not-held`), worth {@link poolSplit} of the payment's total, the held reward the rest
 * (`job/validator-split`).
 */
export function checkPoolPayment(
  tx: Transaction,
  index: number,
  stake: Extract<OutputScript, { type: "compute-stake" }>,
): void {
  const pool = validationPoolScript(
    stake.jobId,
    stake.nodeHash,
    stake.clientHash,
    stake.commitment,
  );
  if (!equalBytes(tx.outputs[1].scriptPubKey, pool)) {
    fail("job/pay-not-held", `input ${index}: output 1 is not the pool of the stake's job`);
  }
  const total = tx.outputs[0].value + tx.outputs[1].value;
  const split = poolSplit(total);
  if (tx.outputs[0].value !== split.executor || tx.outputs[1].value !== split.pool) {
    fail(
      "job/validator-split",
      `input ${index}: a payment of ${total} with a pool pays ${split.pool} to the pool and ` +
        `${split.executor} to the executor`,
    );
  }
}

/**
 * Gathers the pool context of `tx` at `spendHeight`: when an input spends a pool on DISTRIBUTE, the
 * weights (through `oracle`) of each recent closed sprint its records name (a sprint out of range
 * is not derived: the rule refuses its record whatever the weights). Undefined when no input
 * distributes a pool.
 */
export async function gatherPoolContext(
  tx: Transaction,
  coinScripts: (Uint8Array | undefined)[],
  spendHeight: number,
  params: NetworkParams,
  oracle: WeightsOracle | undefined,
): Promise<PoolContext | undefined> {
  const distributes = coinScripts.some((s, i) =>
    s?.[0] === TEMPLATE_VALIDATION_POOL && tx.inputs[i].scriptSig[0] === PATH_POOL_DISTRIBUTE
  );
  if (!distributes) return undefined;
  if (!oracle) return { weights: null };
  const weights = new Map<number, ReadonlyMap<string, number>>();
  const newest = newestClosedSprintAt(spendHeight, params);
  for (const out of tx.outputs) {
    if (out.scriptPubKey[0] !== TEMPLATE_VALIDATION_RECORD) continue;
    let sprint;
    try {
      sprint = parseValidationRecord(out.scriptPubKey).sprint;
    } catch {
      continue; // refused by the output checks
    }
    if (recordSprintInRange(sprint, newest)) await gatherSprintWeights(weights, sprint, oracle);
  }
  return { weights };
}

/**
 * Applies the DISTRIBUTE rules (module doc) to pool input `index` (`coin`: its value and the height
 * of its payment).
 */
export function checkPoolDistribute(
  tx: Transaction,
  index: number,
  pool: PoolScript,
  coin: { value: bigint; height: number },
  spendHeight: number,
  params: NetworkParams,
  ctx: PoolContext | undefined,
  checkSig: (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array) => void,
): void {
  if (!equalBytes(tx.jobId, pool.jobId)) {
    fail("job/wrong-job-id", `input ${index}: the transaction's job id differs from the pool's`);
  }
  const signed = parseSigned(tx.inputs[index].scriptSig, PATH_POOL_DISTRIBUTE, "pool DISTRIBUTE");
  checkSig(signed.sig, signed.pubkey, pool.clientHash);
  const until = epochEnd(params.sprint, coin.height);
  if (spendHeight >= until) {
    fail("job/pool-closed", `input ${index}: the pool was distributable until height ${until - 1}`);
  }
  if (tx.inputs.length !== 1) {
    fail(
      "job/distribute-inputs",
      `input ${index === 0 ? 1 : 0}: a distribution spends its pool and nothing else`,
    );
  }
  const k = leadingPairs(tx, 0);
  if (k < 1 || k > MAX_PAID_VALIDATORS || tx.outputs.length !== 2 * k) {
    fail(
      "job/distribute-shape",
      `input ${index}: a distribution's outputs are 1..${MAX_PAID_VALIDATORS} pairs ` +
        "(validator reward, validation record) and nothing else",
    );
  }
  const records = checkValidatorPairs(tx, index, pool, 0, k);
  const each = tx.outputs[0].value;
  const fee = coin.value - each * BigInt(k);
  const cap = maxDistributeFee(encodeTransaction(tx).length);
  if (!pairValuesAre(tx, 0, k, each) || fee < 0n || fee > cap) {
    fail(
      "job/validator-split",
      `input ${index}: a pool of ${coin.value} pays each of ${k} validators the same, 0 to each ` +
        `record, and at most ${cap} as fee (${MAX_DISTRIBUTE_FEE_RATE} a byte)`,
    );
  }
  if (!ctx?.weights) {
    fail("job/no-weights", `input ${index}: this node has no weights oracle`);
  }
  const newest = newestClosedSprintAt(spendHeight, params);
  const executor = addressFromHash(pool.nodeHash);
  for (const [j, record] of records.entries()) {
    const { sprint } = record;
    if (!recordSprintInRange(sprint, newest)) {
      fail(
        "job/validator-ineligible",
        `input ${index}: record ${2 * j + 1}'s sprint ${sprint} is not a recent closed one`,
      );
    }
    const byAddress = ctx.weights.get(sprint);
    if (!byAddress) {
      fail("job/no-weights", `input ${index}: this node has no weights of sprint ${sprint}`);
    }
    const why = recordIneligibility(record, { sprint, byAddress }, executor);
    if (why !== null) {
      fail(
        "job/validator-ineligible",
        `input ${index}: record ${2 * j + 1} is not eligible (${why})`,
      );
    }
  }
  checkRecordsHold(pool, records, index, 0);
}
