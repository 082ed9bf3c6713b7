/**
 * @module Helpers of the job tests with real processes: node wallets, funding, waiting for coins,
 * and the `job submit` command line.
 */
import assert from "node:assert/strict";
import { networkParams } from "../../chain/params.ts";
import { getJson, runCli, waitFor, walletSend } from "../process_helpers.ts";

/** Creates a CLI wallet at `path` with `passphrase` (`wallet new`) and returns its address. */
export async function newWallet(path: string, passphrase: string): Promise<string> {
  const made = await runCli(["wallet", "new", "--wallet", path], {
    CAMELID_PASSPHRASE: passphrase,
  });
  assert.equal(made.code, 0, made.stderr);
  return (await runCli(["wallet", "address", "--wallet", path])).stdout.trim();
}

/** The address of the wallet a node creates in `dataDir` (waits for the file). */
export function nodeWalletAddress(dataDir: string): Promise<string> {
  return waitFor(`the wallet of ${dataDir}`, async () => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dataDir}/wallet.json`)).address as string;
    } catch {
      return null;
    }
  });
}

/** Waits until the node at `url` has a mature coinbase to spend (dev maturity + `extra` blocks). */
export async function waitMature(url: string, extra = 0): Promise<void> {
  await waitFor(
    "a mature coinbase",
    async () =>
      (await getJson<{ height: number }>(`${url}/v1/status`)).body.height >
        networkParams("dev").coinbaseMaturity + extra,
    60_000,
  );
}

/** Sends `amount` coins to `to` from the wallet file `from` (empty passphrase) through `node`. */
export async function sendCoins(
  from: string,
  node: string,
  to: string,
  amount: string,
): Promise<void> {
  const r = await walletSend(from, to, amount, node, "");
  assert.equal(r.code, 0, r.stderr);
}

/** Waits until `address` has a confirmed balance of exactly `coins` on the node at `url`. */
export async function waitBalance(url: string, address: string, coins: string): Promise<void> {
  await waitFor(
    `${coins} coins at ${address}`,
    async () =>
      (await getJson<{ balance: string }>(`${url}/v1/addresses/${address}`)).body.balance ===
        coins,
    30_000,
  );
}

/**
 * Sends `coins` to `address` from the wallet file `from` through the node at `url`, and waits until
 * that node shows them as the address's confirmed balance.
 */
export async function fundAddress(
  from: string,
  url: string,
  address: string,
  coins: string,
): Promise<void> {
  await sendCoins(from, url, address, coins);
  await waitBalance(url, address, coins);
}

/** The start of a `job submit` command line: pay from the wallet file `wallet` through `node`. */
export function jobSubmitArgs(wallet: string, node: string): string[] {
  return ["job", "submit", "--wallet", wallet, "--node", node];
}
