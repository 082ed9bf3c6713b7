/**
 * @module Spendable coins on a dev network for benches: blocks mined here (easy dev target) and
 * posted to a node over HTTP, their coinbases split by fan-out transactions into many small
 * coins, and one signed one-input payment per coin, ready to post to `POST /v1/txs`.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { coinbaseTransaction } from "../../chain/miner.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import type { Transaction } from "../../chain/tx.ts";
import { blockSubsidy } from "../../chain/validation.ts";
import { newKey, solve, spend } from "../chain_helpers.ts";
import { status } from "../network/helpers.ts";

const DEV = networkParams("dev");

/** Outputs per fan-out transaction (about 90 kB, under the 100 kB transaction limit). */
const FAN_OUT = 2500;
/** Fee of each payment, base units (well above the dev relay floor for its ~190 bytes). */
const PAYMENT_FEE = 10_000n;

/** A miner posting blocks to one node, on that node's tip. */
class HttpMiner {
  #time = 0;
  constructor(readonly url: string, readonly payTo: Uint8Array) {}

  /** Mines one block holding `txs` (fees: `fees`) on the node's tip and posts it. */
  async mine(txs: Transaction[] = [], fees = 0n): Promise<void> {
    const tip = await status(this.url);
    const height = tip.height + 1;
    const coinbase = coinbaseTransaction(height, blockSubsidy(height, DEV) + fees, this.payTo, 0);
    const all = [coinbase, ...txs];
    // One second apart and never behind the clock: above the median time past at any pace.
    this.#time = Math.max(Math.floor(Date.now() / 1000), this.#time + 1);
    const header = {
      version: 1,
      prevHash: fromHex(tip.tip, 32),
      merkleRoot: new Uint8Array(32), // set by solve
      time: this.#time,
      bits: DEV.powLimitBits,
      nonce: 0,
    };
    const res = await fetch(`${this.url}/v1/blocks`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: toHex(solve({ header, txs: all })),
    });
    const body = await res.json();
    if (!res.ok) {
      throw new Error(`block at height ${height}: ${res.status} ${JSON.stringify(body)}`);
    }
  }
}

/** Signed payments, each spending its own confirmed coin; the node at `url` knows the coins. */
export interface FundedPayments {
  /** Raw payments as hex (the `POST /v1/txs` body), in posting order. */
  hex: string[];
}

/**
 * Mines enough blocks at `url` to fund at least `count` coins, splits the matured coinbases with
 * fan-out transactions confirmed in one more block, and signs one payment per coin.
 */
export async function fundPayments(url: string, count: number): Promise<FundedPayments> {
  const key = newKey();
  const miner = new HttpMiner(url, key.script);
  const fanOuts = Math.ceil(count / FAN_OUT);
  const first = (await status(url)).height + 1;
  for (let i = 0; i < fanOuts + DEV.coinbaseMaturity; i++) await miner.mine();
  const coins: { txid: string; vout: number; value: bigint }[] = [];
  const splits: Transaction[] = [];
  let fees = 0n;
  for (let i = 0; i < fanOuts; i++) {
    const coinbase = await coinbaseOf(url, first + i);
    const each = (coinbase.value - COIN) / BigInt(FAN_OUT);
    const outputs = Array.from({ length: FAN_OUT }, () => ({ value: each, script: key.script }));
    const { tx, id } = spend(key, [{ ...coinbase, vout: 0 }], outputs);
    splits.push(tx);
    fees += coinbase.value - each * BigInt(FAN_OUT);
    for (let vout = 0; vout < FAN_OUT; vout++) coins.push({ txid: id, vout, value: each });
  }
  await miner.mine(splits, fees);
  const hex = coins.slice(0, count).map((coin) =>
    toHex(spend(key, [coin], [{ value: coin.value - PAYMENT_FEE, script: key.script }]).bytes)
  );
  return { hex };
}

/** The coinbase of the block at `height` on `url`'s active chain: its txid and value. */
async function coinbaseOf(url: string, height: number): Promise<{ txid: string; value: bigint }> {
  const res = await fetch(`${url}/v1/blocks/${height}`);
  const body = await res.json();
  if (!res.ok) throw new Error(`block ${height}: ${res.status} ${JSON.stringify(body)}`);
  const cb = body.txs[0];
  return { txid: cb.txid, value: BigInt(cb.outputs[0].units) };
}
