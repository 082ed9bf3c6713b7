/**
 * @module Builders of user report transactions (chain/report.ts bytes, chain/report_rules.ts rules):
 * the client's bond, the resolution on the validators' records (the bond to the validators, and on
 * a confirmed report the held reward to the client), and the executor's expiry of a bond left
 * unresolved.
 */

import { publicKeyOf, signDigest } from "./keys.ts";
import { encodeSigned, PATH_HELD_REPORT } from "./job_unlock.ts";
import {
  type Funding,
  fundJobOutput,
  type JobCoin,
  type Payout,
  signFirstInput,
  singleInputSpend,
} from "./job_tx.ts";
import { encodeVotes, PATH_REPORT_EXPIRE, type ReportOutput, reportScript } from "./report.ts";
import { payToHashScript } from "./script.ts";
import { hash160 } from "./hash.ts";
import {
  signatureHash,
  signPayToAddressInput,
  spendInput,
  type Transaction,
  type TxOutput,
} from "./tx.ts";
import type { ValidationRecord } from "./validation_record.ts";
import type { WalletUtxo } from "./wallet.ts";
import { ValidationError } from "./errors.ts";

/** The report output (the bond of `value`) accusing `report.held` under `report.sprint`'s weights. */
export function reportOutput(report: ReportOutput, value: bigint): TxOutput {
  return { value, scriptPubKey: reportScript(report) };
}

/** The client's bond: its wallet funds the report output (output 0), stamped with the job id. */
export function reportBondTx(
  report: ReportOutput,
  bond: bigint,
  jobId: Uint8Array,
  funding: Funding,
): { tx: Transaction; bytes: Uint8Array } {
  return fundJobOutput(reportOutput(report, bond), jobId, funding);
}

/** What the client's resolution of a report spends. */
export interface ResolutionRequest {
  /** The bond (report output). */
  bond: JobCoin;
  /** The validators' records (1..16), in the order their payments are written. */
  records: readonly ValidationRecord[];
  /** The held reward, spent on REPORT: given when the fraud votes hold the majority. */
  held: JobCoin | null;
  /** The job id. */
  jobId: Uint8Array;
  /** The client's secret key (signs the REPORT path and its wallet coins; takes the change). */
  secretKey: Uint8Array;
  /** The client's coins, used for the fee where the bond's remainder and the reward fall short. */
  utxos: readonly WalletUtxo[];
  /** Miner fee. */
  fee: bigint;
}

/**
 * The resolution: the bond on VOTES, paying each record's key floor(bond / k) (outputs 0..k-1); the
 * held reward on REPORT when given; wallet coins (largest first) where the fee needs them, and at
 * least one without the reward (the client's signature authorises the resolution); the rest to the
 * client. Throws `wallet/insufficient-funds` when the fee cannot be met.
 */
export function reportResolutionTx(r: ResolutionRequest): Transaction {
  const k = BigInt(r.records.length);
  const each = r.bond.value / k;
  const outputs: TxOutput[] = r.records.map((rec) => ({
    value: each,
    scriptPubKey: payToHashScript(hash160(rec.validatorKey)),
  }));
  let available = r.bond.value - each * k + (r.held?.value ?? 0n);
  const spent: (JobCoin | WalletUtxo)[] = [r.bond, ...(r.held ? [r.held] : [])];
  for (const u of [...r.utxos].sort((a, b) => (b.value > a.value ? 1 : -1))) {
    // The client signs: the REPORT input, or at least one coin of its own.
    if (available >= r.fee && spent.length > 1) break;
    spent.push(u);
    available += u.value;
  }
  if (available < r.fee || spent.length < 2) {
    throw new ValidationError(
      "wallet/insufficient-funds",
      `the report's resolution needs a fee of ${r.fee} and finds ${available}`,
    );
  }
  const change = available - r.fee;
  const client = payToHashScript(hash160(publicKeyOf(r.secretKey)));
  if (change > 0n) outputs.push({ value: change, scriptPubKey: client });
  const tx: Transaction = {
    version: 1,
    inputs: spent.map((c) => spendInput(c)),
    outputs,
    lockTime: 0,
    jobId: r.jobId,
  };
  tx.inputs[0].scriptSig = encodeVotes(r.records);
  for (const [i, c] of spent.entries()) {
    if (i === 0) continue;
    if (r.held && i === 1) {
      const sig = signDigest(signatureHash(tx, i, c), r.secretKey);
      tx.inputs[i].scriptSig = encodeSigned(PATH_HELD_REPORT, {
        sig,
        pubkey: publicKeyOf(r.secretKey),
      });
    } else {
      signPayToAddressInput(tx, i, c, r.secretKey);
    }
  }
  return tx;
}

/** The executor takes a bond left unresolved past the report window (its node key signs). */
export function expireReportTx(
  bond: JobCoin,
  out: Payout,
  jobId: Uint8Array,
  secretKey: Uint8Array,
): Transaction {
  return singleInputSpend(
    bond,
    out,
    jobId,
    (tx) => encodeSigned(PATH_REPORT_EXPIRE, signFirstInput(tx, bond, secretKey)),
  );
}
