/**
 * @module Tests of the compute-weight node policy: assignment by weight, verifiable validator
 * draws, reputation and validation rates, and the margin test's false-flag and detection rates.
 */

import assert from "node:assert/strict";
import { generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { sha256 } from "../../chain/hash.ts";
import { referenceSprintWords } from "../../chain/sprint.ts";
import { assignmentShares, pickByShare } from "../../client/assignment.ts";
import {
  dueProbability,
  isDueToValidate,
  jobPoint,
  ticketDraw,
  validationTicket,
} from "../../chain/validator_draw.ts";
import {
  DEFAULT_REPUTATION,
  ReputationBook,
  validationFloor,
  validationProbability,
} from "./reputation.ts";
import { expectedPositionsToFlag, MarginEvidence } from "./margin_sprt.ts";

/** Deterministic uniforms in [0, 1) from the SHA-256 stream of a label. */
function uniforms(label: string, n: number): number[] {
  const w = referenceSprintWords(sha256(new TextEncoder().encode(label)), n);
  return Array.from(w, (x) => x / 2 ** 32);
}

Deno.test("assignment: in proportion to weight, newcomers raised to a floor", () => {
  const weights = new Map([["a", 300], ["b", 100], ["c", 0]]);
  const s = assignmentShares(["a", "b", "c"], weights);
  const mean = 400 / 3, floor = 0.05 * mean, total = 400 + floor;
  assert.ok(Math.abs(s.get("a")! - 300 / total) < 1e-12);
  assert.ok(Math.abs(s.get("c")! - floor / total) < 1e-12);
  assert.deepEqual([...assignmentShares(["x", "y"], new Map()).values()], [0.5, 0.5]);
  const counts = new Map<string, number>();
  for (const u of uniforms("assign", 4000)) {
    const c = pickByShare(s, u);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  for (const [c, share] of s) {
    const got = (counts.get(c) ?? 0) / 4000;
    assert.ok(Math.abs(got - share) < 0.2 * share + 0.005, `${c}: ${got} vs ${share}`);
  }
  assert.throws(() => pickByShare(new Map(), 0.5), RangeError);
});

Deno.test("validator draws: unique per key and job, checkable by anyone, at the due rate", () => {
  const sk = generateSecretKey();
  const pk = publicKeyOf(sk);
  const job = sha256(new Uint8Array([1]));
  const t1 = validationTicket(job, sk);
  const t2 = validationTicket(job, sk);
  assert.deepEqual(t1.gamma, t2.gamma, "the draw is fixed by key and job");
  assert.equal(ticketDraw(t1), ticketDraw(t2));
  const sure = { weightShare: 1, validatorsPerJob: 1, validationProbability: 1 };
  assert.equal(isDueToValidate(job, pk, t1, sure), true);
  assert.equal(isDueToValidate(job, publicKeyOf(generateSecretKey()), t1, sure), false);
  assert.equal(isDueToValidate(sha256(new Uint8Array([2])), pk, t1, sure), false);
  const forged = { gamma: validationTicket(job, generateSecretKey()).gamma, proof: t1.proof };
  assert.equal(isDueToValidate(job, pk, forged, sure), false);
  assert.equal(jobPoint(job).length, 65);
  const rule = { weightShare: 0.25, validatorsPerJob: 2, validationProbability: 0.6 };
  assert.equal(dueProbability(rule), 0.3);
  let due = 0;
  const n = 150;
  for (let i = 0; i < n; i++) {
    const j = sha256(new Uint8Array([i, 7]));
    if (isDueToValidate(j, pk, validationTicket(j, sk), rule)) due++;
  }
  // Binomial(150, 0.3): mean 45, standard deviation 5.6.
  assert.ok(Math.abs(due - 45) < 5 * 5.6, `${due} due of ${n}`);
});

Deno.test("reputation: grows epoch by epoch, validation falls to a volume floor, resets, expires", () => {
  const p = { ...DEFAULT_REPUTATION, maturityEpochs: 4, inactiveEpochs: 3, targetChecks: 50 };
  assert.equal(validationFloor(p, 0, 0), 1);
  assert.equal(validationFloor(p, 40, 10), 1);
  assert.equal(validationFloor(p, 100, 500), 0.1, "the greater volume sets the floor");
  assert.equal(validationFloor(p, 1e9, 0), p.minFloor);
  assert.equal(validationProbability(p, 0, 0.1), 1);
  assert.ok(Math.abs(validationProbability(p, 2, 0.1) - 0.55) < 1e-12);
  assert.equal(validationProbability(p, 9, 0.1), 0.1);
  const book = new ReputationBook(p);
  const rates: number[] = [];
  for (let e = 1; e <= 5; e++) {
    rates.push(book.probability("honest", 500, 500));
    book.endEpoch(e, { active: ["honest", "cheat"] });
  }
  assert.deepEqual(rates.map((r) => Math.round(r * 1000) / 1000), [1, 0.775, 0.55, 0.325, 0.1]);
  assert.equal(book.reputation("cheat"), 4);
  book.endEpoch(6, { active: ["honest", "cheat"], fraud: ["cheat"] });
  assert.equal(book.reputation("cheat"), 0);
  assert.equal(book.probability("cheat", 500, 500), 1);
  book.reset("honest", 6); // a statistical flag
  assert.equal(book.reputation("honest"), 0);
  const saved = JSON.parse(JSON.stringify(book.toJSON()));
  const again = new ReputationBook(p, saved);
  assert.deepEqual(again.toJSON(), book.toJSON());
  book.endEpoch(8, { active: ["cheat"] });
  assert.equal(book.has("honest"), true);
  book.endEpoch(9, { active: ["cheat"] });
  assert.equal(book.has("honest"), false, "deleted after 3 idle epochs");
  assert.equal(book.has("cheat"), true);
});

Deno.test("margin test: honest providers rarely flagged, substitutes flagged in about the predicted positions", () => {
  const params = { p0: 0.02, p1: 0.08, alpha: 1e-3 };
  const expected = expectedPositionsToFlag(params);
  assert.ok(expected > 50 && expected < 500, String(expected));
  const level = 0.5;
  const margin = (u: number, rate: number) => (u < rate ? 1 : 0);
  // 1,000 honest providers, 20 jobs of 32 positions each at exactly the bound p0.
  const honest = new MarginEvidence(params);
  const u = uniforms("honest", 1000 * 20 * 32);
  let k = 0, flags = 0;
  for (let prov = 0; prov < 1000; prov++) {
    for (let job = 0; job < 20; job++) {
      const ms = Array.from({ length: 32 }, () => margin(u[k++], params.p0));
      if (honest.observe(`h${prov}`, ms, level)) flags++;
    }
  }
  // At most alpha per provider: about 1 expected in 1,000; 6 or more has probability < 0.1%.
  assert.ok(flags <= 5, `${flags} honest providers flagged`);
  // 50 substituting providers at p1: each flagged, on average near the prediction.
  const cheat = new MarginEvidence(params);
  const v = uniforms("cheat", 50 * 100 * 32);
  const needed: number[] = [];
  k = 0;
  for (let prov = 0; prov < 50; prov++) {
    for (let job = 0; job < 100; job++) {
      const ms = Array.from({ length: 32 }, () => margin(v[k++], params.p1));
      if (cheat.observe(`c${prov}`, ms, level)) {
        needed.push(cheat.evidence(`c${prov}`)!.positions);
      }
    }
    k = (prov + 1) * 100 * 32;
  }
  assert.equal(needed.length, 50, "every substitute flagged within 100 jobs");
  const mean = needed.reduce((s, x) => s + x, 0) / needed.length;
  assert.ok(mean > 0.5 * expected && mean < 2 * expected, `${mean} vs ${expected}`);
  assert.equal(cheat.flagged().length, 50);
  assert.equal(cheat.observe("c0", [1, 1, 1], level), false, "flagged once per epoch");
  cheat.newEpoch();
  assert.equal(cheat.evidence("c0"), undefined);
  assert.throws(() => new MarginEvidence({ p0: 0.1, p1: 0.05, alpha: 0.01 }), RangeError);
});
