/**
 * The job client's phases with the subscription (client/subscription.ts) against a real dev node
 * in-process, the compute node's side played by hand: the messages come pushed (the client's inbox
 * is never polled over HTTP), the chain waits of a non-delivery claim wake on pushed tips and job
 * transactions, and without a subscription the same phases poll.
 */

import assert from "node:assert/strict";
import { equalBytes } from "../../chain/bytes.ts";
import { offerJob } from "../../client/phases/offer.ts";
import { type ChainEvent, Subscription } from "../../client/subscription.ts";
import { waitFor } from "../process_helpers.ts";
import {
  claimUntilSlashed,
  commitJob,
  deliverOutput,
  type PhaseBench,
  phaseBench,
  TERMS,
} from "./phase_helpers.ts";

const OUTPUT = { outputTokens: [5, 6, 7], finishReason: "length" as const };

/** Counts the client's own inbox polls (`GET /v1/messages?to=<client>`). */
function countClientPolls(b: PhaseBench): () => number {
  let polls = 0;
  const messages = b.api.messages.bind(b.api);
  b.api.messages = (to, after) => {
    if (equalBytes(to, b.s.clientKey)) polls++;
    return messages(to, after);
  };
  return () => polls;
}

Deno.test("pushed: accept, receipt and delivery reach the client over the subscription, with no inbox poll", async () => {
  const b = await phaseBench();
  const polls = countClientPolls(b);
  b.s.events = await Subscription.connect(b.api.url, b.s.secretKey);
  try {
    const offered = await offerJob(b.s, TERMS);
    const { committed } = await commitJob(b, offered, OUTPUT);
    const { ciphertext, delivery } = await deliverOutput(b, offered, committed);
    assert.deepEqual(delivery, { kind: "delivered", ciphertext });
    assert.equal(polls(), 0, "the client's inbox was never polled");

    // The same phases without a subscription poll the inbox.
    b.s.events.close();
    b.s.events = undefined;
    const polled = await offerJob(b.s, { ...TERMS, seed: 99n });
    await commitJob(b, polled, OUTPUT);
    assert.ok(polls() > 0, "without a subscription the inbox is polled");
  } finally {
    b.s.events?.close();
    await b.close();
  }
});

Deno.test("pushed: an unanswered claim wakes on pushed tips and job transactions, and slashes the stake", async () => {
  const b = await phaseBench();
  b.s.events = await Subscription.connect(b.api.url, b.s.secretKey);
  const events: ChainEvent[] = [];
  b.s.events.onEvent((e) => events.push(e));
  try {
    const offered = await offerJob(b.s, TERMS);
    const { committed } = await commitJob(b, offered, OUTPUT);
    const slashTxid = await claimUntilSlashed(b, offered, committed);
    const jobTxs = events.filter((e) => e.t === "job" && e.jobId === offered.id)
      .map((e) => (e as { txid: string }).txid);
    for (const txid of [offered.escrow.txid, committed.stake.txid]) {
      assert.ok(jobTxs.includes(txid), `the job's transaction ${txid} was pushed`);
    }
    await waitFor("the slash pushed", () => {
      const seen = events.some((e) => e.t === "job" && e.txid === slashTxid);
      return Promise.resolve(seen);
    });
    const tips = events.filter((e) => e.t === "tip").map((e) => e.height);
    assert.ok(tips.length > 0, "tips were pushed");
    assert.deepEqual(tips, [...tips].sort((x, y) => x - y), "in order");
  } finally {
    b.s.events?.close();
    await b.close();
  }
});
