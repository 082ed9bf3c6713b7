/**
 * @module Phase 2 of a job: take the first compute node that accepts (releasing the others), or the
 * node drawn by compute weight (phases/choose.ts, drawing again among the untried on a refusal),
 * move on at once to the next when the node taken declines, offer again while the nodes are busy, fail with
 * every node's reason when all decline for good; wait for the receipt (asking again while it does
 * not come), and check that the receipt's stake locks a stake on its commitment for this job and
 * client.
 */

import { equalBytes, fromHex, toHex } from "../../chain/bytes.ts";
import type { JobCoin } from "../../chain/job_tx.ts";
import { decodeAddress } from "../../chain/keys.ts";
import { computeStakeScript } from "../../chain/script.ts";
import { decodeTransaction, txid } from "../../chain/tx.ts";
import { JobClientError } from "../errors.ts";
import type { DeclineMessage, ReceiptMessage } from "../job_messages.ts";
import { isTimeout } from "../errors.ts";
import { type JobSession, sendJobMessage, timeLeft } from "../job_session.ts";
import type { OfferedJob } from "./offer.ts";
import { sayPick, type WeightedChoice } from "./choose.ts";

/** A job a compute node committed to: who, its receipt, and its stake. */
export interface CommittedJob {
  /** The compute node's public key. */
  computeKey: Uint8Array;
  /** Its receipt. */
  receipt: ReceiptMessage;
  /** The stake it locked on its commitment. */
  stake: JobCoin;
}

/**
 * The stake a receipt names, when its transaction locks a stake on the receipt's commitment for this
 * job and client; `JobClientError` `job/bad-receipt` otherwise.
 */
export function checkReceipt(
  receipt: ReceiptMessage,
  jobId: Uint8Array,
  clientHash: Uint8Array,
): JobCoin {
  const stakeTx = decodeTransaction(fromHex(receipt.stakeTx));
  const out = stakeTx.outputs[receipt.stake.vout];
  const expected = computeStakeScript(
    jobId,
    decodeAddress(receipt.rewardAddress),
    clientHash,
    fromHex(receipt.commitment),
  );
  if (txid(stakeTx) !== receipt.stake.txid || !out || !equalBytes(out.scriptPubKey, expected)) {
    throw new JobClientError(
      "job/bad-receipt",
      "the receipt's stake does not lock a stake on this commitment",
    );
  }
  return { ...receipt.stake, value: out.value, scriptPubKey: out.scriptPubKey };
}

/** How often the assignment is sent again while no receipt comes (ms). */
export const ASSIGN_RESEND_MS = 5_000;
/** How long to wait before offering again to nodes that were all busy (ms). */
export const BUSY_RETRY_MS = 2_000;
/** How long a node drawn by weight may leave the offer unanswered before the next is drawn (ms). */
export const OFFER_ANSWER_MS = 5_000;

/** Reasons after which a node will not take the job however long the client waits. */
const FINAL_DECLINES = new Set<DeclineMessage["reason"]>([
  "model-not-held",
  "context-too-long",
  "reward-too-low",
  "stake-too-small",
  "expires-too-soon",
  "bad-escrow",
]);

/** One line per declining node: its key (short), reason code and detail. */
export function describeDeclines(declines: ReadonlyMap<string, DeclineMessage>): string {
  return [...declines].map(([k, d]) => `${k.slice(0, 12)}…: ${d.reason} (${d.detail})`).join("; ");
}

/**
 * Assigns the job to the first node that accepts (a withdraw releases every later accepter at once),
 * then waits for that node's receipt, sending the assignment again every {@link ASSIGN_RESEND_MS}
 * (a node restarted mid-job answers with its receipt), checks it and broadcasts its stake
 * transaction (in case gossip has not brought it yet). A decline from the node taken offers again at
 * once (the next accept wins); nodes all busy get the offer again after {@link BUSY_RETRY_MS}. When every node in
 * `candidates` (keys hex; and any other that answered) declined for a reason waiting cannot change,
 * it fails with `job/declined` naming each reason; at the deadline `job/timeout` names those it got.
 * With `only` (keys hex), an accept from any other node is withdrawn at once. With `choice` (the
 * offer went to its first draw), a refusal of the node drawn (a decline, or no answer within
 * {@link OFFER_ANSWER_MS}) offers the job to the next draw among the untried, accepts from any
 * other node are withdrawn, and nodes that were busy are drawn again after {@link BUSY_RETRY_MS}.
 */
