/**
 * @module Which blocks off the active chain are worth keeping, after Bitcoin Core's anti-DoS work
 * threshold: a block whose chain work is more than {@link SIDE_WORK_DEPTH} tip blocks' worth below the
 * tip is not stored; stored side blocks whose branch fell that far behind, and invalid ones, are
 * pruned; and the bytes of side blocks are bounded, the lowest-work branch tips going first.
 */

import type { BlockIndex, IndexEntry } from "./block_index.ts";
import { CHUNK_SIZE } from "./kv_batch.ts";
import { blockWork } from "./pow.ts";

/** Blocks' worth of work below the tip under which a branch no longer counts (Core: 144). */
export const SIDE_WORK_DEPTH = 144;
/** Default bound on the bytes of stored side blocks. */
export const DEFAULT_SIDE_BLOCK_BYTES = 16_000_000;

/** The least chain work a stored block needs: the tip's, less {@link SIDE_WORK_DEPTH} blocks' worth. */
export function workThreshold(tip: IndexEntry): bigint {
  return tip.work - BigInt(SIDE_WORK_DEPTH) * blockWork(tip.bits);
}

/** Bytes a block takes in the store (its size, or its chunks for entries stored without one). */
export function storedBytes(e: IndexEntry): number {
  return e.size ?? e.chunks * CHUNK_SIZE;
}

/**
 * Side blocks to prune, children before parents: every invalid block, then branch tips (blocks with
 * no stored child) below the {@link workThreshold}, then while the side blocks left exceed `budget`
 * bytes the branch tip with the least work (on equal work the later one).
 */
export function sideBlocksToPrune(index: BlockIndex, budget: number): IndexEntry[] {
  const threshold = workThreshold(index.tip());
  const side = new Map<string, IndexEntry>();
  const prune: IndexEntry[] = [];
  for (const e of index.entries()) {
    if (index.isActive(e.hash)) continue;
    if (e.invalid) prune.push(e);
    else side.set(e.hash, e);
  }
  // Invalid blocks only have invalid descendants: deepest first keeps children before parents.
  prune.sort((a, b) => b.height - a.height);
  const childCount = new Map<string, number>();
  for (const e of side.values()) childCount.set(e.prev, (childCount.get(e.prev) ?? 0) + 1);
  let bytes = 0;
  for (const e of side.values()) bytes += storedBytes(e);
  const drop = (e: IndexEntry) => {
    side.delete(e.hash);
    childCount.set(e.prev, childCount.get(e.prev)! - 1);
    bytes -= storedBytes(e);
    prune.push(e);
  };
  const tips = () => [...side.values()].filter((e) => !childCount.get(e.hash));
  for (let low = tips().filter((e) => e.work < threshold); low.length;) {
    low.forEach(drop);
    low = tips().filter((e) => e.work < threshold);
  }
  while (bytes > budget && side.size) {
    let worst: IndexEntry | undefined;
    for (const e of tips()) if (!worst || e.work <= worst.work) worst = e;
    drop(worst!);
  }
  return prune;
}
