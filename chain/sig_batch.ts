/**
 * @module Batch signature checks ahead of validation: the pay-to-address signatures of a block
 * (or any list of transactions) are verified together on the verify pool and the valid ones go
 * into the signature cache, where input validation then finds them. Nothing here decides
 * validity: a signature that fails is simply not cached, and validation checks it again and
 * rejects with its own error code. Escrow and stake spends are left to validation.
 */

import { toHex } from "./bytes.ts";
import {
  decodeTransaction,
  isCoinbase,
  SighashPreimages,
  type SpentOutput,
  type Transaction,
  txid,
} from "./tx.ts";
import { decodeBlock } from "./block.ts";
import { PAY_TO_ADDRESS_SCRIPT_SIG_LENGTH, TEMPLATE_PAY_TO_ADDRESS } from "./script.ts";
import { type SignatureCache, signatureCache } from "./sig_cache.ts";
import { defaultVerifyPool, type SignatureCheck, type VerifyPool } from "./verify_pool.ts";
import { defaultSignatureBatcher } from "./verify_batcher.ts";

/** Reads the outputs that outpoints name (undefined where missing), in order, in one batch. */
export type SpentOutputReader = (
  outpoints: { txid: string; vout: number }[],
) => Promise<(SpentOutput | undefined)[]>;

/** The checks of `tx`'s pay-to-address inputs; `spent[i]` is what input i spends. */
export function payToAddressChecks(
  tx: Transaction,
  spent: readonly (SpentOutput | undefined)[],
): SignatureCheck[] {
  const checks: SignatureCheck[] = [];
  let preimages: SighashPreimages | undefined;
  tx.inputs.forEach((input, i) => {
    const coin = spent[i];
    const script = coin?.scriptPubKey;
    if (!coin || script?.length !== 21 || script[0] !== TEMPLATE_PAY_TO_ADDRESS) return;
    if (input.scriptSig.length !== PAY_TO_ADDRESS_SCRIPT_SIG_LENGTH) return;
    checks.push({
      signature: input.scriptSig.subarray(0, 64),
      publicKey: input.scriptSig.subarray(64),
      preimage: (preimages ??= new SighashPreimages(tx)).of(i, coin),
    });
  });
  return checks;
}

/**
 * The pay-to-address checks of every non-coinbase transaction in `txs` that `skip` does not name
 * (by txid), reading the spent outputs not created earlier in the list with one call to `read`
 * (none when nothing is left to read).
 */
export async function transactionChecks(
  txs: readonly Transaction[],
  read: SpentOutputReader,
  skip: (txid: string) => boolean = () => false,
): Promise<SignatureCheck[]> {
  const created = new Map<string, SpentOutput>();
  const outside: { txid: string; vout: number }[] = [];
  const ids = txs.map((tx) => txid(tx));
  const wanted = new Set(txs.filter((tx, t) => !isCoinbase(tx) && !skip(ids[t])));
  const keyOf = ({ prevout }: { prevout: { txid: Uint8Array; vout: number } }) =>
    `${toHex(prevout.txid)}:${prevout.vout}`;
  txs.forEach((tx, t) => {
    if (wanted.has(tx)) {
      for (const input of tx.inputs) {
        if (!created.has(keyOf(input))) {
          outside.push({ txid: toHex(input.prevout.txid), vout: input.prevout.vout });
        }
      }
    }
    tx.outputs.forEach((out, vout) => created.set(`${ids[t]}:${vout}`, out));
  });
  const stored = outside.length > 0 ? await read(outside) : [];
  const found = new Map(outside.map((o, i) => [`${o.txid}:${o.vout}`, stored[i]]));
  return [...wanted].flatMap((tx) =>
    payToAddressChecks(tx, tx.inputs.map((i) => found.get(keyOf(i)) ?? created.get(keyOf(i))))
  );
}

/** Anything that verifies a batch of checks: a {@link VerifyPool} or a SignatureBatcher. */
export interface BatchVerifier {
  /** Verdicts on `checks`, in order. */
  verifyBatch(checks: readonly SignatureCheck[]): Promise<boolean[]>;
}

/**
 * Verifies with `verifier` the checks `cache` does not hold and records those that verify; returns
 * how many were sent.
 */
export async function warmSignatureCache(
  checks: readonly SignatureCheck[],
  verifier: BatchVerifier = defaultVerifyPool(),
  cache: SignatureCache = signatureCache,
): Promise<number> {
  const todo = checks.filter((c) => !cache.has(c.signature, c.preimage, c.publicKey));
  if (todo.length === 0) return 0;
  const verdicts = await verifier.verifyBatch(todo);
  todo.forEach((c, i) => verdicts[i] && cache.add(c.signature, c.preimage, c.publicKey));
  return todo.length;
}

/**
 * Workers a pool needs before checking a block ahead pays: the second read of its spent outputs,
 * building the checks and the round trips cost about what splitting the verifies over two workers
 * saves (docs/benchmarks.md, Signatures: a 400-transaction block on 2 workers connected in 193 ms
 * against 183 ms without, on a quiet machine; 337 against 259 ms under load).
 */
export const PREVALIDATE_MIN_WORKERS = 4;

/** Options of {@link prevalidateBlockSignatures}. */
export interface PrevalidateOptions {
  /** Transactions to leave out, by txid (say, those in the mempool, whose signatures are cached). */
  skip?: (txid: string) => boolean;
  /** The pool (default: the process-wide one). */
  pool?: VerifyPool;
  /** Do nothing when the pool has fewer workers (default {@link PREVALIDATE_MIN_WORKERS}). */
  minWorkers?: number;
}

/**
 * Before a block is validated (outside the node's lock): verifies its pay-to-address signatures on
 * the verify pool, spent outputs read with `read`, so that validation finds them cached. Does
 * nothing on a pool smaller than `minWorkers`. Never rejects: malformed bytes and failures are
 * left to validation; this decides nothing.
 */
export function prevalidateBlockSignatures(
  bytes: Uint8Array,
  read: SpentOutputReader,
  options: PrevalidateOptions = {},
): Promise<void> {
  const pool = options.pool ?? defaultVerifyPool();
  if (pool.size < (options.minWorkers ?? PREVALIDATE_MIN_WORKERS)) return Promise.resolve();
  return prevalidate(() => decodeBlock(bytes).txs, read, pool, options.skip);
}

/**
 * Before a transaction is admitted (outside the node's lock): verifies its pay-to-address
 * signatures whose spent outputs `read` finds, batched with concurrent admissions on the
 * process-wide pool. Malformed bytes are left for validation to reject; this decides nothing.
 */
export function prevalidateTxSignatures(
  bytes: Uint8Array,
  read: SpentOutputReader,
): Promise<void> {
  return prevalidate(() => [decodeTransaction(bytes)], read, defaultSignatureBatcher());
}

/**
 * Warms the cache for the transactions `decode` gives. Never rejects: malformed bytes, a failed
 * read or a failed worker only leave the signatures to validation, which decides.
 */
async function prevalidate(
  decode: () => readonly Transaction[],
  read: SpentOutputReader,
  verifier: BatchVerifier,
  skip?: (txid: string) => boolean,
): Promise<void> {
  try {
    await warmSignatureCache(await transactionChecks(decode(), read, skip), verifier);
  } catch {
    // Nothing decided here: validation checks every signature the cache lacks.
  }
}
