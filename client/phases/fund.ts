/**
 * @module The client's wallet-funded job outputs (escrow, claim): coins chosen and the transaction
 * broadcast with the wallet's coins reserved (the session's spend lock), so processes sharing one
 * wallet never build two spends of one coin; a coin another spender took first (`mempool/conflict`)
 * is left out and the spend rebuilt from the others.
 */

import { CamelidError } from "../../chain/errors.ts";
import { fundJobOutput } from "../../chain/job_tx.ts";
import type { TxOutput } from "../../chain/tx.ts";
import type { WalletUtxo } from "../../chain/wallet.ts";
import type { JobSession } from "../job_session.ts";

/** Rebuilds after a conflict at most this many times. */
export const MAX_CONFLICT_RETRIES = 3;

/** Funds `output` of job `jobId` from the client's coins and broadcasts it; returns txid and bytes. */
export async function fundAndSend(
  s: JobSession,
  output: TxOutput,
  jobId: Uint8Array,
): Promise<{ txid: string; bytes: Uint8Array }> {
  const sent = await fundAndSendBuilt(s, () => Promise.resolve({ output, jobId, built: null }));
  return { txid: sent.txid, bytes: sent.bytes };
}

/** A job output to fund, built under the spend lock, with what the builder made beside it. */
export interface BuiltOutput<T> {
  /** The output to fund. */
  output: TxOutput;
  /** The job id the transaction is stamped with. */
  jobId: Uint8Array;
  /** What the builder returns beside them (e.g. the job). */
  built: T;
}

/**
 * Like {@link fundAndSend}, but the output is built by `build` once the spend lock is held: what
 * depends on the chain's height (an escrow's expiry counts from it) is read when the coins are
 * chosen, not before a wait behind the wallet's other spends.
 */
export async function fundAndSendBuilt<T>(
  s: JobSession,
  build: () => Promise<BuiltOutput<T>>,
): Promise<{ txid: string; bytes: Uint8Array } & BuiltOutput<T>> {
  return await withSpendLock(s, async () => {
    const { output, jobId, built } = await build();
    const sent = await sendFromWallet(
      s,
      (utxos) => fundJobOutput(output, jobId, { utxos, secretKey: s.secretKey, fee: s.fee }).bytes,
    );
    return { txid: sent.txid, bytes: sent.bytes, output, jobId, built };
  });
}

/** Runs `spend` with the wallet's coins reserved (the session's spend lock, when it has one). */
export async function withSpendLock<T>(s: JobSession, spend: () => Promise<T>): Promise<T> {
  return await (s.spendLock ? s.spendLock(spend) : spend());
}

/**
 * Broadcasts the transaction `build` makes from the client's spendable coins; a coin another
 * spender took first (`mempool/conflict`) is left out by rebuilding from the coins then spendable,
 * at most {@link MAX_CONFLICT_RETRIES} times. Call it under the spend lock ({@link withSpendLock}).
 * Returns the node's answer (`orphan`: it holds the transaction until its missing parents come) and
 * the bytes sent.
 */
export async function sendFromWallet(
  s: JobSession,
  build: (utxos: WalletUtxo[]) => Uint8Array,
): Promise<{ txid: string; status?: "mempool" | "orphan"; bytes: Uint8Array }> {
  for (let attempt = 0;; attempt++) {
    const bytes = build(await s.node.spendableCoins(s.address));
    try {
      return { ...await s.node.sendTx(bytes), bytes };
    } catch (e) {
      const conflict = e instanceof CamelidError && e.code === "mempool/conflict";
      if (!conflict || attempt >= MAX_CONFLICT_RETRIES) throw e;
    }
  }
}
