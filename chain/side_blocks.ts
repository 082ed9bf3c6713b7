/**
 * @module Which blocks off the active chain are worth keeping, after Bitcoin Core's anti-DoS work
 * threshold: a block whose chain work is more than {@link SIDE_WORK_DEPTH} tip blocks' worth below the
 * tip is not stored; stored side blocks whose branch fell that far behind, and invalid ones, are
 * pruned; and the bytes of side blocks are bounded, the lowest-work branch tips going first.
 */

import type { BlockIndex, IndexEntry } from "./block_index.ts";
import { CHUNK_SIZE } from "./kv_batch.ts";
import { blockWork } from "./pow.ts";
import type { ChainStore } from "./store.ts";

/** Blocks' worth of work below the tip under which a branch no longer counts (Core: 144). */
export const SIDE_WORK_DEPTH = 144;
/** Default bound on the bytes of stored side blocks. */
export const DEFAULT_SIDE_BLOCK_BYTES = 16_000_000;
/** Hashes of pruned invalid blocks remembered (refused at once when sent again). */
export const MAX_PRUNED_INVALID = 10_000;

/** The least chain work a stored block needs: the tip's, less {@link SIDE_WORK_DEPTH} blocks' worth. */
export function workThreshold(tip: IndexEntry): bigint {
  return tip.work - BigInt(SIDE_WORK_DEPTH) * blockWork(tip.bits);
}

/** Bytes a block takes in the store (its size, or its chunks for entries stored without one). */
export function storedBytes(e: IndexEntry): number {
  return e.size ?? e.chunks * CHUNK_SIZE;
}

/**
 * Side blocks to prune among `candidates` (every stored block off the active chain, in arrival
 * order; active ones are skipped), children before parents: every invalid block, then branch tips
 * (blocks with no stored child) below the {@link workThreshold}, then while the side blocks left
 * exceed `budget` bytes the branch tip with the least work (on equal work the later one).
 */
export function sideBlocksToPrune(
  index: BlockIndex,
  candidates: Iterable<IndexEntry>,
  budget: number,
): IndexEntry[] {
  const threshold = workThreshold(index.tip());
  const side = new Map<string, IndexEntry>();
  const prune: IndexEntry[] = [];
  for (const e of candidates) {
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

/**
 * Keeps the stored side blocks within bounds: tracks which stored blocks may be off the active chain
 * (new ones, and those a reorg disconnected), deletes what {@link sideBlocksToPrune} names, and remembers
 * the invalid ones it deleted.
 */
export class SideBlocks {
  readonly #index: BlockIndex;
  readonly #store: ChainStore;
  readonly #budget: number;
  readonly #candidates = new Set<string>();
  readonly #prunedInvalid = new Set<string>();

  /** Over `index` and `store`, keeping at most `budget` bytes of side blocks. */
  constructor(index: BlockIndex, store: ChainStore, budget = DEFAULT_SIDE_BLOCK_BYTES) {
    this.#index = index;
    this.#store = store;
    this.#budget = budget;
  }

  /** Notes a block that may be off the active chain (stored, or disconnected by a reorg). */
  add(hash: string): void {
    this.#candidates.add(hash);
  }

  /** True when `hash` is an invalid block pruned earlier. */
  prunedInvalid(hash: string): boolean {
    return this.#prunedInvalid.has(hash);
  }

  /** Deletes the side blocks that can no longer win or exceed the budget; returns how many. */
  async prune(): Promise<number> {
    for (const h of this.#candidates) if (this.#index.isActive(h)) this.#candidates.delete(h);
    const candidates = [...this.#candidates].map((h) => this.#index.get(h)!);
    const prune = sideBlocksToPrune(this.#index, candidates, this.#budget);
    if (!prune.length) return 0;
    await this.#store.deleteBlocks(prune);
    for (const e of prune) {
      this.#candidates.delete(e.hash);
      this.#index.remove(e.hash);
      if (!e.invalid) continue;
      this.#prunedInvalid.add(e.hash);
      if (this.#prunedInvalid.size > MAX_PRUNED_INVALID) {
        this.#prunedInvalid.delete(this.#prunedInvalid.values().next().value!);
      }
    }
    return prune.length;
  }
}
