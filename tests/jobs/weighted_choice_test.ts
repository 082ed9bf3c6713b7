/**
 * The job client's choice of compute node by compute weight (client/phases/choose.ts): 10,000
 * draws follow the weights within binomial bounds, weightless nodes get the newcomer floor, a
 * redraw after a refusal follows the weights of the untried, the choice falls back to the first
 * accept without weights (an old node, no sprint closed); and on a real dev node in-process whose
 * chain holds sprint proofs, the client reads the weights, offers the job to the node drawn, and on
 * a decline and on silence draws again among the untried until one takes the job.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { assignmentShares } from "../../client/assignment.ts";
import {
  beginChoice,
  describeAssignment,
  fetchWeights,
  finalAssignment,
  WeightedChoice,
  weightedChoiceFor,
} from "../../client/phases/choose.ts";
import type { ComputeAd } from "../../client/phases/survey.ts";
import { offerJob } from "../../client/phases/offer.ts";
import { awaitReceipt, OFFER_ANSWER_MS } from "../../client/phases/receipt.ts";
import { NodeClient } from "../../relay/client.ts";
import type { TestKey } from "../chain_helpers.ts";
import { assertBinomial } from "../binomial_helpers.ts";
import { prng } from "../prng.ts";
import { waitFor } from "../process_helpers.ts";
import { decodeJobMessage, isJobPayload } from "../../client/job_messages.ts";
import {
  nextMessageTo,
  phaseBench,
  rewardAddress,
  sendAs,
  stakeAndReceipt,
  TERMS,
  weighedBench,
} from "./phase_helpers.ts";

const DRAWS = 10_000;

/** Candidates a..e: a, b, c with weights 600, 300, 100 by address, d weightless, e with no address. */
const KEYED = new Map<string, string | null>([
  ["a", "addr-a"],
  ["b", "addr-b"],
  ["c", "addr-c"],
  ["d", "addr-d"],
  ["e", null],
]);
const BY_ADDRESS = new Map([["addr-a", 600], ["addr-b", 300], ["addr-c", 100]]);

Deno.test("weighted choice: 10,000 draws follow the weights, weightless nodes at the newcomer floor", () => {
  const random = prng(16);
  const expected = assignmentShares(
    [...KEYED.keys()],
    new Map([["a", 600], ["b", 300], ["c", 100]]),
  );
  // The newcomer floor: 5% of the mean weight (1000 / 5) for d and e, over 1000 + 2 x 10.
  assert.ok(Math.abs(expected.get("d")! - 10 / 1020) < 1e-12);
  assert.ok(Math.abs(expected.get("e")! - 10 / 1020) < 1e-12);
  const counts = new Map<string, number>();
  for (let i = 0; i < DRAWS; i++) {
    const choice = new WeightedChoice(KEYED, BY_ADDRESS, 3, random);
    const pick = choice.next()!;
    assert.ok(Math.abs(pick.share - expected.get(pick.node)!) < 1e-12, "the share reported");
    counts.set(pick.node, (counts.get(pick.node) ?? 0) + 1);
  }
  assertBinomial(counts, expected, DRAWS);
  assert.ok((counts.get("d") ?? 0) > 0 && (counts.get("e") ?? 0) > 0, "newcomers get jobs");
});

Deno.test("weighted choice: a redraw after a refusal follows the weights of the untried", () => {
  const random = prng(61);
  const after = new Map<string, number>();
  let firstA = 0;
  for (let i = 0; i < DRAWS; i++) {
    const choice = new WeightedChoice(KEYED, BY_ADDRESS, 3, random);
    const first = choice.next()!;
    const second = choice.next()!;
    assert.notEqual(second.node, first.node, "a refused node is not drawn again");
    assert.equal(choice.draws, 2);
    if (first.node !== "a") continue;
    firstA++;
    after.set(second.node, (after.get(second.node) ?? 0) + 1);
    // The mean, and so the newcomer floor, are those of the untried.
    const untried = assignmentShares(
      ["b", "c", "d", "e"],
      new Map([["b", 300], ["c", 100]]),
    );
    assert.ok(Math.abs(second.share - untried.get(second.node)!) < 1e-12);
  }
  assertBinomial(
    after,
    assignmentShares(["b", "c", "d", "e"], new Map([["b", 300], ["c", 100]])),
    firstA,
  );
  const choice = new WeightedChoice(new Map([["x", null], ["y", null]]), new Map(), 1, prng(1));
  const drawn = [choice.next()!.node, choice.next()!.node];
  assert.deepEqual(drawn.toSorted(), ["x", "y"]);
  assert.equal(choice.next(), null, "every node tried");
  choice.retry(["y"]);
  assert.equal(choice.next()!.node, "y", "a busy node is drawn again once let back");
});

