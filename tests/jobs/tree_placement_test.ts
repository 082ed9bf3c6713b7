/**
 * Placement of a job tree's jobs (client/tree_placement.ts): with weights read from a real dev node
 * whose chain holds sprint proofs, 10,000 placements follow the weights within binomial bounds
 * (the newcomer floor for the weightless); a busy node is never drawn and the draw follows the
 * weights of the free untried nodes; concurrent attempts never share a node, retry only on untried
 * nodes and wait while every untried node is busy; without weights the least used node is taken,
 * with the single job's fallback reason; a node paid to another address loses its borrowed weight.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { assignmentShares } from "../../client/assignment.ts";
import { fetchWeights, type WeightsLookup } from "../../client/phases/choose.ts";
import type { ComputeAd } from "../../client/phases/survey.ts";
import { type Placement, TreePlacement } from "../../client/tree_placement.ts";
import { describeTreeEvent } from "../../compute/jobs/tree_cli.ts";
import type { TestKey } from "../chain_helpers.ts";
import { assertBinomial } from "../binomial_helpers.ts";
import { prng } from "../prng.ts";
import { phaseBench, rewardAddress, TERMS, weighedBench } from "./phase_helpers.ts";

const DRAWS = 10_000;

/** A surveyed compute node with key `key` advertising `rewardAddress`. */
function ad(key: string | null, address?: string): ComputeAd {
  return {
    url: "http://127.0.0.1:1",
    key,
    models: [TERMS.modelId],
    contexts: {},
    minReward: 0n,
    ...(address ? { rewardAddress: address } : {}),
  };
}

/** Nodes a..e: a, b, c with weights 600, 300, 100 by address, d weightless, e with no address. */
const ADS = [ad("a", "addr-a"), ad("b", "addr-b"), ad("c", "addr-c"), ad("d", "addr-d"), ad("e")];
const LOOKUP: WeightsLookup = {
  sprint: 3,
  byAddress: new Map([["addr-a", 600], ["addr-b", 300], ["addr-c", 100]]),
};
const BY_KEY = new Map([["a", 600], ["b", 300], ["c", 100]]);

/** Takes and at once releases a node `n` times with no node tried; counts where each went. */
async function countPlacements(
  p: TreePlacement,
  n: number,
  tried: ReadonlySet<string> = new Set(),
  check?: (placed: Placement) => void,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const placed = (await p.take(tried, new Map()))!;
    check?.(placed);
    counts.set(placed.node, (counts.get(placed.node) ?? 0) + 1);
    p.release(placed.node);
  }
  return counts;
}

Deno.test("tree placement: weights read from a real node's chain, 10,000 placements follow them", async () => {
  const b = await phaseBench();
  try {
    const { heavy, light, newcomer, sprint } = await weighedBench(b);

    // The tree reads them as a single job does (phases/choose.ts fetchWeights).
    const lookup = await fetchWeights(b.api);
    assert.ok(!("unavailable" in lookup));
    const weightOf = (k: TestKey) => lookup.byAddress.get(rewardAddress(k)) ?? 0;
    assert.ok(weightOf(heavy) > weightOf(light) && weightOf(light) > 0, "both proofs earned");
    const hex = (k: TestKey) => toHex(publicKeyOf(k.secret));
    const keys = [heavy, light, newcomer];
    const placement = new TreePlacement(
      keys.map((k) => ad(hex(k), rewardAddress(k))),
      lookup,
      prng(17),
    );
    assert.deepEqual(placement.rule, { by: "weight", sprint });
    assert.deepEqual(placement.nodes, keys.map(hex));
    const expected = assignmentShares(
      keys.map(hex),
      new Map(keys.map((k) => [hex(k), weightOf(k)])),
    );
    // The newcomer floor: 5% of the mean weight of the three.
    const [wh, wl] = [weightOf(heavy), weightOf(light)];
    const floor = 0.05 * (wh + wl) / 3;
    assert.ok(Math.abs(expected.get(hex(newcomer))! - floor / (wh + wl + floor)) < 1e-12);
    const counts = await countPlacements(placement, DRAWS, new Set(), (placed) => {
      assert.equal(placed.by, "weight");
      assert.equal(placed.among, 3);
      const k = keys.find((k) => hex(k) === placed.node)!;
      assert.equal(placed.weight, weightOf(k), "the weight reported is the chain's");
      assert.ok(Math.abs(placed.share! - expected.get(placed.node)!) < 1e-12, "the share reported");
    });
    assertBinomial(counts, expected, DRAWS);
    assert.ok((counts.get(hex(newcomer)) ?? 0) > 0, "the weightless newcomer gets jobs");
    assert.equal(placement.busy.size, 0, "every node released");
  } finally {
    await b.close();
  }
});

