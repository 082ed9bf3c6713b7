/**
 * @module A job that failed after its escrow was published: the error keeps the cause's code and
 * adds the escrow, its expiry height and whether the payment was sent, so the caller can say when and
 * how the escrow can be refunded (or refund it itself at expiry).
 */

import { formatCoins } from "../chain/amount.ts";
import { CamelidError } from "../chain/errors.ts";
import type { NetworkParams } from "../chain/params.ts";

/** The escrow of a failed job and when it refunds. */
export interface EscrowAtRisk {
  /** The escrow output. */
  escrow: { txid: string; vout: number; value: bigint };
  /** Height from which the REFUND path is valid. */
  expiryHeight: number;
  /** Whether the client had sent its payment (then the node may still collect it, and no refund). */
  paymentSent: boolean;
}

/** A job failure after the escrow was published; `code` is the cause's (`job/failed` if none). */
export class JobFailedError extends CamelidError {
  /** The escrow and when it refunds. */
  readonly atRisk: EscrowAtRisk;
  /** Wraps `cause` with the escrow of the failed job. */
  constructor(cause: unknown, atRisk: EscrowAtRisk) {
    const code = cause instanceof CamelidError ? cause.code : "job/failed";
    super(code, cause instanceof Error ? cause.message : String(cause), { cause });
    this.atRisk = atRisk;
  }
}

/**
 * What the user can do about the escrow of a failed job, in words: its outpoint and value, the height
 * it refunds at (about how long from `tip`), and the command; or that the node may still be paid.
 */
export function refundAdvice(a: EscrowAtRisk, tip: number, params: NetworkParams): string {
  const outpoint = `${a.escrow.txid}:${a.escrow.vout}`;
  const blocks = Math.max(0, a.expiryHeight - (tip + 1));
  const when = blocks === 0
    ? "now"
    : `at height ${a.expiryHeight} (${blocks} block(s) from now, about ${
      Math.ceil((blocks * params.targetSpacing) / 60)
    } min)`;
  const how = `main.ts job refund --escrow ${outpoint} (or rerun with --refund-on-failure)`;
  return a.paymentSent
    ? `escrow ${outpoint} (${
      formatCoins(a.escrow.value)
    } coins): the payment was sent, so the node ` +
      `may still collect it; if nothing spends the escrow, it refunds ${when}: ${how}`
    : `escrow ${outpoint} (${
      formatCoins(a.escrow.value)
    } coins) is unpaid and refunds ${when}: ${how}`;
}
