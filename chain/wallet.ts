/** @module Building and signing payments from a wallet's unspent outputs (coin selection, change). */

import { formatCoins } from "./amount.ts";
import { ValidationError } from "./errors.ts";
import { addressFromPublicKey, publicKeyOf } from "./keys.ts";
import { parseOutputScript, payToAddressScript } from "./script.ts";
import {
  encodeTransaction,
  NO_JOB,
  signPayToAddressInput,
  spendInput,
  type Transaction,
} from "./tx.ts";

/** A spendable output as a wallet sees it. */
export interface WalletUtxo {
  /** Txid (hex). */
  txid: string;
  /** Output index. */
  vout: number;
  /** Value in base units. */
  value: bigint;
  /** Locking script. */
  scriptPubKey: Uint8Array;
}

/** What to pay. */
export interface PaymentRequest {
  /** Candidate outputs owned by `secretKey`. */
  utxos: WalletUtxo[];
  /** Owner's secret key. */
  secretKey: Uint8Array;
  /** Recipient address. */
  to: string;
  /** Amount in base units. */
  amount: bigint;
  /** Fee in base units. */
  fee: bigint;
  /** Job id to stamp on the transaction (defaults to none). */
  jobId?: Uint8Array;
}

/** What to spend: any outputs, funded from the wallet's outputs with change back to the sender. */
export interface SpendRequest {
  /** Candidate outputs owned by `secretKey`. */
  utxos: WalletUtxo[];
  /** Owner's secret key. */
  secretKey: Uint8Array;
  /** Outputs to create (before change). */
  outputs: { value: bigint; scriptPubKey: Uint8Array }[];
  /** Fee in base units. */
  fee: bigint;
  /** Job id to stamp on the transaction (defaults to none). */
  jobId?: Uint8Array;
}

/**
 * Picks outputs (largest first) to cover the outputs + fee, returns change to the sender's address,
 * and signs every input. Throws `ValidationError` `wallet/insufficient-funds`, and
 * `wallet/not-wallet-coin` for a candidate that is not a pay-to-address output (a held reward, say:
 * the node claims it on its own path at the end of its epoch, docs/protocol.md "Held rewards").
 */
export function buildSpend(req: SpendRequest): { tx: Transaction; bytes: Uint8Array } {
  if (req.outputs.length === 0 || req.outputs.some((o) => o.value < 0n)) {
    throw new RangeError("amounts must not be negative");
  }
  for (const u of req.utxos) requireWalletCoin(u);
  if (req.fee < 0n) throw new RangeError("fee must not be negative");
  const need = req.outputs.reduce((s, o) => s + o.value, 0n) + req.fee;
  const sorted = [...req.utxos].sort((
    a,
    b,
  ) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
  const chosen: WalletUtxo[] = [];
  let total = 0n;
  for (const u of sorted) {
    if (total >= need) break;
    chosen.push(u);
    total += u.value;
  }
  if (total < need) {
    throw new ValidationError(
      "wallet/insufficient-funds",
      `spendable balance ${formatCoins(total)} CML is below amount + fee ${formatCoins(need)} CML`,
    );
  }
  const change = total - need;
  const from = addressFromPublicKey(publicKeyOf(req.secretKey));
  const tx: Transaction = {
    version: 1,
    inputs: chosen.map((u) => spendInput(u)),
    outputs: req.outputs.map((o) => ({ value: o.value, scriptPubKey: o.scriptPubKey })),
    lockTime: 0,
    jobId: req.jobId ?? NO_JOB,
  };
  if (change > 0n) tx.outputs.push({ value: change, scriptPubKey: payToAddressScript(from) });
  chosen.forEach((u, i) =>
    signPayToAddressInput(tx, i, { value: u.value, scriptPubKey: u.scriptPubKey }, req.secretKey)
  );
  return { tx, bytes: encodeTransaction(tx) };
}

/** Throws `ValidationError` `wallet/not-wallet-coin` unless `u` pays to an address. */
function requireWalletCoin(u: WalletUtxo): void {
  let type: string;
  try {
    type = parseOutputScript(u.scriptPubKey).type;
  } catch {
    type = "malformed";
  }
  if (type !== "pay-to-address") {
    throw new ValidationError(
      "wallet/not-wallet-coin",
      `${u.txid}:${u.vout} is a ${type} output, not a wallet coin` +
        (type === "held-reward" ? " (a held reward is claimed on its own path)" : ""),
    );
  }
}

/** Pays `amount` to an address (see {@link buildSpend}). */
export function buildPayment(req: PaymentRequest): { tx: Transaction; bytes: Uint8Array } {
  if (req.amount <= 0n) throw new RangeError("amount must be positive");
  return buildSpend({
    ...req,
    outputs: [{ value: req.amount, scriptPubKey: payToAddressScript(req.to) }],
  });
}
