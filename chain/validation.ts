/**
 * @module Consensus checks, after Bitcoin Core's CheckTransaction, CheckBlock and ConnectBlock.
 * Every rejection is a `ValidationError` whose `code` names the broken rule.
 */

import { ValidationError } from "./errors.ts";
import { isMoneyRange } from "./amount.ts";
import { type Block, type BlockHeader, encodeBlock, headerHashBytes, merkleRoot } from "./block.ts";
import {
  encodeTransaction,
  isCoinbase,
  SighashPreimages,
  type Transaction,
  txid,
  txidBytes,
} from "./tx.ts";
import { MAX_BLOCK_SIZE, MAX_MONEY, MAX_TX_SIZE, type NetworkParams } from "./params.ts";
import { checkProofOfWork } from "./pow.ts";
import {
  parseOutputScript,
  PAY_TO_ADDRESS_SCRIPT_SIG_LENGTH,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_JOB_ESCROW,
  TEMPLATE_VALIDATION_POOL,
  TEMPLATE_VALIDATOR_REWARD,
} from "./script.ts";
import { publicKeyMatchesHash } from "./keys.ts";
import { verifySignatureCached } from "./sig_cache.ts";
import { toHex } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { INITIAL_SUBSIDY } from "./params.ts";
import { checkEscrowSpend, checkHeldSpend, checkStakeSpend, type SpendContext } from "./spend.ts";
import { PATH_HELD_REPORT, PATH_POOL_DISTRIBUTE } from "./job_unlock.ts";
import { checkPoolDistribute } from "./pool_rules.ts";
import { TEMPLATE_REPORT } from "./report.ts";
import { checkHeldReportSpend, checkReportSpend } from "./report_rules.ts";

/** An unspent output as the UTXO set holds it. */
export interface Coin {
  /** Amount. */
  value: bigint;
  /** Locking script. */
  scriptPubKey: Uint8Array;
  /** Height of the block that created it. */
  height: number;
  /** True for coinbase outputs (subject to maturity). */
  coinbase: boolean;
}

function fail(code: string, message: string): never {
  throw new ValidationError(code, message);
}

/** Block subsidy at `height`: 50 coins halving every `halvingInterval` blocks. */
export function blockSubsidy(height: number, params: NetworkParams): bigint {
  const halvings = Math.floor(height / params.halvingInterval);
  return halvings >= 64 ? 0n : INITIAL_SUBSIDY >> BigInt(halvings);
}

/** Context-free transaction checks (CheckTransaction). */
export function checkTransaction(tx: Transaction): void {
  if (tx.inputs.length === 0) fail("tx/no-inputs", "transaction has no inputs");
  if (tx.outputs.length === 0) fail("tx/no-outputs", "transaction has no outputs");
  if (encodeTransaction(tx).length > MAX_TX_SIZE) {
    fail("tx/oversize", "transaction over size limit");
  }
  let total = 0n;
  for (const [i, out] of tx.outputs.entries()) {
    if (out.value < 0n) fail("tx/negative-output", `output ${i} is negative`);
    if (out.value > MAX_MONEY) fail("tx/output-too-large", `output ${i} exceeds the money supply`);
    total += out.value;
    if (!isMoneyRange(total)) fail("tx/value-overflow", "sum of outputs exceeds the money supply");
    try {
      parseOutputScript(out.scriptPubKey);
    } catch (e) {
      fail("tx/bad-output-script", `output ${i}: ${(e as DecodeError).message}`);
    }
  }
  const seen = new Set<string>();
  for (const input of tx.inputs) {
    const key = `${toHex(input.prevout.txid)}:${input.prevout.vout}`;
    if (seen.has(key)) fail("tx/duplicate-inputs", `input ${key} is spent twice`);
    seen.add(key);
  }
  if (isCoinbase(tx)) {
    const n = tx.inputs[0].scriptSig.length;
    if (n < 4 || n > 100) {
      fail("tx/bad-coinbase-length", `coinbase scriptSig of ${n} bytes (4..100)`);
    }
  } else {
    for (const input of tx.inputs) {
      if (input.prevout.vout === 0xffffffff && input.prevout.txid.every((b) => b === 0)) {
        fail("tx/null-prevout", "non-coinbase transaction spends the null outpoint");
      }
    }
  }
}

/**
 * Checks a transaction's inputs against the coins they spend (CheckTxInputs + script checks) and
 * returns the fee. `coins[i]` is the coin input i spends, or undefined when missing or spent.
 * `verifyScripts` may be false only for transactions whose signatures were already verified.
 */
