/**
 * @module Helpers of the ledger's job spend tests: a funded dev node, a sample job, and a job with a
 * confirmed escrow and stake, all built with the chain's own job builders (chain/job_tx.ts).
 */

import assert from "node:assert/strict";
import { ValidationError } from "../chain/errors.ts";
import { COIN } from "../chain/params.ts";
import { hash160 } from "../chain/hash.ts";
import { publicKeyOf } from "../chain/keys.ts";
import { outputCommitment } from "../chain/commitment.ts";
import { type Job, jobIdBytes } from "../chain/job.ts";
import { encodeTransaction, type Transaction, txid } from "../chain/tx.ts";
import type { ChainNode } from "../chain/node.ts";
import {
  answerOutput,
  claimOutput,
  escrowOutput,
  fundJobOutput,
  type JobCoin,
  stakeOutput,
} from "../chain/job_tx.ts";
import type { TxOutput } from "../chain/tx.ts";
import { coinbaseOf, mine, newKey, openDevNode, type TestKey } from "./chain_helpers.ts";

/** The dev network's block subsidy. */
export const SUBSIDY = 50n * COIN;

/** Asserts that `p` rejects with a `ValidationError` of `code`. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** HASH160 of a test key's public key. */
export function keyHash(k: TestKey): Uint8Array {
  return hash160(publicKeyOf(k.secret));
}

/** A transaction as sent: its bytes and txid. */
export function sent(tx: Transaction): { bytes: Uint8Array; id: string } {
  return { bytes: encodeTransaction(tx), id: txid(tx) };
}

/** A dev node where a client owns two mature coinbases and a compute node one. */
export async function fundedNode(): Promise<
  { node: ChainNode; close(): void; client: TestKey; compute: TestKey; coins: string[] }
> {
  const { node, close } = await openDevNode();
  const client = newKey();
  const compute = newKey();
  const hashes = await mine(node, client, 2);
  await mine(node, compute, 1);
  await mine(node, newKey(), node.params.coinbaseMaturity);
  const coins = [
    await coinbaseOf(node, hashes[0]),
    await coinbaseOf(node, hashes[1]),
    await coinbaseOf(
      node,
      await node.getHeaders([node.genesisHash()], 3).then(() => node.hashAtHeight(3)!),
    ),
  ];
  return { node, close, client, compute, coins };
}

/** Locks a job output into a 50-coin coinbase owned by `from` (fee 100,000, change back), stamped with the job. */
export function lockJobOutput(
  from: TestKey,
  coin: string,
  output: TxOutput,
  jobId: Uint8Array,
): { tx: Transaction; bytes: Uint8Array; id: string } {
  const funding = {
    utxos: [{ txid: coin, vout: 0, value: SUBSIDY, scriptPubKey: from.script }],
    secretKey: from.secret,
    fee: 100_000n,
  };
  const { tx, bytes } = fundJobOutput(output, jobId, funding);
  return { tx, bytes, id: txid(tx) };
}

/** A job of a client, expiring at `expiryHeight`. */
export const sampleJob = (client: TestKey, expiryHeight: number): Job => ({
  modelId: new Uint8Array(32).fill(9),
  promptTokens: [1, 2, 3],
  seed: 42n,
  maxTokens: 16,
  temperature: 0.5,
  topK: 40,
  topP: 0.875,
  timestamp: 1_800_000_000,
  expiryHeight,
  clientKey: publicKeyOf(client.secret),
  contact: "http://127.0.0.1:8787",
});

/**
 * The escrow output of `client` (`escrowValue`) and the stake output of `compute` committing to
 * `commitment` (`stakeValue`) of `job`, with its id.
 */
export function jobOutputs(
  job: Job,
  client: TestKey,
  compute: TestKey,
  commitment: Uint8Array,
  values: { escrow: bigint; stake: bigint },
) {
  const jobId = jobIdBytes(job);
  return {
    jobId,
    escrowOut: escrowOutput(jobId, keyHash(client), job.expiryHeight, values.escrow),
    stakeOut: stakeOutput(jobId, keyHash(compute), keyHash(client), commitment, values.stake),
  };
}

/** A job with a confirmed escrow (5 coins) and a confirmed stake (2 coins), ready for claims. */
export async function stakedJob(
  node: ChainNode,
  client: TestKey,
  compute: TestKey,
  coins: string[],
  output: { tokens: number[]; finish: "stop" | "length" } | null = null,
) {
  const job = sampleJob(client, node.tip().height + 40);
  const id = jobIdBytes(job);
  const { jobId, escrowOut, stakeOut } = jobOutputs(
    job,
    client,
    compute,
    output ? outputCommitment(id, output.tokens, output.finish) : new Uint8Array(32).fill(3),
    { escrow: 5n * COIN, stake: 2n * COIN },
  );
  const e = lockJobOutput(client, coins[0], escrowOut, jobId);
  const s = lockJobOutput(compute, coins[2], stakeOut, jobId);
  await node.processTx(e.bytes);
  await node.processTx(s.bytes);
  await mine(node, newKey(), 1);
  const stake: JobCoin = { txid: s.id, vout: 0, ...stakeOut };
  /** A claim (or, with a ciphertext, an answer) naming the stake, funded by `from`'s coin. */
  const notice = (
    kind: "claim" | "answer",
    from: TestKey,
    coin: string,
    vout: number,
    value: bigint,
    ciphertext: Uint8Array = new Uint8Array([1, 2, 3]),
  ) =>
    fundJobOutput(
      kind === "claim" ? claimOutput(stake) : answerOutput(stake, ciphertext),
      jobId,
      {
        utxos: [{ txid: coin, vout, value, scriptPubKey: from.script }],
        secretKey: from.secret,
        fee: 50_000n,
      },
    ).bytes;
  return {
    jobId,
    escrow: { txid: e.id, vout: 0, ...escrowOut } as JobCoin,
    stake,
    clientChange: { txid: e.id, vout: 1, value: SUBSIDY - 5n * COIN - 100_000n },
    nodeChange: { txid: s.id, vout: 1, value: SUBSIDY - 2n * COIN - 100_000n },
    notice,
  };
}
