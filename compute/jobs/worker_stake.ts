/**
 * @module The job worker's stake and receipt: a stake on the commitment to the generated output,
 * kept in KV with that output (one commit) before its transaction is broadcast, and the receipt that
 * tells the client of it.
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { hash160 } from "../../chain/hash.ts";
import { fundJobOutput, stakeOutput } from "../../chain/job_tx.ts";
import { txid } from "../../chain/tx.ts";
import { outputCommitment } from "../../verifier-wasm/rastic.ts";
import { type ActiveJob, storedState, type WorkerContext } from "./worker_context.ts";

/** Stakes on the output of `a` unless it is staked: output and stake are kept in KV, then broadcast. */
export async function stakeJob(ctx: WorkerContext, a: ActiveJob): Promise<void> {
  if (a.stakeTx) return;
  const { chain, secretKey, fee } = ctx.o;
  const jobId = fromHex(a.id);
  const commitment = outputCommitment(jobId, a.output!, a.finishReason!);
  const stake = stakeOutput(jobId, ctx.keyHash, hash160(a.client), commitment, ctx.o.stake);
  await ctx.o.spendLock(async () => {
    const { tx, bytes } = fundJobOutput(stake, jobId, {
      utxos: await ctx.spendable(),
      secretKey,
      fee,
    });
    a.stake = { txid: txid(tx), vout: 0, value: ctx.o.stake, script: stake.scriptPubKey };
    a.stakeTx = bytes;
    await ctx.store.saveStaked(
      a.id,
      { tokens: Uint32Array.from(a.output!), finishReason: a.finishReason! },
      storedState(a),
    );
    await chain.processTx(bytes);
  });
}

/** Sends the receipt of a staked job to its client. */
export function sendReceipt(ctx: WorkerContext, a: ActiveJob): void {
  ctx.send(a.client, {
    t: "receipt",
    jobId: a.id,
    commitment: toHex(outputCommitment(fromHex(a.id), a.output!, a.finishReason!)),
    tokenCount: a.output!.length,
    finishReason: a.finishReason!,
    rewardAddress: ctx.rewardAddress,
    stake: { txid: a.stake!.txid, vout: a.stake!.vout },
    stakeTx: toHex(a.stakeTx!),
  });
}