Deno.test("tree placement: a busy or tried node is never drawn; the free untried nodes' weights decide", async () => {
  // The first draw (u = 0) takes a, the heaviest, and holds it: a child of the layer runs on it.
  const draws = [0];
  const random = prng(29);
  const placement = new TreePlacement(ADS, LOOKUP, () => draws.shift() ?? random());
  const held = (await placement.take(new Set(), new Map()))!;
  assert.equal(held.node, "a");
  assert.deepEqual(placement.busy, new Set(["a"]));

  // While a is busy: the others, in proportion to their weights with the floor over the free ones.
  const free = ["b", "c", "d", "e"];
  const sharesFree = assignmentShares(free, BY_KEY);
  const counts = await countPlacements(placement, DRAWS, new Set(), (placed) => {
    assert.notEqual(placed.node, "a", "a busy node is never drawn");
    assert.equal(placed.among, 4);
    assert.ok(Math.abs(placed.share! - sharesFree.get(placed.node)!) < 1e-12);
  });
  assertBinomial(counts, sharesFree, DRAWS);

  // A retry of a child that tried b, with a still busy: among c, d, e only.
  const sharesRetry = assignmentShares(["c", "d", "e"], BY_KEY);
  const retries = await countPlacements(placement, DRAWS, new Set(["b"]), (placed) => {
    assert.ok(!["a", "b"].includes(placed.node), `${placed.node}: busy or tried`);
  });
  assertBinomial(retries, sharesRetry, DRAWS);

  // Every node free and untried again: the full weights.
  placement.release("a");
  const all = await countPlacements(placement, DRAWS);
  assertBinomial(all, assignmentShares([...BY_KEY.keys(), "d", "e"], BY_KEY), DRAWS);
});

Deno.test("tree placement: concurrent attempts never share a node, retry on untried nodes, wait while all are busy", async () => {
  const placement = new TreePlacement(ADS.slice(0, 3), LOOKUP, prng(5));
  const used = new Map<string, number>();
  // Two children hold a and b... (any two: drawn by weight); a third child tried neither and waits.
  const first = (await placement.take(new Set(), used))!;
  const second = (await placement.take(new Set(), used))!;
  assert.notEqual(first.node, second.node);
  const third = (await placement.take(new Set(), used))!;
  assert.equal(new Set([first.node, second.node, third.node]).size, 3, "three nodes, three jobs");
  assert.equal(third.among, 1);
  let fourth: Placement | null | undefined;
  const waiting = placement.take(new Set(), used).then((p) => fourth = p);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fourth, undefined, "waits while every node is busy");
  placement.release(second.node);
  await waiting;
  assert.equal(fourth!.node, second.node, "takes the node freed");
  assert.equal(fourth!.among, 1);
  assert.deepEqual(used, new Map([[first.node, 1], [second.node, 2], [third.node, 1]]));
  assert.equal(
    await placement.take(new Set(["a", "b", "c"]), used),
    null,
    "every node tried: no node, no wait",
  );

  // A layer of 12 children with up to 3 attempts each (the first two attempts fail at random) on
  // 3 nodes with random job times: never two at once on a node, never a node a child tried.
  const live = new Map<string, number>();
  let waited = 0;
  const random = prng(41);
  const child = async () => {
    const tried = new Set<string>();
    for (let attempt = 0; attempt < 3; attempt++) {
      const t0 = performance.now();
      const placed = await placement.take(tried, new Map());
      assert.ok(placed, "three nodes for three attempts");
      if (performance.now() - t0 > 0.5) waited++;
      assert.ok(!tried.has(placed.node), "a retry goes to a node not tried");
      assert.equal(live.get(placed.node) ?? 0, 0, `two jobs at once on ${placed.node}`);
      live.set(placed.node, 1);
      tried.add(placed.node);
      await new Promise((r) => setTimeout(r, random() * 5));
      live.set(placed.node, 0);
      placement.release(placed.node);
      if (attempt === 2 || random() < 0.5) return tried.size;
    }
  };
  for (const n of [first, third, fourth!]) placement.release(n.node);
  const tries = await Promise.all(Array.from({ length: 12 }, child));
  assert.ok(tries.every((t) => t !== undefined && t >= 1 && t <= 3));
  assert.ok(waited > 0, "children beyond the nodes waited for one");
  assert.equal(placement.busy.size, 0);
});

