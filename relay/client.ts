/** @module A typed HTTP client of a node's `/v1` API, as wallets and light clients use it. */

import { CamelidError } from "../chain/errors.ts";
import { fromHex, toHex } from "../chain/bytes.ts";
import type { WalletUtxo } from "../chain/wallet.ts";

/** `GET /v1/addresses/:address` as the client reads it. */
export interface AddressAnswer {
  /** Confirmed balance (coins). */
  balance: string;
  /** Mature, unspent-in-mempool balance (coins). */
  spendable: string;
  /** Confirmed outputs. */
  utxos: {
    txid: string;
    vout: number;
    units: string;
    mature: boolean;
    spentInMempool: string | null;
    scriptPubKey: string;
  }[];
  /** Unconfirmed outputs paying the address. */
  unconfirmed: { txid: string; vout: number; units: string; scriptPubKey: string }[];
}

/** A node's HTTP API. */
export class NodeClient {
  /** Base URL. */
  readonly url: string;

  /** Talks to the node at `url`. */
  constructor(url: string) {
    this.url = url.replace(/\/$/, "");
  }

  /** GET or POST JSON; throws `CamelidError` with the node's error code on a 4xx/5xx. */
  async call<T>(path: string, init?: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, init);
    } catch (e) {
      throw new CamelidError(
        "node/unreachable",
        `cannot reach the node at ${this.url}: ${(e as Error).message}`,
      );
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const err = body?.error ?? { code: `http/${res.status}`, message: res.statusText };
      throw new CamelidError(err.code, `node answered ${res.status}: ${err.message}`);
    }
    return body as T;
  }

  /** Broadcasts a raw transaction. */
  sendTx(bytes: Uint8Array): Promise<{ txid: string }> {
    return this.call("/v1/txs", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: toHex(bytes),
    });
  }

  /** Balance and outputs of an address. */
  address(address: string): Promise<AddressAnswer> {
    return this.call<AddressAnswer>(`/v1/addresses/${address}`);
  }

  /** Outputs a wallet can spend now: mature and not spent in the mempool, plus unconfirmed change. */
  async spendableCoins(address: string): Promise<WalletUtxo[]> {
    const a = await this.address(address);
    return [...a.utxos.filter((u) => u.mature && !u.spentInMempool), ...a.unconfirmed].map((u) => ({
      txid: u.txid,
      vout: u.vout,
      value: BigInt(u.units),
      scriptPubKey: fromHex(u.scriptPubKey),
    }));
  }
}