export function checkTxInputs(
  tx: Transaction,
  coins: (Coin | undefined)[],
  spendHeight: number,
  params: NetworkParams,
  verifyScripts = true,
  ctx: SpendContext = {
    stakes: new Map(),
    fraud: new Map(),
    notices: new Map(),
    badAnswers: new Map(),
  },
): bigint {
  let valueIn = 0n;
  let preimages: SighashPreimages | undefined;
  for (const [i, coin] of coins.entries()) {
    const prev = tx.inputs[i].prevout;
    if (!coin) {
      fail(
        "tx/missing-inputs",
        `input ${i} spends missing or spent output ${toHex(prev.txid)}:${prev.vout}`,
      );
    }
    if (coin.coinbase && spendHeight - coin.height < params.coinbaseMaturity) {
      fail(
        "tx/premature-coinbase-spend",
        `input ${i} spends a coinbase of height ${coin.height} at height ${spendHeight} (maturity ${params.coinbaseMaturity})`,
      );
    }
    valueIn += coin.value;
    if (!isMoneyRange(coin.value) || !isMoneyRange(valueIn)) {
      fail("tx/input-value-overflow", "input values out of range");
    }
    if (verifyScripts) {
      preimages ??= new SighashPreimages(tx);
      verifyInputScript(tx, i, coin, spendHeight, params, ctx, coins, preimages);
    }
  }
  const valueOut = tx.outputs.reduce((s, o) => s + o.value, 0n);
  if (valueIn < valueOut) {
    fail("tx/in-below-out", `inputs ${valueIn} are less than outputs ${valueOut}`);
  }
  return valueIn - valueOut;
}

/** Verifies a signature by `pubkey` over input `index`'s signature hash, and that the key hashes to `keyHash`. */
function signatureChecker(preimages: SighashPreimages, index: number, coin: Coin) {
  return (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array): void => {
    if (!publicKeyMatchesHash(pubkey, keyHash)) {
      fail("tx/wrong-key", `input ${index}: public key does not match the locking key`);
    }
    if (!verifySignatureCached(sig, preimages.of(index, coin), pubkey)) {
      fail("tx/bad-signature", `input ${index}: signature does not verify`);
    }
  };
}

/** Checks input `index`'s unlocking data against the coin it spends, by the coin's template. */
export function verifyInputScript(
  tx: Transaction,
  index: number,
  coin: Coin,
  spendHeight: number,
  params: NetworkParams,
  ctx: SpendContext,
  coins: (Coin | undefined)[],
  preimages: SighashPreimages = new SighashPreimages(tx),
): void {
  let script;
  try {
    script = parseOutputScript(coin.scriptPubKey);
  } catch (e) {
    fail("tx/bad-spent-script", `input ${index}: ${(e as Error).message}`);
  }
  const checkSig = signatureChecker(preimages, index, coin);
  const window = params.jobs.disputeWindow;
  switch (script.type) {
    case "pay-to-address": {
      const sig = tx.inputs[index].scriptSig;
      if (sig.length !== PAY_TO_ADDRESS_SCRIPT_SIG_LENGTH) {
        fail(
          "tx/bad-script-sig",
          `input ${index}: scriptSig must be 97 bytes (signature || public key)`,
        );
      }
      return checkSig(sig.subarray(0, 64), sig.subarray(64), script.pubKeyHash);
    }
    case "job-escrow":
      return checkEscrowSpend(
        tx,
        index,
        script,
        spendHeight,
        window,
        ctx,
        checkSig,
        coins.map((c) => c?.scriptPubKey ?? new Uint8Array(0)),
      );
    case "compute-stake":
      return checkStakeSpend(tx, index, script, coin.height, spendHeight, window, ctx, checkSig);
    case "held-reward":
    case "validator-reward":
    case "validation-pool": {
      const path = tx.inputs[index].scriptSig[0];
      if (script.type === "validation-pool" && path === PATH_POOL_DISTRIBUTE) {
        return checkPoolDistribute(
          tx,
          index,
          script,
          coin,
          spendHeight,
          params,
          ctx.pool,
          checkSig,
        );
      }
      if (script.type !== "validation-pool" && path === PATH_HELD_REPORT) {
        const heights = { coin: coin.height, spend: spendHeight };
        return checkHeldReportSpend(tx, index, script, heights, params, ctx.report, checkSig);
      }
      return checkHeldSpend(
        tx,
        index,
        script,
        coin.height,
        spendHeight,
        params.sprint,
        ctx,
        checkSig,
      );
    }
    case "report":
      return checkReportSpend(tx, index, script, coin, spendHeight, params, ctx.report, checkSig);
    default:
      fail("tx/unspendable", `input ${index} spends an unspendable output`);
  }
}