export async function awaitReceipt(
  s: JobSession,
  offered: OfferedJob,
  candidates: readonly string[] = [],
  only?: ReadonlySet<string>,
  choice?: WeightedChoice,
): Promise<CommittedJob> {
  const declines = new Map<string, DeclineMessage>();
  /** Nodes drawn that left the offer unanswered (counted as busy). */
  const silent = new Set<string>();
  /** Nodes drawn that accepted for another reward address than their weight's (counted as final). */
  const refused = new Set<string>();
  /** Every node drawn so far: each may take the job (the first to accept does). */
  const drawnNodes = new Set<string>(choice && offered.to ? [toHex(offered.to)] : []);
  const allowed = choice ? drawnNodes : only;
  let offeredAt = Date.now();
  /** Offers the job to the next node drawn by weight; false when every node was tried. */
  const offerNext = async (after: string): Promise<boolean> => {
    const pick = choice?.next();
    if (!pick) return false;
    sayPick(s, choice!, pick, after);
    drawnNodes.add(pick.node);
    offered.to = fromHex(pick.node, 33);
    offeredAt = Date.now();
    await sendJobMessage(s, offered.offer, offered.to);
    return true;
  };
  const drawn = () => (offered.to ? toHex(offered.to) : null);
  /** True when a drawn node names another reward address than the one whose weight drew it. */
  const borrowsWeight = (key: string, address: string) => {
    const own = choice?.addressOf(key);
    return own !== undefined && own !== null && own !== address;
  };
  let computeKey: Uint8Array | null = null;
  let assignedAt = 0;
  let busySince = 0;
  let receipt: ReceiptMessage | null = null;
  const assign = async (key: Uint8Array) => {
    computeKey = key;
    assignedAt = Date.now();
    await sendJobMessage(s, { t: "assign", jobId: offered.id }, key);
  };
  const answered = () => new Set([...candidates, ...declines.keys()]);
  while (!receipt) {
    let got;
    try {
      got = await offered.inbox.next(Math.min(timeLeft(s), 1_000));
    } catch (e) {
      if (!isTimeout(e)) throw e;
      if (Date.now() >= s.deadline) {
        throw new JobClientError(
          "job/timeout",
          `no compute node took the job in time${
            declines.size ? `; declined by ${describeDeclines(declines)}` : ""
          }`,
        );
      }
    }
    if (got) {
      const { from, m } = got;
      const key = toHex(from);
      if (m.t === "accept") {
        declines.delete(key);
        silent.delete(key);
        if (allowed && !allowed.has(key)) {
          await sendJobMessage(s, { t: "withdraw", jobId: offered.id }, from);
        } else if (!computeKey && borrowsWeight(key, m.rewardAddress)) {
          refused.add(key);
          await sendJobMessage(s, { t: "withdraw", jobId: offered.id }, from);
          await offerNext(`${key.slice(0, 12)}… accepted for another reward address`);
        } else if (!computeKey) {
          await assign(from);
          s.say("accepted", { node: key, rewardAddress: m.rewardAddress });
        } else if (!equalBytes(from, computeKey)) {
          // Released at once, so its queue place serves other jobs.
          await sendJobMessage(s, { t: "withdraw", jobId: offered.id }, from);
        }
      } else if (m.t === "decline") {
        declines.set(key, m);
        s.say("declined", { node: key, reason: m.reason, detail: m.detail });
        if (computeKey && equalBytes(from, computeKey)) {
          computeKey = null; // the node taken lost its place: offer again, the next accept wins
          if (!await offerNext(`${key.slice(0, 12)}… declined`)) {
            await sendJobMessage(s, offered.offer, offered.to);
          }
        } else if (choice && !computeKey && key === drawn()) {
          await offerNext(`${key.slice(0, 12)}… declined`);
        }
      } else if (m.t === "receipt" && computeKey && equalBytes(from, computeKey)) {
        receipt = m;
      }
    }
    if (receipt) break;
    if (computeKey && Date.now() - assignedAt >= ASSIGN_RESEND_MS) await assign(computeKey);
    if (computeKey) continue;
    const target = drawn();
    if (
      choice && target && !declines.has(target) && !silent.has(target) &&
      Date.now() - offeredAt >= OFFER_ANSWER_MS
    ) {
      silent.add(target);
      await offerNext(`${target.slice(0, 12)}… did not answer`);
    }
    const all = answered();
    const final = [...all].every((k) =>
      refused.has(k) || FINAL_DECLINES.has(declines.get(k)?.reason!)
    );
    if (all.size > 0 && final) {
      throw new JobClientError(
        "job/declined",
        `every compute node declined the job: ${
          [
            describeDeclines(declines),
            ...[...refused].map((k) => `${k.slice(0, 12)}…: accepted for another reward address`),
          ].filter(Boolean).join("; ")
        }`,
      );
    }
    const busy = silent.size > 0 ||
      [...declines.values()].some((d) => !FINAL_DECLINES.has(d.reason));
    if (busy && [...all].every((k) => declines.has(k) || silent.has(k) || refused.has(k))) {
      busySince ||= Date.now();
      if (Date.now() - busySince >= BUSY_RETRY_MS) {
        busySince = 0;
        const again = [...silent];
        silent.clear();
        for (const [k, d] of declines) {
          if (!FINAL_DECLINES.has(d.reason)) {
            declines.delete(k);
            again.push(k);
          }
        }
        choice?.retry(again);
        if (!await offerNext("every node drawn was busy")) {
          await sendJobMessage(s, offered.offer, offered.to);
        }
      }
    }
  }
  const stake = checkReceipt(receipt, offered.jobId, s.clientHash);
  if (borrowsWeight(toHex(computeKey!), receipt.rewardAddress)) {
    throw new JobClientError(
      "job/bad-receipt",
      "the receipt pays another reward address than the one whose compute weight drew the node",
    );
  }
  await s.node.sendTx(fromHex(receipt.stakeTx)).catch(() => {});
  s.say("receipt", {
    commitment: receipt.commitment,
    tokens: receipt.tokenCount,
    finish: receipt.finishReason,
    stake: `${stake.txid}:${stake.vout}`,
  });
  return { computeKey: computeKey!, receipt, stake };
}