Deno.test("weighted choice: falls back to the first accept without weights or keys", async () => {
  const ad = (key: string | null, rewardAddress?: string): ComputeAd => ({
    url: "http://127.0.0.1:1",
    key,
    models: [],
    contexts: {},
    minReward: 0n,
    ...(rewardAddress ? { rewardAddress } : {}),
  });
  const weights = { sprint: 2, byAddress: new Map([["addr-a", 5]]) };
  assert.deepEqual(weightedChoiceFor([ad("a", "addr-a")], { unavailable: "old node" }), {
    fallback: "old node",
  });
  assert.match(
    (weightedChoiceFor([ad("a", "addr-z"), ad("b")], weights) as { fallback: string }).fallback,
    /no compute node serving the job has weight in sprint 2/,
  );
  assert.match(
    (weightedChoiceFor([ad(null, "addr-a")], weights) as { fallback: string }).fallback,
    /no compute node told its key/,
  );
  assert.ok(weightedChoiceFor([ad("a", "addr-a"), ad("b")], weights) instanceof WeightedChoice);

  // An old node (no /v1/weights: a plain 404) and a node whose chain has no closed sprint.
  const old = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response("404 Not Found", { status: 404 }),
  );
  try {
    const lookup = await fetchWeights(new NodeClient(`http://127.0.0.1:${old.addr.port}`));
    assert.ok("unavailable" in lookup);
    assert.match(lookup.unavailable, /the node gave no weights \(http\/404\)/);
  } finally {
    await old.shutdown();
  }
  // A node slower than the survey's time (here 100 ms) is not waited for.
  const slow = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async () => {
    await new Promise((r) => setTimeout(r, 400));
    return Response.json({ sprint: 1, total: 0, weights: [] });
  });
  try {
    const lookup = await fetchWeights(new NodeClient(`http://127.0.0.1:${slow.addr.port}`), 100);
    assert.deepEqual(lookup, { unavailable: "the node gave no weights within 100 ms" });
  } finally {
    await slow.shutdown();
  }
  const b = await phaseBench();
  try {
    const lookup = await fetchWeights(b.api);
    assert.deepEqual(lookup, { unavailable: "no sprint has closed yet" });
    const said: [string, Record<string, unknown>][] = [];
    b.s.say = (state, d) => said.push([state, d]);
    const started = beginChoice(b.s, [ad("a", "addr-a")], lookup);
    assert.equal(started.choice, null);
    assert.deepEqual(said, [["chosen", {
      by: "first-accept",
      reason: "no sprint has closed yet",
    }]]);
    const ended = finalAssignment(started.assignment, started.choice, "ab".repeat(33));
    assert.equal(
      describeAssignment(ended),
      `compute node ${"ab".repeat(6)}…: the first to accept (no sprint has closed yet)`,
    );
  } finally {
    await b.close();
  }
});

