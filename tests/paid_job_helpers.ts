/**
 * @module Test helpers that put paid jobs on a dev chain with the chain's own job builders: outputs
 * funded from a key's confirmed coins, a job staked on an output (escrow and stake submitted) with
 * its payment, and mining to the close of an epoch (a sprint interval). Used by the reputation tests
 * and bench.
 */

import { outputCommitment } from "../chain/commitment.ts";
import { type Job, jobIdBytes } from "../chain/job.ts";
import { fundJobOutput, heldPayout, type JobCoin, payTx } from "../chain/job_tx.ts";
import type { ChainNode } from "../chain/node.ts";
import { COIN } from "../chain/params.ts";
import { scriptAddress } from "../chain/script.ts";
import { encodeTransaction, txid, type TxOutput } from "../chain/tx.ts";
import { mine, type TestKey } from "./chain_helpers.ts";
import { jobOutputs, sampleJob } from "./job_spend_helpers.ts";

/** Funds `output` from `key`'s spendable confirmed coins and submits it; the transaction's id. */
export async function fundFrom(
  node: ChainNode,
  key: TestKey,
  output: TxOutput,
  jobId: Uint8Array,
): Promise<string> {
  const next = node.tip().height + 1;
  const utxos = (await node.getAddressCoins(scriptAddress(key.script)!))
    .filter((c) => !c.coin.coinbase || next - c.coin.height >= node.params.coinbaseMaturity)
    .map((c) => ({ txid: c.txid, vout: c.vout, ...c.coin }));
  const { tx, bytes } = fundJobOutput(output, jobId, {
    utxos,
    secretKey: key.secret,
    fee: 20_000n,
  });
  await node.processTx(bytes);
  return txid(tx);
}

let jobCounter = 0;

/** A job of `client` staked by `compute` on `output` (both submitted, not mined). */
export async function stakedJob(
  node: ChainNode,
  client: TestKey,
  compute: TestKey,
  job: Job = {
    ...sampleJob(client, node.tip().height + 40),
    timestamp: 1_800_000_000 + ++jobCounter,
  },
  output: { outputTokens: number[]; finishReason: "stop" | "length" } = {
    outputTokens: [5, 6],
    finishReason: "stop",
  },
) {
  const id = jobIdBytes(job);
  const { jobId, escrowOut, stakeOut } = jobOutputs(
    job,
    client,
    compute,
    outputCommitment(id, output.outputTokens, output.finishReason),
    { escrow: 3n * COIN, stake: COIN },
  );
  const escrow: JobCoin = {
    txid: await fundFrom(node, client, escrowOut, jobId),
    vout: 0,
    ...escrowOut,
  };
  const stake: JobCoin = {
    txid: await fundFrom(node, compute, stakeOut, jobId),
    vout: 0,
    ...stakeOut,
  };
  const pay = () =>
    node.processTx(
      encodeTransaction(
        payTx(escrow, stake, heldPayout(stake, 20_000n), jobId, client.secret),
      ),
    );
  return { job, jobId, escrow, stake, pay };
}

/** Mines up to the first block of epoch k + 1, so that epoch `k` is closed. */
export async function closeEpoch(node: ChainNode, miner: TestKey, k: number): Promise<void> {
  const first = (k + 1) * node.params.sprint.interval;
  await mine(node, miner, first - node.tip().height);
}
