/** @module What the devnet bench scripts share: the load average as printed, and their processes killed when the script ends. */

import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { COIN } from "../../chain/params.ts";
import { NodeClient } from "../../relay/client.ts";
import { getJson, type NodeProcess, waitFor, walletSend } from "../process_helpers.ts";

/** The 1, 5 and 15 minute load averages, two decimals each. */
export const loadavg = (): string => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

/** The list of started node processes, each killed (SIGKILL) when the script unloads. */
export function killedOnUnload(): NodeProcess[] {
  const procs: NodeProcess[] = [];
  globalThis.addEventListener("unload", () => {
    for (const p of procs) {
      try {
        p.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  });
  return procs;
}

/** A client key funded by a devnet node's wallet, and a client of that node. */
export interface FundedClient {
  /** The client's secret key. */
  clientKey: Uint8Array;
  /** Its address. */
  clientAddress: string;
  /** A client of the funding node's API. */
  node: NodeClient;
}

/**
 * Waits until the wallet at `walletFile` (node `url`, address `walletAddress`) can spend 41 coins,
 * sends 40 to a new client key, and waits until the client's coins are spendable there.
 */
export async function fundClient(
  url: string,
  walletFile: string,
  walletAddress: string,
  waitMs: number,
): Promise<FundedClient> {
  await waitFor("41 spendable coins at node 0", async () => {
    const a = await getJson<{ spendableUnits: string }>(`${url}/v1/addresses/${walletAddress}`);
    return BigInt(a.body.spendableUnits ?? "0") >= 41n * COIN;
  }, waitMs);
  const clientKey = generateSecretKey();
  const clientAddress = addressFromPublicKey(publicKeyOf(clientKey));
  const sent = await walletSend(walletFile, clientAddress, "40", url, "");
  if (sent.code !== 0) throw new Error(`wallet send: ${sent.stderr}`);
  const node = new NodeClient(url);
  await waitFor(
    "the client's coins",
    async () => (await node.spendableCoins(clientAddress)).length > 0,
  );
  return { clientKey, clientAddress, node };
}
