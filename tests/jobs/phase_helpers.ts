/**
 * @module Helpers of the job-client phase tests: one in-process dev node on loopback with funded
 * client and compute keys, the client's session on it, and the compute node's side played by hand
 * (signed messages over HTTP, a real stake transaction).
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { hash160 } from "../../chain/hash.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { fundJobOutput, stakeOutput } from "../../chain/job_tx.ts";
import { encodeTransaction, txid } from "../../chain/tx.ts";
import type { FraudChecker } from "../../chain/spend.ts";
import { NodeClient } from "../../relay/client.ts";
import { createEnvelope } from "../../relay/envelope.ts";
import { type RunningNode, startNode } from "../../relay/node.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type JobMessage,
} from "../../client/job_messages.ts";
import { type JobSession, openSession } from "../../client/job_session.ts";
import type { JobTerms, OfferedJob } from "../../client/phases/offer.ts";
import { awaitReceipt, type CommittedJob } from "../../client/phases/receipt.ts";
import { awaitDelivery, type Delivery } from "../../client/phases/delivery.ts";
import { encrypt } from "eciesjs";
import { mine, newKey, type TestKey } from "../chain_helpers.ts";
import { waitFor } from "../process_helpers.ts";
import { proveAndSubmit } from "../sprint_helpers.ts";

/** Terms of a small job on a model id of nines. */
export const TERMS: JobTerms = {
  modelId: "09".repeat(32),
  promptTokens: [1, 72, 105],
  maxTokens: 8,
  seed: 7n,
  temperature: 0.75,
  topK: 0,
  topP: 1,
  reward: 3n * COIN,
};

/** A dev node with a funded client and compute node, and the client's session on it. */
export interface PhaseBench {
  /** The node (in-process, loopback HTTP). */
  node: RunningNode;
  /** Its HTTP API. */
  api: NodeClient;
  /** The client's key. */
  client: TestKey;
  /** The compute node's key. */
  compute: TestKey;
  /** The client's session. */
  s: JobSession;
  /** Mines `n` blocks. */
  mine(n: number): Promise<void>;
  /** Stops the node. */
  close(): Promise<void>;
}

