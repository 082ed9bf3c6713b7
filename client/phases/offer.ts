/**
 * @module Phase 1 of a job: lock the reward in an escrow on chain (coins reserved under the wallet's
 * spend lock) and offer the job to every compute node; the offer can be sent again (nodes that were
 * busy).
 */

import { fromHex, isHex32, toHex } from "../../chain/bytes.ts";
import { encodeJob, type Job, jobIdBytes } from "../../chain/job.ts";
import { escrowOutput, type JobCoin } from "../../chain/job_tx.ts";
import type { OfferMessage } from "../job_messages.ts";
import { JobInbox, type JobSession, sendJobMessage } from "../job_session.ts";
import { fundAndSendBuilt } from "./fund.ts";

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
  /**
   * Offer the job to this compute node alone (envelope key, hex): the offer goes in a direct
   * envelope addressed to it instead of to everyone (a job tree spreads a layer over chosen nodes).
   */
  offerTo?: string;
  /** The job that spawned this one (job id hex): recorded in the contact, bound by the job id. */
  parentJob?: string;
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
  /** The offer as sent (sent again to nodes that were busy). */
  offer: OfferMessage;
  /** The only node the offer is addressed to (terms' `offerTo`); absent = everyone. */
  to?: Uint8Array;
}

/**
 * Builds the job, broadcasts its escrow (funded from the client's coins) and sends the offer. The
 * expiry counts from the tip read under the wallet's spend lock, so jobs started together from one
 * wallet each get their whole `expiryBlocks` from when their escrow goes out.
 */
export async function offerJob(s: JobSession, terms: JobTerms): Promise<OfferedJob> {
  const { txid: escrowTxid, bytes, output, jobId, built: job } = await fundAndSendBuilt(
    s,
    async () => {
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
        contact: contactWithParent(s.node.url, terms.parentJob),
      };
      const jobId = jobIdBytes(job);
      s.events?.watch(toHex(jobId));
      return {
        output: escrowOutput(jobId, s.clientHash, job.expiryHeight, terms.reward),
        jobId,
        built: job,
      };
    },
  );
  const id = toHex(jobId);
  const escrow: JobCoin = { txid: escrowTxid, vout: 0, ...output };
  s.say("offered", { jobId: id, escrow: `${escrow.txid}:0`, expiryHeight: job.expiryHeight });
  const offer: OfferMessage = {
    t: "offer",
    job: toHex(encodeJob(job)),
    escrow: { txid: escrow.txid, vout: 0 },
    escrowTx: toHex(bytes),
  };
  const to = terms.offerTo === undefined ? undefined : fromHex(terms.offerTo, 33);
  await sendJobMessage(s, offer, to);
  const inbox = new JobInbox(s.node, s.clientKey, id, s.events);
  return { job, jobId, id, escrow, inbox, offer, to };
}

/** What a job's contact says after the client's node URL: its parent job in a job tree. */
const PARENT_MARK = "#parent=";

/** The contact of a job: the client's node URL, with `#parent=<job id>` when it has a parent. */
export function contactWithParent(url: string, parentJob?: string): string {
  if (parentJob === undefined) return url;
  if (!isHex32(parentJob)) throw new RangeError("parentJob must be a job id (hex)");
  return `${url}${PARENT_MARK}${parentJob}`;
}

/** The parent job id a contact records (see {@link contactWithParent}); null when none. */
export function parentOfContact(contact: string): string | null {
  const at = contact.lastIndexOf(PARENT_MARK);
  const id = at < 0 ? "" : contact.slice(at + PARENT_MARK.length);
  return isHex32(id) ? id : null;
}
