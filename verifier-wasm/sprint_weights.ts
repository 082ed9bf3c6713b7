/**
 * @module Compute weight of each node for one sprint, derived from chain data by every node alike:
 * the sprint's proof outputs (chain/store.ts), of those included inside the sprint's window the
 * first per node key (chain order), each validated on the WASM kernel (sprint_validate.ts) with the
 * sample seed SHA-256(including block hash || txid || vout LE). A node's weight for the epoch that
 * follows the sprint is the weight its proof earns. See docs/protocol.md, "Compute weight".
 */

import { fromHex, toHex } from "../chain/bytes.ts";
import { NotFoundError } from "../chain/errors.ts";
import { sha256Concat } from "../chain/hash.ts";
import type { NetworkParams } from "../chain/params.ts";
import { parseOutputScript } from "../chain/script.ts";
import { sprintNodeSeed } from "../chain/sprint.ts";
import type { StoredSprintProof } from "../chain/sprint_record.ts";
import { SprintModel } from "./sprint_model.ts";
import { type SprintVerdict, validateSprintProof } from "./sprint_validate.ts";

/** What the derivation reads of a chain (a ChainNode fits). */
export interface SprintChainView {
  /** Network parameters. */
  readonly params: NetworkParams;
  /** Hash of the active block at a height. */
  hashAtHeight(height: number): string | undefined;
  /** The store's sprint proof records. */
  readonly store: { sprintProofs(index: number): Promise<StoredSprintProof[]> };
}

/** One node's weight in a sprint. */
export interface SprintWeight {
  /** The node's public key (hex). */
  readonly nodeKey: string;
  /** Weight earned (0 when rejected). */
  readonly weight: number;
  /** The proof that counted. */
  readonly proof: { readonly txid: string; readonly vout: number; readonly height: number };
  /** The validator's verdict. */
  readonly verdict: SprintVerdict;
}

/** The sprint seed of sprint `index`: the hash of the active block at its start height. */
export function sprintSeedAt(chain: SprintChainView, index: number): Uint8Array {
  const hash = chain.hashAtHeight(index * chain.params.sprint.interval);
  if (!hash) throw new NotFoundError("sprint/not-started", `sprint ${index} has not started`);
  return fromHex(hash, 32);
}

/** The sample seed of a proof output: SHA-256(block hash || txid || vout u32 LE). */
export function sprintSampleSeed(block: string, txid: string, vout: number): Uint8Array {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, vout, true);
  return sha256Concat([fromHex(block, 32), fromHex(txid, 32), v]);
}

/**
 * The weights of sprint `index` (sprint index >= 1), ordered by node key. Throws NotFoundError
 * `sprint/not-started` before the sprint's start block.
 */
export async function sprintWeights(
  chain: SprintChainView,
  index: number,
): Promise<SprintWeight[]> {
  const p = chain.params.sprint;
  const seed = sprintSeedAt(chain, index);
  const start = index * p.interval;
  const first = new Map<string, { rec: StoredSprintProof; nonces: Uint32Array; key: Uint8Array }>();
  const records = (await chain.store.sprintProofs(index))
    .filter((r) => r.height > start && r.height <= start + p.window)
    .sort((a, b) => a.height - b.height || a.position - b.position || a.vout - b.vout);
  for (const rec of records) {
    const s = parseOutputScript(rec.script);
    if (s.type !== "sprint-proof") continue;
    const hex = toHex(s.nodeKey);
    if (!first.has(hex)) first.set(hex, { rec, nonces: s.nonces, key: s.nodeKey });
  }
  if (first.size === 0) return [];
  const model = await SprintModel.create(p, seed);
  try {
    const out: SprintWeight[] = [];
    for (const [nodeKey, { rec, nonces, key }] of [...first].sort(([a], [b]) => a < b ? -1 : 1)) {
      // Each proof re-runs up to sampleSize nonces (about 90 ms on main): yield between proofs so
      // a node serving requests is not held for the whole sprint.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const verdict = validateSprintProof(
        model,
        sprintNodeSeed(key),
        nonces,
        sprintSampleSeed(rec.block, rec.txid, rec.vout),
      );
      out.push({
        nodeKey,
        weight: verdict.weight,
        proof: { txid: rec.txid, vout: rec.vout, height: rec.height },
        verdict,
      });
    }
    return out;
  } finally {
    model.free();
  }
}