Deno.test("tree placement: without weights the least used free node, with the single job's reason", async () => {
  const old = new TreePlacement(ADS.slice(0, 3), {
    unavailable: "the node gave no weights (http/404)",
  });
  assert.deepEqual(old.rule, {
    by: "least-used",
    reason: "the node gave no weights (http/404)",
  });
  const none = new TreePlacement(
    [ad("x", "addr-x"), ad("y")],
    LOOKUP,
  );
  assert.equal(none.rule.by, "least-used");
  assert.match(
    (none.rule as { reason: string }).reason,
    /no compute node serving the job has weight in sprint 3/,
  );
  const noKey = new TreePlacement([ad(null, "addr-a")], LOOKUP);
  assert.deepEqual(noKey.nodes, []);

  // The least used in the layer; ties go to the first in survey order; busy ones are skipped.
  const used = new Map([["a", 2], ["b", 0], ["c", 1]]);
  const b = (await old.take(new Set(), used))!;
  assert.deepEqual(b, { node: "b", by: "least-used", among: 3 });
  assert.equal(used.get("b"), 1);
  const c = (await old.take(new Set(), used))!;
  assert.deepEqual(c, { node: "c", by: "least-used", among: 2 }, "b is busy");
  old.release("b");
  assert.equal((await old.take(new Set(), used))!.node, "b", "b (1 job) before a (2)");
  old.release("b");
  old.release("c");
  assert.equal((await old.take(new Set(["b"]), new Map()))!.node, "a", "ties: survey order");
  assert.equal(old.paidTo("a", "elsewhere"), false, "no weight to withdraw");
});

Deno.test("tree placement: a node paid to another address than its weight's loses the weight in the tree", async () => {
  const placement = new TreePlacement(ADS, LOOKUP, prng(3));
  assert.equal(placement.paidTo("a", "addr-a"), false, "paid to its own address");
  assert.equal(placement.paidTo("d", "addr-z"), false, "no weight borrowed");
  assert.equal(placement.paidTo("a", "addr-z"), true);
  const shares = assignmentShares(["a", "b", "c", "d", "e"], new Map([["b", 300], ["c", 100]]));
  const counts = await countPlacements(placement, DRAWS, new Set(), (placed) => {
    if (placed.node === "a") assert.equal(placed.weight, 0);
  });
  assertBinomial(counts, shares, DRAWS);
});

Deno.test("tree placement: the progress lines say how the jobs were placed", () => {
  assert.equal(
    describeTreeEvent({ kind: "placement", by: "weight", sprint: 4 }),
    "[tree] jobs placed by compute weight of sprint 4 (drawn among the free nodes)",
  );
  assert.equal(
    describeTreeEvent({ kind: "placement", by: "least-used", reason: "no sprint has closed yet" }),
    "[tree] jobs placed on the least used free node (no weighted draw: no sprint has closed yet)",
  );
  const key = "ab".repeat(33);
  assert.equal(
    describeTreeEvent({
      kind: "attempt",
      path: "0.1",
      computeNode: key,
      attempt: 0,
      by: "weight",
      weight: 300,
      share: 0.2941,
      among: 3,
    }),
    `[0.1] offered to ${
      key.slice(0, 12)
    }… (attempt 1; drawn by weight 300, 29.4% chance among 3 free)`,
  );
  assert.equal(
    describeTreeEvent({
      kind: "attempt",
      path: "0",
      computeNode: key,
      attempt: 1,
      by: "least-used",
      among: 2,
    }),
    `[0] offered to ${key.slice(0, 12)}… (attempt 2; least used of 2 free)`,
  );
});