Deno.test("the client draws by chain weights on a real node: offered to the node drawn, redrawn among the untried on a decline and on silence", async () => {
  const b = await phaseBench();
  try {
    const { heavy, light, newcomer, sprint } = await weighedBench(b);

    const served = await b.api.weights();
    assert.equal(served.sprint, sprint);
    const lookup = await fetchWeights(b.api);
    assert.ok(!("unavailable" in lookup));
    const weightOf = (k: TestKey) => lookup.byAddress.get(rewardAddress(k)) ?? 0;
    assert.ok(weightOf(heavy) > weightOf(light) && weightOf(light) > 0, "both proofs earned");
    assert.equal(weightOf(newcomer), 0);
    for (const w of served.weights) assert.equal(lookup.byAddress.get(w.address), w.weight);

    const hex = (k: TestKey) => toHex(publicKeyOf(k.secret));
    const ad = (k: TestKey): ComputeAd => ({
      url: b.node.url,
      key: hex(k),
      models: [TERMS.modelId],
      contexts: {},
      minReward: 0n,
      rewardAddress: rewardAddress(k),
    });
    const said: Record<string, unknown>[] = [];
    b.s.say = (state, d) => state === "chosen" && said.push(d);
    // Draws: 0 picks the first untried (heavy), 0.999 the last (newcomer), then light alone.
    const draws = [0, 0.999, 0.5];
    const started = beginChoice(
      b.s,
      [ad(heavy), ad(light), ad(newcomer)],
      lookup,
      () => draws.shift()!,
    );
    assert.ok(started.choice && started.first);
    assert.equal(started.first.node, hex(heavy));
    const offered = await offerJob(b.s, { ...TERMS, offerTo: started.first.node });
    const t0 = Date.now();
    const waiting = awaitReceipt(
      b.s,
      offered,
      [...started.choice.weights.keys()],
      undefined,
      started.choice,
    );
    assert.equal((await nextMessageTo(b, heavy, "offer")).escrow.txid, offered.escrow.txid);
    await sendAs(
      b,
      heavy,
      { t: "decline", jobId: offered.id, reason: "busy", detail: "queue full" },
      b.s.clientKey,
    );
    // The newcomer is drawn next and never answers; after OFFER_ANSWER_MS light is drawn.
    await nextMessageTo(b, newcomer, "offer");
    await nextMessageTo(b, light, "offer");
    assert.ok(Date.now() - t0 >= OFFER_ANSWER_MS, "the silent node had its time to answer");
    const asLight = { ...b, compute: light };
    const receipt = await stakeAndReceipt(asLight, offered, {
      outputTokens: [5],
      finishReason: "length",
    });
    await sendAs(
      b,
      light,
      { t: "accept", jobId: offered.id, rewardAddress: rewardAddress(light) },
      b.s.clientKey,
    );
    await nextMessageTo(asLight, light, "assign");
    await sendAs(b, light, receipt, b.s.clientKey);
    const committed = await waiting;
    assert.equal(toHex(committed.computeKey), hex(light));

    const weights = started.choice.weights;
    const shares = [
      assignmentShares([hex(heavy), hex(light), hex(newcomer)], weights).get(hex(heavy)),
      assignmentShares([hex(light), hex(newcomer)], weights).get(hex(newcomer)),
      1,
    ];
    assert.deepEqual(said.map((d) => [d.node, d.share, d.draw, d.after ?? null]), [
      [hex(heavy), Number(shares[0]!.toFixed(4)), 1, null],
      [hex(newcomer), Number(shares[1]!.toFixed(4)), 2, `${hex(heavy).slice(0, 12)}… declined`],
      [hex(light), 1, 3, `${hex(newcomer).slice(0, 12)}… did not answer`],
    ]);
    const assignment = finalAssignment(started.assignment, started.choice, hex(light));
    assert.deepEqual(assignment, {
      by: "weight",
      sprint,
      node: hex(light),
      weight: weightOf(light),
      share: 1,
      draws: 3,
    });
    assert.match(
      describeAssignment(assignment),
      new RegExp(
        `^compute node ${hex(light).slice(0, 12)}…: drawn by compute weight ${
          weightOf(light)
        } of sprint ${sprint} \\(100\\.0% chance in its draw; 3 draw\\(s\\)\\)$`,
      ),
    );

    // A node drawn that accepts for another reward address (borrowing a weight) is withdrawn and
    // the next is drawn; when every node drawn refused for good, the client stops with each reason.
    const second = beginChoice(b.s, [ad(heavy), ad(light)], lookup, () => 0);
    assert.equal(second.first!.node, hex(heavy));
    const offered2 = await offerJob(b.s, { ...TERMS, seed: 8n, offerTo: second.first!.node });
    const refusing = awaitReceipt(
      b.s,
      offered2,
      [...second.choice!.weights.keys()],
      undefined,
      second.choice!,
    ).then(() => null, (e) => e);
    await waitFor("the second offer", async () => {
      for (const { envelope } of await b.api.messages(publicKeyOf(heavy.secret))) {
        if (!isJobPayload(envelope.payload)) continue;
        const m = decodeJobMessage(envelope.payload);
        if (m.t === "offer" && m.escrow.txid === offered2.escrow.txid) return true;
      }
      return null;
    });
    await sendAs(
      b,
      heavy,
      { t: "accept", jobId: offered2.id, rewardAddress: rewardAddress(newcomer) },
      b.s.clientKey,
    );
    await nextMessageTo(b, heavy, "withdraw");
    await waitFor("the redraw", () => Promise.resolve(said.length === 5));
    assert.deepEqual(said.slice(3).map((d) => [d.node, d.after ?? null]), [
      [hex(heavy), null],
      [hex(light), `${hex(heavy).slice(0, 12)}… accepted for another reward address`],
    ]);
    await sendAs(
      b,
      light,
      { t: "decline", jobId: offered2.id, reason: "model-not-held", detail: "no" },
      b.s.clientKey,
    );
    const refusal = await refusing;
    assert.equal(refusal?.code, "job/declined");
    assert.match(refusal.message, /model-not-held/);
    assert.match(refusal.message, /accepted for another reward address/);
  } finally {
    await b.close();
  }
});