/**
 * True when `script` can be spent: pay-to-address, escrow, stake, held reward, validator reward,
 * validation pool and report bond (not data, claims, answers, sprint proofs, validation records:
 * those never enter the UTXO set).
 */
export function isSpendableScript(script: Uint8Array): boolean {
  try {
    const type = parseOutputScript(script).type;
    return type === "pay-to-address" || type === "job-escrow" || type === "compute-stake" ||
      type === "held-reward" || type === "validator-reward" || type === "validation-pool" ||
      type === "report";
  } catch {
    return false;
  }
}

/** Templates of the coins whose spends are always fully checked. */
const JOB_TEMPLATES = new Set([
  TEMPLATE_JOB_ESCROW,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_VALIDATOR_REWARD,
  TEMPLATE_VALIDATION_POOL,
  TEMPLATE_REPORT,
]);

/**
 * True when any input spends a job template (escrow, stake, held reward, validator reward,
 * validation pool or report bond): such inputs are always fully checked.
 */
export function spendsJobTemplate(coins: (Coin | undefined)[]): boolean {
  return coins.some((c) => c !== undefined && JOB_TEMPLATES.has(c.scriptPubKey[0]));
}

/** Lock-time check (IsFinalTx): a transaction with a lock time enters only blocks above it. */
export function checkFinalTx(tx: Transaction, height: number): void {
  if (tx.lockTime !== 0 && tx.lockTime >= height) {
    fail("tx/non-final", `transaction ${txid(tx)} is locked until height ${tx.lockTime}`);
  }
}

/**
 * Context-free block checks (CheckBlock): size, proof of work, Merkle root, coinbase placement.
 * Returns the block's txids (hex, in order), each hashed once here, for the caller to pass on. A
 * caller that decoded the block from bytes passes their length as `size` (strict decoding makes it
 * the length of the block's encoding); without it the block is encoded again to measure it.
 */
export function checkBlock(
  block: Block,
  params: NetworkParams,
  size: number = encodeBlock(block).length,
): string[] {
  if (!checkProofOfWork(headerHashBytes(block.header), block.header.bits, params.powLimitBits)) {
    fail("block/high-hash", "proof of work does not meet the target");
  }
  if (block.txs.length === 0) fail("block/no-transactions", "block has no transactions");
  if (size > MAX_BLOCK_SIZE) fail("block/oversize", "block over size limit");
  const txids = block.txs.map(txidBytes);
  const merkle = merkleRoot(txids);
  if (merkle.mutated) fail("block/mutated", "Merkle tree has a duplicated pair (CVE-2012-2459)");
  if (toHex(merkle.root) !== toHex(block.header.merkleRoot)) {
    fail("block/bad-merkle-root", "Merkle root mismatch");
  }
  if (!isCoinbase(block.txs[0])) {
    fail("block/first-not-coinbase", "first transaction is not a coinbase");
  }
  const ids = txids.map(toHex);
  const seen = new Set<string>();
  for (const [i, tx] of block.txs.entries()) {
    if (i > 0 && isCoinbase(tx)) {
      fail("block/multiple-coinbase", `transaction ${i} is a second coinbase`);
    }
    checkTransaction(tx);
    const id = ids[i];
    if (seen.has(id)) fail("block/duplicate-tx", `transaction ${id} appears twice`);
    seen.add(id);
  }
  return ids;
}

/** Header checks that need the chain: expected bits, median time past, future limit. */
export function checkHeaderContext(
  header: BlockHeader,
  expectedBits: number,
  medianTimePast: number,
  now: number,
  params: NetworkParams,
): void {
  if (header.bits !== expectedBits) {
    fail(
      "block/bad-diffbits",
      `bits 0x${header.bits.toString(16)}, expected 0x${expectedBits.toString(16)}`,
    );
  }
  if (header.time <= medianTimePast) {
    fail(
      "block/time-too-old",
      `time ${header.time} is not after the median time past ${medianTimePast}`,
    );
  }
  if (header.time > now + params.maxFutureBlockTime) {
    fail(
      "block/time-too-new",
      `time ${header.time} is more than ${params.maxFutureBlockTime}s in the future`,
    );
  }
}

/** The height a coinbase commits to (its scriptSig's first 4 bytes, u32 little-endian). */
export function coinbaseHeight(coinbase: Transaction): number {
  const s = coinbase.inputs[0].scriptSig;
  return new DataView(s.buffer, s.byteOffset, 4).getUint32(0, true);
}