/** Starts a dev node (with `fraudChecker` when given) and funds a client and a compute key. */
export async function phaseBench(fraudChecker?: FraudChecker): Promise<PhaseBench> {
  const dir = await Deno.makeTempDir();
  const node = await startNode({
    network: "dev",
    dataDir: dir,
    port: 0,
    mine: false,
    fraudChecker,
  });
  const client = newKey();
  const compute = newKey();
  const miner = newKey();
  await mine(node.chain, client, 2);
  await mine(node.chain, compute, 2);
  await mine(node.chain, miner, node.chain.params.coinbaseMaturity);
  const api = new NodeClient(node.url);
  const s = openSession(api, networkParams("dev"), client.secret, 20_000n, 60_000);
  return {
    node,
    api,
    client,
    compute,
    s,
    mine: async (n) => void await mine(node.chain, miner, n),
    close: async () => {
      await node.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Sends a job message signed by `from` (to one key, or to everyone). */
export async function sendAs(
  b: PhaseBench,
  from: TestKey,
  m: JobMessage,
  to?: Uint8Array,
): Promise<void> {
  const env = createEnvelope(
    { magic: b.node.chain.params.magic, type: "direct", to, payload: encodeJobMessage(m) },
    publicKeyOf(from.secret),
    from.secret,
  );
  await b.api.postEnvelope(env);
}

/** Waits for the first job message of type `t` in `key`'s inbox on the node. */
export function nextMessageTo<T extends JobMessage["t"]>(
  b: PhaseBench,
  key: TestKey,
  t: T,
): Promise<Extract<JobMessage, { t: T }>> {
  return waitFor(`a ${t} message`, async () => {
    for (const { envelope } of await b.api.messages(publicKeyOf(key.secret))) {
      if (!isJobPayload(envelope.payload)) continue;
      const m = decodeJobMessage(envelope.payload);
      if (m.t === t) return m as Extract<JobMessage, { t: T }>;
    }
    return null;
  });
}

/** The compute key's reward address. */
export function rewardAddress(compute: TestKey): string {
  return addressFromPublicKey(publicKeyOf(compute.secret));
}

/**
 * The compute node's side up to its receipt, by hand: a real stake transaction committing to
 * `output` (not broadcast: the client does that) and the receipt message naming it.
 */
export async function stakeAndReceipt(
  b: PhaseBench,
  offered: OfferedJob,
  output: { outputTokens: number[]; finishReason: "stop" | "length" },
  stakeValue = 2n * COIN,
) {
  const commitment = outputCommitment(offered.jobId, output.outputTokens, output.finishReason);
  const stake = stakeOutput(
    offered.jobId,
    hash160(publicKeyOf(b.compute.secret)),
    b.s.clientHash,
    commitment,
    stakeValue,
  );
  const { tx } = fundJobOutput(stake, offered.jobId, {
    utxos: await b.api.spendableCoins(rewardAddress(b.compute)),
    secretKey: b.compute.secret,
    fee: 20_000n,
  });
  const receipt: Extract<JobMessage, { t: "receipt" }> = {
    t: "receipt",
    jobId: offered.id,
    commitment: toHex(commitment),
    tokenCount: output.outputTokens.length,
    finishReason: output.finishReason,
    rewardAddress: rewardAddress(b.compute),
    stake: { txid: txid(tx), vout: 0 },
    stakeTx: toHex(encodeTransaction(tx)),
  };
  return receipt;
}

/** The compute node accepts, waits for the assignment, then sends `receipt`. */
export async function acceptAndReceipt(
  b: PhaseBench,
  offered: OfferedJob,
  receipt: Extract<JobMessage, { t: "receipt" }>,
): Promise<void> {
  await sendAs(
    b,
    b.compute,
    { t: "accept", jobId: offered.id, rewardAddress: rewardAddress(b.compute) },
    b.s.clientKey,
  );
  await nextMessageTo(b, b.compute, "assign");
  await sendAs(b, b.compute, receipt, b.s.clientKey);
}

/**
 * The receipt phase played through: the node stakes on `output` and sends its receipt, and the
 * client's {@link awaitReceipt} takes it.
 */
export async function commitJob(
  b: PhaseBench,
  offered: OfferedJob,
  output: { outputTokens: number[]; finishReason: "stop" | "length" },
): Promise<{ receipt: Extract<JobMessage, { t: "receipt" }>; committed: CommittedJob }> {
  const receipt = await stakeAndReceipt(b, offered, output);
  const waiting = awaitReceipt(b.s, offered);
  await acceptAndReceipt(b, offered, receipt);
  return { receipt, committed: await waiting };
}

/**
 * The delivery phase with no delivery: the client's {@link awaitDelivery} (a 200 ms wait) claims
 * non-delivery while blocks are mined, the claim goes unanswered for the window, and the client
 * slashes the stake; asserts the outcome is `slashed` and returns the slash's txid.
 */
export async function claimUntilSlashed(
  b: PhaseBench,
  offered: OfferedJob,
  committed: CommittedJob,
): Promise<string> {
  const claiming = awaitDelivery(b.s, offered, committed, { timeoutMs: 200 });
  let outcome: Awaited<typeof claiming> | null = null;
  claiming.then((o) => (outcome = o));
  await waitFor("the slash", async () => {
    if (outcome) return true;
    await b.mine(1);
    return false;
  }, 60_000);
  assert.equal(outcome!.kind, "slashed");
  return (outcome as unknown as { txid: string }).txid;
}

/**
 * The delivery phase played through: the client's {@link awaitDelivery} waits while the compute
 * node sends an encrypted output (`{}`); returns the ciphertext sent and what the client got.
 */
export async function deliverOutput(
  b: PhaseBench,
  offered: OfferedJob,
  committed: CommittedJob,
): Promise<{ ciphertext: Uint8Array; delivery: Delivery }> {
  const ciphertext = encrypt(toHex(b.s.clientKey), new TextEncoder().encode("{}"));
  const delivered = awaitDelivery(b.s, offered, committed, { timeoutMs: 20_000 });
  await sendAs(
    b,
    b.compute,
    { t: "delivery", jobId: offered.id, ciphertext: toHex(ciphertext) },
    b.s.clientKey,
  );
  return { ciphertext, delivery: await delivered };
}

/**
 * Weights on the bench's chain: `heavy` (the bench's compute key) proves 800 nonces and `light` 200
 * in one sprint, `newcomer` none; mines past the proof window, so the sprint's weights are in force.
 */
export async function weighedBench(
  b: PhaseBench,
): Promise<
  {
    heavy: TestKey;
    light: TestKey;
    newcomer: TestKey;
    sprint: number;
    /** Nonces in each proof (the weight each earns): random, about 800 / 16 and 200 / 16. */
    proofs: { heavy: number; light: number };
  }
> {
  const chain = b.node.chain;
  const p = chain.params.sprint;
  const heavy = b.compute; // mature coins from the bench
  const light = newKey();
  const newcomer = newKey();
  await mine(chain, light, 1);
  await mine(chain, newcomer, 1);
  const sprint = Math.ceil((chain.tip().height + chain.params.coinbaseMaturity) / p.interval);
  await b.mine(sprint * p.interval - chain.tip().height);
  const proofs = {
    heavy: await proveAndSubmit(chain, heavy, sprint, 800),
    light: await proveAndSubmit(chain, light, sprint, 200),
  };
  await b.mine(1 + p.window);
  return { heavy, light, newcomer, sprint, proofs };
}
