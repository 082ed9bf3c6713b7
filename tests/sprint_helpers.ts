/**
 * @module Test helpers for sprint proofs on a dev node: fund a proof from a key's mature coins;
 * prove a sprint for a key and submit it (weights on chain).
 */

import type { ChainNode } from "../chain/node.ts";
import { scriptAddress } from "../chain/script.ts";
import { sprintProofTx } from "../chain/sprint_tx.ts";
import { publicKeyOf } from "../chain/keys.ts";
import { sprintNodeSeed } from "../chain/sprint.ts";
import { proveSprint } from "../compute/sprint_prover.ts";
import { SprintModel } from "../verifier-wasm/sprint_model.ts";
import { sprintSeedAt } from "../verifier-wasm/sprint_weights.ts";
import type { TestKey } from "./chain_helpers.ts";

/** Submits `key`'s proof of `nonces` for sprint `sprint`, funded from its mature coins. */
export async function submitProof(
  node: ChainNode,
  key: TestKey,
  sprint: number,
  nonces: number[],
): Promise<void> {
  const coins = await node.getAddressCoins(scriptAddress(key.script)!);
  const next = node.tip().height + 1;
  const utxos = coins
    .filter((c) => !c.coin.coinbase || next - c.coin.height >= node.params.coinbaseMaturity)
    .map((c) => ({ txid: c.txid, vout: c.vout, ...c.coin }));
  const { bytes } = sprintProofTx(sprint, nonces, { utxos, secretKey: key.secret, fee: 10_000n });
  await node.processTx(bytes);
}

/**
 * Tries `count` nonces of sprint `sprint` for `key` on the WASM kernel and submits the proof; returns
 * how many nonces it holds (random: about `count / odds`), the weight an honest proof earns.
 */
export async function proveAndSubmit(
  node: ChainNode,
  key: TestKey,
  sprint: number,
  count: number,
): Promise<number> {
  const model = await SprintModel.create(node.params.sprint, sprintSeedAt(node, sprint));
  try {
    const { nonces } = await proveSprint(model, sprintNodeSeed(publicKeyOf(key.secret)), { count });
    await submitProof(node, key, sprint, nonces);
    return nonces.length;
  } finally {
    model.free();
  }
}
