/**
 * @module The block index in memory, after Bitcoin Core's BlockManager and CChain: every known
 * header with its height and cumulative work, the tree of children, and the active chain by height.
 * Answers locators, header ranges, the bits a child needs and the median time past.
 */

import { type BlockHeader, encodeHeader } from "./block.ts";
import { isHex32 } from "./bytes.ts";
import { NotFoundError } from "./errors.ts";
import { MEDIAN_TIME_SPAN, type NetworkParams } from "./params.ts";
import { blockWork, retargetBits } from "./pow.ts";

/** One entry of the block index. */
export interface IndexEntry {
  /** Block hash (hex). */
  hash: string;
  /** Parent hash (hex). */
  prev: string;
  /** Encoded 80-byte header. */
  header: Uint8Array;
  /** Height. */
  height: number;
  /** Cumulative chain work up to and including this block. */
  work: bigint;
  /** Header time. */
  time: number;
  /** Compact bits. */
  bits: number;
  /** Number of chunks of block data. */
  chunks: number;
  /** True when the block (or an ancestor) failed validation. */
  invalid: boolean;
  /** Size of the block in bytes (absent in entries stored before it was recorded). */
  size?: number;
}

/** The parent hash of genesis. */
export const NO_PARENT = "0".repeat(64);
/** Most headers one {@link BlockIndex.getHeaders} call returns. */
export const MAX_HEADERS = 2000;
/** Locator entries taken one by one before the step starts doubling. */
const LOCATOR_DENSE = 10;

/** A new index entry for a block with `header` on top of `parent` (genesis when null). */
export function indexEntry(
  hash: string,
  header: BlockHeader,
  parent: IndexEntry | null,
  chunks: number,
  size?: number,
): IndexEntry {
  return {
    ...(size === undefined ? {} : { size }),
    hash,
    prev: parent?.hash ?? NO_PARENT,
    header: encodeHeader(header),
    height: parent ? parent.height + 1 : 0,
    work: (parent?.work ?? 0n) + blockWork(header.bits),
    time: header.time,
    bits: header.bits,
    chunks,
    invalid: false,
  };
}

/** Known headers and the active chain. */
export class BlockIndex {
  readonly #entries = new Map<string, IndexEntry>();
  readonly #children = new Map<string, string[]>();
  #active: string[] = [];

  /** Adds a known block (idempotent). */
  add(e: IndexEntry): void {
    this.#entries.set(e.hash, e);
    const siblings = this.#children.get(e.prev) ?? [];
    if (!siblings.includes(e.hash)) siblings.push(e.hash);
    this.#children.set(e.prev, siblings);
  }

