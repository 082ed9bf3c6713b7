/**
 * @module Sprint proofs on chain: the proof output's builder beside its consensus check (the
 * template's strict decode is in script.ts). A proof output carries value 0, at most the network's
 * maxNonces nonces, and is authorised by the node's key: the transaction spends a pay-to-address
 * coin of that key, so the node's signature covers the proof. Where and when a proof counts (its
 * sprint's window, the first proof of a node per sprint) is decided by the weight derivation
 * (verifier-wasm/sprint_weights.ts), not by block validity, so a stale pool entry never
 * invalidates a block.
 */

import { equalBytes } from "./bytes.ts";
import { ValidationError } from "./errors.ts";
import { hash160 } from "./hash.ts";
import { isValidPublicKey, publicKeyOf } from "./keys.ts";
import type { NetworkParams } from "./params.ts";
import { parseOutputScript, sprintProofScript, TEMPLATE_SPRINT_PROOF } from "./script.ts";
import type { Transaction, TxOutput } from "./tx.ts";
import { buildSpend, type WalletUtxo } from "./wallet.ts";

/** The sprint proof output (value 0) of node `nodeKey` for sprint `sprint`. */
export function sprintProofOutput(
  sprint: number,
  nodeKey: Uint8Array,
  nonces: ArrayLike<number>,
): TxOutput {
  return { value: 0n, scriptPubKey: sprintProofScript(sprint, nodeKey, nonces) };
}

/**
 * A wallet-funded transaction carrying the node's sprint proof as output 0 (change back to the
 * wallet). The wallet is the node's key, which authorises the proof. `fee` must be positive.
 */
export function sprintProofTx(
  sprint: number,
  nonces: ArrayLike<number>,
  funding: { utxos: WalletUtxo[]; secretKey: Uint8Array; fee: bigint },
): { tx: Transaction; bytes: Uint8Array } {
  if (funding.fee <= 0n) throw new RangeError("a sprint proof transaction needs a positive fee");
  const output = sprintProofOutput(sprint, publicKeyOf(funding.secretKey), nonces);
  return buildSpend({ ...funding, outputs: [output] });
}

/**
 * Consensus check of a transaction's sprint proof outputs (context: the coins it spends and the
 * network): at most one per transaction, value 0, at most maxNonces nonces, a valid node key, and
 * an input spending a pay-to-address coin of that key. Throws ValidationError `sprint/...`.
 */
export function checkSprintProofOutputs(
  tx: Transaction,
  coins: ({ scriptPubKey: Uint8Array } | undefined)[],
  params: NetworkParams,
): void {
  const fail = (code: string, msg: string): never => {
    throw new ValidationError(code, msg);
  };
  let seen = false;
  for (const [n, out] of tx.outputs.entries()) {
    if (out.scriptPubKey[0] !== TEMPLATE_SPRINT_PROOF) continue;
    const p = parseOutputScript(out.scriptPubKey);
    if (p.type !== "sprint-proof") continue;
    if (seen) fail("sprint/several-proofs", `output ${n}: one sprint proof per transaction`);
    seen = true;
    if (out.value !== 0n) {
      fail("sprint/proof-value", `output ${n}: a sprint proof carries no value`);
    }
    if (p.nonces.length > params.sprint.maxNonces) {
      fail("sprint/bad-nonces", `output ${n}: over ${params.sprint.maxNonces} nonces`);
    }
    if (!isValidPublicKey(p.nodeKey)) fail("sprint/bad-key", `output ${n}: bad node public key`);
    const owner = hash160(p.nodeKey);
    const funded = coins.some((c) => {
      if (!c) return false;
      const s = parseOutputScript(c.scriptPubKey);
      return s.type === "pay-to-address" && equalBytes(s.pubKeyHash, owner);
    });
    if (!funded) {
      fail("sprint/not-authorised", `output ${n}: a sprint proof must be funded by its node's key`);
    }
  }
}
