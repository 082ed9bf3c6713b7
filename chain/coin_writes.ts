/**
 * @module A sequence counter over writes of the coin set (a seqlock): odd while a write is under
 * way, bumped at its start and its end. Coins read outside the node's lock may be used under it
 * only when no write began since the read began ({@link CoinWriteCounter.unchangedSince}).
 */

/** Counts writes of the coin set; the node brackets every block it processes with it. */
export class CoinWriteCounter {
  #seq = 0;

  /** The stamp to take before a read that may be reused later. */
  stamp(): number {
    return this.#seq;
  }

  /** Marks the start of a write (the caller holds the node's lock). */
  begin(): void {
    if (this.#seq % 2 !== 0) throw new Error("coin write already under way");
    this.#seq++;
  }

  /** Marks the end of the write begun last. */
  end(): void {
    if (this.#seq % 2 === 0) throw new Error("no coin write under way");
    this.#seq++;
  }

  /** Runs `write` between {@link begin} and {@link end} (end also when it throws). */
  async around<T>(write: () => Promise<T>): Promise<T> {
    this.begin();
    try {
      return await write();
    } finally {
      this.end();
    }
  }

  /**
   * True when a read begun at `stamp` saw one stable coin set that is still current: no write was
   * under way when it began and none has begun since.
   */
  unchangedSince(stamp: number): boolean {
    return stamp % 2 === 0 && stamp === this.#seq;
  }
}