  /** Forgets a block that is not on the active chain (pruned); its children must be gone first. */
  remove(hash: string): void {
    const e = this.#entries.get(hash);
    if (!e || this.isActive(hash)) return;
    this.#entries.delete(hash);
    const siblings = (this.#children.get(e.prev) ?? []).filter((h) => h !== hash);
    if (siblings.length) this.#children.set(e.prev, siblings);
    else this.#children.delete(e.prev);
  }

  /** Every known entry. */
  entries(): IterableIterator<IndexEntry> {
    return this.#entries.values();
  }

  /** Number of known blocks. */
  get size(): number {
    return this.#entries.size;
  }

  /** Entry of a known block. */
  get(hash: string): IndexEntry | undefined {
    return this.#entries.get(hash);
  }

  /** True when the block is known. */
  has(hash: string): boolean {
    return this.#entries.has(hash);
  }

  /** Entries of the known children of `hash`. */
  children(hash: string): IndexEntry[] {
    return (this.#children.get(hash) ?? []).map((c) => this.#entries.get(c)!);
  }

  /** Makes the chain ending at `tip` active (walks the parents down to genesis). */
  activate(tip: IndexEntry): void {
    this.#active = [];
    for (let e: IndexEntry | undefined = tip; e; e = this.#entries.get(e.prev)) {
      this.#active[e.height] = e.hash;
      if (e.height === 0) break;
    }
  }

  /** Extends the active chain by `e` (its parent is the tip). */
  pushTip(e: IndexEntry): void {
    this.#active[e.height] = e.hash;
  }

  /** Drops the active tip. */
  popTip(): void {
    this.#active.length--;
  }

  /** Entry of the active tip. */
  tip(): IndexEntry {
    return this.#entries.get(this.#active[this.#active.length - 1])!;
  }

  /** Active-chain hash at `height`, or undefined. */
  hashAtHeight(height: number): string | undefined {
    return this.#active[height];
  }

  /** True when `hash` is on the active chain. */
  isActive(hash: string): boolean {
    const e = this.#entries.get(hash);
    return !!e && this.#active[e.height] === hash;
  }

  /** The valid entry with the most work (the tip when none has more). */
  bestCandidate(): IndexEntry {
    let best = this.tip();
    for (const e of this.#entries.values()) if (!e.invalid && e.work > best.work) best = e;
    return best;
  }

  /** Entries from the fork point with the active chain (exclusive) up to `e`, oldest first. */
  branchTo(e: IndexEntry): { fork: IndexEntry; path: IndexEntry[] } {
    const path: IndexEntry[] = [];
    let fork = e;
    while (!this.isActive(fork.hash)) {
      path.unshift(fork);
      fork = this.#entries.get(fork.prev)!;
    }
    return { fork, path };
  }

  /** Block locator: tip first, then exponentially spaced back to genesis. */
  locator(): string[] {
    const out: string[] = [];
    let step = 1;
    for (let h = this.#active.length - 1; h > 0; h -= step) {
      out.push(this.#active[h]);
      if (out.length >= LOCATOR_DENSE) step *= 2;
    }
    out.push(this.#active[0]);
    return out;
  }

  /** Up to `max` encoded headers of the active chain after the first locator hash found on it. */
  getHeaders(locator: string[], max = MAX_HEADERS): Uint8Array[] {
    let start = 0;
    for (const h of locator) {
      if (this.isActive(h)) {
        start = this.#entries.get(h)!.height + 1;
        break;
      }
    }
    const out: Uint8Array[] = [];
    for (let h = start; h < this.#active.length && out.length < Math.min(max, MAX_HEADERS); h++) {
      out.push(this.#entries.get(this.#active[h])!.header);
    }
    return out;
  }

  /** Compact bits required of a child of `parent`. */
  nextBits(parent: IndexEntry, p: NetworkParams): number {
    if (p.retargetInterval === 0 || (parent.height + 1) % p.retargetInterval !== 0) {
      return parent.bits;
    }
    let first = parent;
    for (let i = 0; i < p.retargetInterval - 1 && first.height > 0; i++) {
      first = this.#entries.get(first.prev)!;
    }
    return retargetBits(
      parent.bits,
      parent.time - first.time,
      p.retargetInterval * p.targetSpacing,
      p.powLimitBits,
    );
  }

  /** Median time of the last 11 blocks ending at `entry`. */
  medianTimePast(entry: IndexEntry): number {
    const times: number[] = [];
    for (
      let e: IndexEntry | undefined = entry;
      e && times.length < MEDIAN_TIME_SPAN;
      e = this.#entries.get(e.prev)
    ) {
      times.push(e.time);
      if (e.height === 0) break;
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }

  /** Looks up a block by hash or height on the active chain. */
  resolveBlockId(id: string): string {
    if (/^\d{1,10}$/.test(id)) {
      const h = this.#active[Number(id)];
      if (!h) throw new NotFoundError("block/not-found", `no block at height ${id}`);
      return h;
    }
    if (!isHex32(id)) {
      throw new RangeError(`block id must be a height or 64 lowercase hex characters`);
    }
    if (!this.#entries.has(id)) throw new NotFoundError("block/not-found", `unknown block ${id}`);
    return id;
  }
}
