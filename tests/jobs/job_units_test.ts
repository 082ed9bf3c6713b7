/**
 * Units of the job flow that need no network: the decline and withdraw messages (strictly decoded),
 * the client's checks before the escrow (candidatesFor), the refund advice of a failed job, the
 * documented state names, and the wallet lock (two holders never overlap).
 */
import assert from "node:assert/strict";
import { DecodeError } from "../../chain/errors.ts";
import { networkParams } from "../../chain/params.ts";
import {
  DECLINE_REASONS,
  decodeJobMessage,
  encodeJobMessage,
  MAX_DECLINE_DETAIL,
} from "../../client/job_messages.ts";
import { candidatesFor, checkExpiry, type Survey } from "../../client/phases/survey.ts";
import { refundAdvice } from "../../client/job_failure.ts";
import { isJobState, JOB_STATES } from "../../client/job_states.ts";
import { JobClientError } from "../../client/errors.ts";
import { walletSpendLock } from "../../cli/wallet_lock.ts";

const ID = "ab".repeat(32);
const raw = (v: unknown) =>
  new TextEncoder().encode(JSON.stringify({ p: "camelid/job/1", ...v as object }));

Deno.test("decline carries a reason code from a closed set and a bounded detail; withdraw names the job", () => {
  for (const reason of DECLINE_REASONS) {
    const m = { t: "decline" as const, jobId: ID, reason, detail: "why" };
    assert.deepEqual(decodeJobMessage(encodeJobMessage(m)), m);
  }
  assert.deepEqual(decodeJobMessage(encodeJobMessage({ t: "withdraw", jobId: ID })), {
    t: "withdraw",
    jobId: ID,
  });
  const refused = (v: unknown) =>
    assert.throws(
      () => decodeJobMessage(raw(v)),
      (e) => e instanceof DecodeError && e.code === "job-message/malformed",
    );
  refused({ t: "decline", jobId: ID, reason: "tired", detail: "" });
  refused({ t: "decline", jobId: ID, reason: "busy", detail: "x".repeat(MAX_DECLINE_DETAIL + 1) });
  refused({ t: "decline", jobId: ID, reason: "busy" });
  refused({ t: "decline", jobId: ID, reason: "busy", detail: "", extra: 1 });
  refused({ t: "withdraw", jobId: "AB".repeat(32) });
});

Deno.test("before the escrow: no node with the model, no context large enough, no minimum met", () => {
  const survey: Survey = {
    asked: ["http://a", "http://b"],
    compute: [
      { url: "http://a", key: "01", models: ["m1"], contexts: { m1: 1024 }, minReward: 1_000_000n },
      {
        url: "http://b",
        key: "02",
        models: ["m1", "m2"],
        contexts: { m1: 512 },
        minReward: 5_000_000n,
      },
    ],
    verifiers: [],
  };
  const terms = {
    modelId: "m1",
    promptTokens: [1, 2, 3, 4],
    maxTokens: 16,
    seed: 1n,
    temperature: 0,
    topK: 0,
    topP: 1,
    reward: 2_000_000n,
  };
  assert.deepEqual(candidatesFor(survey, terms).map((c) => c.key), ["01"]);
  const code = (t: typeof terms) => {
    try {
      candidatesFor(survey, t);
      return null;
    } catch (e) {
      assert.ok(e instanceof JobClientError);
      assert.match(e.message, /nothing was paid/);
      return e.code;
    }
  };
  assert.equal(code({ ...terms, modelId: "m3" }), "job/no-node");
  assert.equal(code({ ...terms, maxTokens: 1021 }), "job/context-too-long");
  assert.equal(code({ ...terms, maxTokens: 1020 }), null);
  assert.equal(code({ ...terms, reward: 999_999n }), "job/reward-too-low");
  // m2's context is not advertised: the node decides.
  assert.equal(code({ ...terms, modelId: "m2", maxTokens: 8000, reward: 5_000_000n }), null);
});

Deno.test("before the escrow: an expiry under two dispute windows and 5 blocks is refused", () => {
  const dev = networkParams("dev");
  const least = 2 * dev.jobs.disputeWindow + 5;
  const terms = {
    modelId: "m1",
    promptTokens: [1],
    maxTokens: 1,
    seed: 1n,
    temperature: 0,
    topK: 0,
    topP: 1,
    reward: 1n,
  };
  assert.throws(
    () => checkExpiry({ ...terms, expiryBlocks: least - 1 }, dev),
    (e) =>
      e instanceof JobClientError && e.code === "job/expires-too-soon" &&
      /nothing was paid/.test(e.message),
  );
  checkExpiry({ ...terms, expiryBlocks: least }, dev);
  checkExpiry(terms, dev); // the network's default expiry is long enough
});

Deno.test("a failed job's advice names the escrow, its refund height and the command", () => {
  const params = networkParams("dev");
  const atRisk = {
    escrow: { txid: "cd".repeat(32), vout: 0, value: 50_000_000n },
    expiryHeight: 120,
    paymentSent: false,
  };
  const text = refundAdvice(atRisk, 100, params);
  assert.match(
    text,
    new RegExp(
      `escrow ${
        "cd".repeat(32)
      }:0 \\(0\\.5 coins\\) is unpaid and refunds at height 120 \\(19 block`,
    ),
  );
  assert.match(text, /job refund --escrow [0-9a-f]{64}:0/);
  assert.match(refundAdvice(atRisk, 119, params), /refunds now/);
  assert.match(
    refundAdvice({ ...atRisk, paymentSent: true }, 100, params),
    /the payment was sent, so the node may still collect it/,
  );
});

Deno.test("job state names: one meaning each; the chain's paid is not the client's payment-sent", () => {
  for (const s of ["offered", "committed", "paid", "settled", "disputed", "expired"]) {
    assert.ok(isJobState(s), `the job pool's ${s}`);
    assert.notEqual(JOB_STATES[s as keyof typeof JOB_STATES].seenBy, "client");
  }
  assert.equal(JOB_STATES["payment-sent"].seenBy, "client");
  assert.equal(JOB_STATES.paid.seenBy, "chain");
  assert.ok(!isJobState("toString"));
});

Deno.test("the wallet lock lets one spender at a time through", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-wallet-lock-" });
  try {
    const events: string[] = [];
    const spend = (name: string) =>
      walletSpendLock(`${dir}/w.json`)(async () => {
        events.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name}-`);
        return name;
      });
    assert.deepEqual(await Promise.all([spend("a"), spend("b"), spend("c")]), ["a", "b", "c"]);
    for (let i = 0; i < events.length; i += 2) {
      assert.equal(events[i].slice(0, 1), events[i + 1].slice(0, 1), `no overlap: ${events}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
