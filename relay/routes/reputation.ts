/**
 * @module `GET /v1/reputation/:key`: a compute node's reputation and the probability that its jobs
 * are validated, derived from the active chain by compute/weight/chain_reputation.ts (the same on
 * every node holding that chain). The key is the node's compressed public key (66 hex) or its
 * address, as stakes and receipts name it. An unknown node answers reputation 0, probability 1.0.
 * `chainEvidence` is the node's margin evidence from the validation records on chain (the same on
 * every node) and `lastFlag` the last payment that made it cross. Apart from the chain data, `localEvidence` is this node's own margin evidence of the node's jobs it
 * checked as a verifier (compute/weight/local_evidence.ts): other nodes see other evidence.
 */

import { Hono } from "hono";
import type { ChainNode } from "../../chain/node.ts";
import { fromHex } from "../../chain/bytes.ts";
import { hash160 } from "../../chain/hash.ts";
import { addressFromHash, decodeAddress, isValidPublicKey } from "../../chain/keys.ts";
import { ChainReputation } from "../../compute/weight/chain_reputation.ts";
import { LocalEvidence, type LocalEvidenceRecord } from "../../compute/weight/local_evidence.ts";
import { MARGIN_TEST } from "../../compute/weight/margin_sprt.ts";
import type { ReputationParams } from "../../compute/weight/reputation.ts";
import { RequestError } from "../errors.ts";

/** The HASH160 a route key names: a compressed public key (hex) or an address. */
export function nodeHashOfKey(key: string): Uint8Array {
  if (/^0[23][0-9a-fA-F]{64}$/.test(key)) {
    const pub = fromHex(key, 33);
    if (isValidPublicKey(pub)) return hash160(pub);
  } else if (/^[1-9A-HJ-NP-Za-km-z]{25,40}$/.test(key)) {
    try {
      return decodeAddress(key);
    } catch { /* answered below */ }
  }
  throw new RequestError(
    "request/bad-key",
    "the key must be a compressed public key (66 hex digits) or an address",
  );
}

/** The reputation route over `chain` (parameters: the network's, unless given). */
export function reputationRoutes(chain: ChainNode, params?: ReputationParams): Hono {
  const app = new Hono();
  const reputations = new ChainReputation(chain, params);
  const evidence = new LocalEvidence(chain.store.kv);
  const recordJson = (r: Readonly<LocalEvidenceRecord> | null) =>
    r && {
      epoch: r.epoch,
      jobs: r.jobs,
      positions: r.positions,
      exceeded: r.exceeded,
      llr: r.llr,
      flagged: r.flagged,
    };
  app.get("/v1/reputation/:key", async (c) => {
    const nodeHash = nodeHashOfKey(c.req.param("key"));
    const s = await reputations.snapshot();
    const n = s.node(nodeHash);
    const interval = chain.params.sprint.interval;
    const address = addressFromHash(nodeHash);
    const [current, previous] = await Promise.all([
      evidence.read(s.epoch, address),
      s.epoch > 0 ? evidence.read(s.epoch - 1, address) : null,
    ]);
    return c.json({
      network: chain.params.name,
      address,
      tip: s.tip,
      epoch: { current: s.epoch, start: s.epoch * interval, blocks: interval },
      epochsCounted: s.epochsCounted,
      known: n.known,
      reputation: n.reputation,
      maturityEpochs: s.params.maturityEpochs,
      lastActiveEpoch: n.lastActiveEpoch,
      lastFraud: n.lastFraud,
      lastFlag: n.lastFlag,
      validationProbability: n.validationProbability,
      floor: s.floor,
      jobVolume: s.volume,
      jobs: n.jobs,
      chainEvidence: {
        test: MARGIN_TEST,
        currentEpoch: recordJson(n.evidence.currentEpoch),
        lastEpoch: recordJson(n.evidence.lastEpoch),
      },
      localEvidence: {
        source: "this node's own checks as a verifier, not chain data",
        flagged: !!(current?.flagged || previous?.flagged),
        test: evidence.test,
        currentEpoch: recordJson(current),
        lastEpoch: recordJson(previous),
      },
    });
  });
  return app;
}
