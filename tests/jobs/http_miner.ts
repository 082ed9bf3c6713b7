/**
 * @module Blocks mined on demand for the job tests: a coinbase-only block on a dev node's tip, solved
 * here (easy dev target) and posted to `POST /v1/blocks`, so a test waits for the heights it needs
 * (coin maturity, an escrow's expiry) instead of the miner's pace. Block times never run ahead of
 * the clock, so the node's own paced miner carries on as usual afterwards.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { coinbaseTransaction } from "../../chain/miner.ts";
import { MEDIAN_TIME_SPAN, networkParams } from "../../chain/params.ts";
import { payToAddressScript } from "../../chain/script.ts";
import { blockSubsidy } from "../../chain/validation.ts";
import { solve } from "../chain_helpers.ts";
import { getJson } from "../process_helpers.ts";

const DEV = networkParams("dev");

/** Mines coinbase-only blocks on the tip of one dev node over HTTP. */
export class HttpMiner {
  /** Block times by hash (blocks never change). */
  readonly #times = new Map<string, { time: number; prev: string }>();

  constructor(readonly url: string) {}

  /** The node's height. */
  async height(): Promise<number> {
    return (await getJson<{ height: number }>(`${this.url}/v1/status`)).body.height;
  }

  /**
   * Mines one block paying its coinbase to `address` and posts it; retries on the new tip when the
   * node's own miner got there first. Resolves the block's height once the node has connected it.
   */
  async mine(address: string): Promise<number> {
    for (;;) {
      const tip = (await getJson<{ height: number; tip: string }>(`${this.url}/v1/status`)).body;
      const time = await this.#nextTime(tip.tip);
      const height = tip.height + 1;
      const coinbase = coinbaseTransaction(
        height,
        blockSubsidy(height, DEV),
        payToAddressScript(address),
        0,
      );
      const block = solve({
        header: {
          version: 1,
          prevHash: fromHex(tip.tip, 32),
          merkleRoot: new Uint8Array(32),
          time,
          bits: DEV.powLimitBits,
          nonce: 0,
        },
        txs: [coinbase],
      });
      const res = await fetch(`${this.url}/v1/blocks`, { method: "POST", body: toHex(block) });
      const body = await res.json();
      if (!res.ok) {
        throw new Error(`block at height ${height}: ${res.status} ${JSON.stringify(body)}`);
      }
      if (body.status === "connected") return height;
    }
  }

  /** Mines one block to each address of `addresses`, in order. */
  async mineEach(addresses: string[]): Promise<void> {
    for (const a of addresses) await this.mine(a);
  }

  /** Mines blocks to `address` until the node's height is at least `height`. */
  async mineUntil(height: number, address: string): Promise<void> {
    while (await this.height() < height) await this.mine(address);
  }

  /**
   * Waits until `done` holds (at most `ms`), meanwhile mining a block whenever the node's mempool
   * is empty, at most one per `gapMs`: nodes that answer a block with a transaction have the time
   * to send it, and a transaction waiting stops these blocks until the node's own miner mines it.
   * For phases where only heights are awaited, not deadlines raced.
   */
  async mineWhileIdle(
    what: string,
    done: () => Promise<boolean>,
    address: string,
    ms = 60_000,
    gapMs = 500,
  ): Promise<void> {
    const end = Date.now() + ms;
    while (!(await done())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      const st = await getJson<{ mempool: { size: number } }>(`${this.url}/v1/status`);
      if (st.body.mempool.size === 0) await this.mine(address);
      await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  /**
   * The time of a block on `tip`: now, or once the clock has passed the median time of the last
   * blocks (waiting for it), never ahead of the clock.
   */
  async #nextTime(tip: string): Promise<number> {
    const times: number[] = [];
    for (let hash = tip; times.length < MEDIAN_TIME_SPAN && !/^0+$/.test(hash);) {
      let b = this.#times.get(hash);
      if (!b) {
        const r = await getJson<{ time: number; prevHash: string }>(
          `${this.url}/v1/blocks/${hash}`,
        );
        b = { time: r.body.time, prev: r.body.prevHash };
        this.#times.set(hash, b);
      }
      times.push(b.time);
      hash = b.prev;
    }
    times.sort((a, b) => a - b);
    const least = times[Math.floor(times.length / 2)] + 1;
    const wait = least * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return Math.max(least, Math.floor(Date.now() / 1000));
  }
}
