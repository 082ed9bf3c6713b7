/**
 * @module Test material for side-block attacks (issue 11 item 6): transactions of about 97 kB that
 * spend outputs which do not exist, and solved blocks carrying them on any parent.
 */

import type { BlockHeader } from "../chain/block.ts";
import { coinbaseTransaction } from "../chain/miner.ts";
import { blockSubsidy } from "../chain/validation.ts";
import type { NetworkParams } from "../chain/params.ts";
import { NO_JOB, type Transaction } from "../chain/tx.ts";
import { solve, type TestKey } from "./chain_helpers.ts";

/** A transaction of about 97 kB spending 700 outputs that do not exist. */
export function junkTx(): Transaction {
  return {
    version: 1,
    inputs: Array.from({ length: 700 }, () => ({
      prevout: { txid: crypto.getRandomValues(new Uint8Array(32)), vout: 0 },
      scriptSig: crypto.getRandomValues(new Uint8Array(97)),
      sequence: 0xffffffff,
    })),
    outputs: [{ value: 1n, scriptPubKey: new Uint8Array(21).fill(1, 0, 1) }],
    lockTime: 0,
    jobId: NO_JOB,
  };
}

/** What a child block needs to know of its parent. */
export interface ParentInfo {
  /** Parent hash (32 bytes). */
  hash: Uint8Array;
  /** Parent height. */
  height: number;
  /** Bits the child must carry. */
  bits: number;
  /** Least time the child may carry (above the median time past). */
  minTime: number;
}

/** A solved block on `parent` paying the subsidy to `to` (coinbase extra nonce `n`), carrying `txs`. */
export function blockOn(
  params: NetworkParams,
  parent: ParentInfo,
  to: TestKey,
  txs: Transaction[],
  n: number,
): Uint8Array {
  const height = parent.height + 1;
  const header: BlockHeader = {
    version: 1,
    prevHash: parent.hash,
    merkleRoot: new Uint8Array(32),
    time: Math.max(Math.floor(Date.now() / 1000), parent.minTime),
    bits: parent.bits,
    nonce: 0,
  };
  const coinbase = coinbaseTransaction(height, blockSubsidy(height, params), to.script, n);
  return solve({ header, txs: [coinbase, ...txs] });
}
