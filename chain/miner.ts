/**
 * @module The miner: builds a block template from the mempool (coinbase paying subsidy + fees) and
 * searches nonces. The nonce search is pluggable: a plain TypeScript loop here, the WASM SIMD kernel
 * in a worker pool from `compute/`.
 */

import { getLogger } from "@logtape/logtape";
import { ByteWriter } from "./bytes.ts";
import { type Block, blockMerkleRoot, encodeBlock, encodeHeader } from "./block.ts";
import { sha256d } from "./hash.ts";
import { MAX_BLOCK_SIZE } from "./params.ts";
import { bitsToTarget, hashToBigInt, targetToBytes } from "./pow.ts";
import { COINBASE_VOUT, NO_JOB, type Transaction } from "./tx.ts";
import { blockSubsidy } from "./validation.ts";
import type { ChainNode } from "./node.ts";

const log = getLogger(["camelid", "miner"]);

/**
 * Searches `count` nonces from `start` for an 80-byte header (nonce at offset 76, u32 LE) whose
 * SHA-256d, read big-endian, is at most `target` (32 bytes big-endian). Resolves the nonce or null.
 */
export type NonceSearcher = (
  header: Uint8Array,
  target: Uint8Array,
  start: number,
  count: number,
) => Promise<number | null>;

/** The plain TypeScript nonce search (the baseline the WASM kernel is measured against). */
export function searchNoncesTs(
  header: Uint8Array,
  target: Uint8Array,
  start: number,
  count: number,
): number | null {
  const h = header.slice();
  const view = new DataView(h.buffer);
  const t = hashToBigInt(target);
  for (let i = 0; i < count; i++) {
    const nonce = (start + i) >>> 0;
    view.setUint32(76, nonce, true);
    const digest = sha256d(h);
    if (digest[0] > target[0]) continue;
    if (hashToBigInt(digest) <= t) return nonce;
  }
  return null;
}

/** {@link searchNoncesTs} as an async {@link NonceSearcher}. */
export const tsSearcher: NonceSearcher = (header, target, start, count) =>
  Promise.resolve(searchNoncesTs(header, target, start, count));

/** Builds the coinbase of a block at `height`. */
export function coinbaseTransaction(
  height: number,
  value: bigint,
  payTo: Uint8Array,
  extraNonce: number,
): Transaction {
  const scriptSig = new ByteWriter(16).u32(height).u32(extraNonce).bytes(
    new TextEncoder().encode("camelid"),
  ).finish();
  return {
    version: 1,
    inputs: [{
      prevout: { txid: new Uint8Array(32), vout: COINBASE_VOUT },
      scriptSig,
      sequence: 0xffffffff,
    }],
    outputs: [{ value, scriptPubKey: payTo }],
    lockTime: 0,
    jobId: NO_JOB,
  };
}

/** Builds a block template on the current tip paying `payTo` (a scriptPubKey). */
export function createBlockTemplate(node: ChainNode, payTo: Uint8Array, extraNonce = 0): Block {
  const tip = node.tip();
  const parent = node.entry(tip.hash)!;
  const height = tip.height + 1;
  const picked = node.mempool.select(MAX_BLOCK_SIZE - 1000);
  const fees = picked.reduce((s, e) => s + e.fee, 0n);
  const coinbase = coinbaseTransaction(
    height,
    blockSubsidy(height, node.params) + fees,
    payTo,
    extraNonce,
  );
  const txs = [coinbase, ...picked.map((e) => e.tx)];
  const time = Math.max(Math.floor(Date.now() / 1000), node.medianTimePast(parent) + 1);
  return {
    header: {
      version: 1,
      prevHash: Uint8Array.from(tip.hash.match(/../g)!.map((x) => parseInt(x, 16))),
      merkleRoot: blockMerkleRoot(txs).root,
      time,
      bits: node.nextBits(parent),
      nonce: 0,
    },
    txs,
  };
}

/** Progress callback of {@link mineBlock}: hashes tried so far. */
export type MiningProgress = (hashes: number) => void;

/** Options of {@link mineBlock}. */
export interface MineOptions {
  /** Nonce search implementation. */
  searcher?: NonceSearcher;
  /** Nonces per search call (the loop yields between calls). */
  batch?: number;
  /** Abort mining (e.g. a new tip arrived). */
  signal?: AbortSignal;
  /** Progress callback. */
  onProgress?: MiningProgress;
}

/**
 * Mines one block on the current tip: searches nonces in batches, bumping the extra nonce when the
 * nonce space is exhausted. Returns the encoded block, or null when aborted or the tip changed.
 */
export async function mineBlock(
  node: ChainNode,
  payTo: Uint8Array,
  options: MineOptions = {},
): Promise<Uint8Array | null> {
  const searcher = options.searcher ?? tsSearcher;
  const batch = options.batch ?? 20_000;
  const startTip = node.tip().hash;
  let hashes = 0;
  for (let extraNonce = 0; extraNonce < 0xffffffff; extraNonce++) {
    const block = createBlockTemplate(node, payTo, extraNonce);
    const header = encodeHeader(block.header);
    const target = targetToBytes(bitsToTarget(block.header.bits));
    for (let start = 0; start <= 0xffffffff; start += batch) {
      if (options.signal?.aborted || node.tip().hash !== startTip) return null;
      const count = Math.min(batch, 0x100000000 - start);
      const nonce = await searcher(header, target, start, count);
      hashes += count;
      options.onProgress?.(hashes);
      if (nonce !== null) {
        block.header.nonce = nonce;
        log.debug("Found a block after {hashes} hashes", { hashes });
        return encodeBlock(block);
      }
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  return null;
}

/** Options of {@link startMining}. */
export interface MiningLoopOptions extends Omit<MineOptions, "signal"> {
  /** Wait until `targetSpacing` seconds after the tip before mining (dev networks, easy targets). */
  pace?: boolean;
  /** Called with each block this miner found and the node accepted. */
  onBlock?: (hash: string, height: number) => void;
}

/** A running mining loop. */
export interface MiningLoop {
  /** Stops the loop and resolves when it has stopped. */
  stop(): Promise<void>;
  /** Blocks found so far. */
  readonly found: number;
}

/** Mines continuously on the node's tip, submitting each block found to the node. */
export function startMining(
  node: ChainNode,
  payTo: Uint8Array,
  options: MiningLoopOptions = {},
): MiningLoop {
  const controller = new AbortController();
  let found = 0;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      controller.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  // Paced miners on one network would all fire at the same instant and tie forever; a random
  // delay per tip (like PoW luck) lets one of them win each round. (relay: network convergence)
  let jitterTip = "";
  let jitterMs = 0;
  const loop = (async () => {
    while (!controller.signal.aborted) {
      if (options.pace) {
        const tip = node.tip();
        if (tip.hash !== jitterTip) {
          jitterTip = tip.hash;
          jitterMs = Math.random() * node.params.targetSpacing * 1000;
        }
        const wait = (tip.time + node.params.targetSpacing) * 1000 + jitterMs - Date.now();
        if (wait > 0) {
          await sleep(Math.min(wait, 250));
          continue;
        }
      }
      try {
        const bytes = await mineBlock(node, payTo, { ...options, signal: controller.signal });
        if (!bytes) continue;
        const res = await node.processBlock(bytes);
        if (res.status === "connected") {
          found++;
          options.onBlock?.(res.hash, node.tip().height);
        }
      } catch (e) {
        log.error("Mining failed: {error}", { error: (e as Error).message });
        await sleep(1000);
      }
    }
  })();
  return {
    stop: async () => {
      controller.abort();
      await loop;
    },
    get found() {
      return found;
    },
  };
}
