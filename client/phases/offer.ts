/** @module Phase 1 of a job: lock the reward in an escrow on chain and offer the job to every compute node. */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { encodeJob, type Job, jobIdBytes } from "../../chain/job.ts";
import { escrowOutput, fundJobOutput, type JobCoin } from "../../chain/job_tx.ts";
import { JobInbox, type JobSession, sendJobMessage } from "../job_session.ts";

/** What the client asks for and pays. */
export interface JobTerms {
  /** Model id (hex). */
  modelId: string;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Output budget. */
  maxTokens: number;
  /** Sampler seed. */
  seed: bigint;
  /** Temperature (rounded to f32). */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off; rounded to f32). */
  topP: number;
  /** Reward in base units. */
  reward: bigint;
  /** Blocks until the escrow refunds (default: the network's). */
  expiryBlocks?: number;
}

/** A job on offer: the job, its id, its escrow and its inbox. */
export interface OfferedJob {
  /** The job as offered. */
  job: Job;
  /** Its id. */
  jobId: Uint8Array;
  /** Its id, hex. */
  id: string;
  /** The escrow output holding the reward. */
  escrow: JobCoin;
  /** Messages about the job. */
  inbox: JobInbox;
}

/** Builds the job, broadcasts its escrow (funded from the client's coins) and sends the offer. */
export async function offerJob(s: JobSession, terms: JobTerms): Promise<OfferedJob> {
  const { height } = await s.node.status();
  const job: Job = {
    modelId: fromHex(terms.modelId, 32),
    promptTokens: terms.promptTokens,
    seed: terms.seed,
    maxTokens: terms.maxTokens,
    temperature: Math.fround(terms.temperature),
    topK: terms.topK,
    topP: Math.fround(terms.topP),
    timestamp: Math.floor(Date.now() / 1000),
    expiryHeight: height + (terms.expiryBlocks ?? s.params.jobs.defaultExpiry),
    clientKey: s.clientKey,
    contact: s.node.url,
  };
  const jobId = jobIdBytes(job);
  const id = toHex(jobId);
  const output = escrowOutput(jobId, s.clientHash, job.expiryHeight, terms.reward);
  const { bytes } = fundJobOutput(output, jobId, {
    utxos: await s.node.spendableCoins(s.address),
    secretKey: s.secretKey,
    fee: s.fee,
  });
  const escrow: JobCoin = { txid: (await s.node.sendTx(bytes)).txid, vout: 0, ...output };
  s.say("offered", { jobId: id, escrow: escrow.txid, expiryHeight: job.expiryHeight });
  await sendJobMessage(s, {
    t: "offer",
    job: toHex(encodeJob(job)),
    escrow: { txid: escrow.txid, vout: 0 },
    escrowTx: toHex(bytes),
  });
  return { job, jobId, id, escrow, inbox: new JobInbox(s.node, s.clientKey, id) };
}
