import assert from "node:assert/strict";
import { FIXTURE_TOKENS, makeFixture } from "./fixture.ts";
import { jobRecordOf } from "../client/job_record.ts";
import { honestFixtureJob } from "../tests/fixture_job.ts";
import {
  fraudProofHolds,
  type PrefillBackend,
  type Verdict,
  type VerdictWording,
  verify,
} from "../verifier-wasm/mod.ts";
import { voteOn } from "./jobs/verifier_service.ts";
import { disputePositions } from "../client/phases/verify.ts";

/** Wording that says other things, in the shape the old string parsing looked for. */
const MISLEADING: VerdictWording = {
  position: (c) => `position 0: everything is fine at ${c.position + 1000}`,
  fault: (f) => `position ${f.position === undefined ? 7 : f.position + 1}: not a fault`,
  cite: (p, why) => (p === undefined ? `position 3: ${why}` : `whole record: ${why} (${p})`),
  reason: (v) => `position 1: ${v.reason.length}`,
};

Deno.test("every decision reads verdict data: rewording every message changes no decision", async () => {
  const { gguf, job, jobId, record: honest } = await honestFixtureJob();
  const tokens = honest.outputTokens;
  assert.ok(tokens.length > 4, "the fixture writes a few tokens");
  const mid = Math.floor(tokens.length / 2);
  const changed = [...tokens];
  changed[mid] = tokens[mid] === 100 ? 101 : 100;
  const earlyEnd = [...tokens];
  earlyEnd[1] = FIXTURE_TOKENS.eos;
  const failingBackend: PrefillBackend = {
    name: "wasm",
    vocabSize: 0,
    logitsAt: () => Promise.reject(new Error("out of memory")),
  };
  const cases: {
    name: string;
    tokens: number[];
    finish?: "stop" | "length";
    gguf?: Uint8Array;
    backend?: PrefillBackend;
    threshold?: number;
    reason: Verdict["reason"];
  }[] = [
    { name: "honest", tokens, reason: "none" },
    { name: "changed token", tokens: changed, reason: "position-fail" },
    { name: "near-tie", tokens: changed, threshold: 1e9, reason: "position-near" },
    { name: "early end token", tokens: earlyEnd, reason: "record-fault" },
    { name: "short length", tokens: tokens.slice(0, -1), finish: "length", reason: "record-fault" },
    {
      name: "other model",
      tokens,
      gguf: makeFixture({ size: "tiny", dtype: "f32", seed: 12n }),
      reason: "model-id-mismatch",
    },
    { name: "unusable model", tokens, gguf: new Uint8Array(64), reason: "model-unusable" },
    { name: "failing backend", tokens, backend: failingBackend, reason: "backend-error" },
  ];
  const decisions = (v: Verdict, n: number) => {
    const every = Array.from({ length: n }, (_, i) => i);
    return {
      verdict: v.verdict,
      reason: v.reason,
      proofs: [...every.map((p) => [p]), every, [0, mid]].map((ps) => fraudProofHolds(v, ps)),
      dispute: disputePositions(v, n),
      vote: voteOn(v, every),
    };
  };
  for (const c of cases) {
    const record = jobRecordOf(job, jobId, c.tokens, c.finish ?? honest.finishReason);
    const run = (wording?: VerdictWording) =>
      verify(record, c.backend ? { gguf, backend: c.backend } : c.gguf ?? gguf, {
        positions: "all",
        fraudThreshold: c.threshold,
        wording,
      });
    const plain = await run();
    const reworded = await run(MISLEADING);
    assert.equal(plain.reason, c.reason, `${c.name}: ${plain.reasons.join("; ")}`);
    assert.equal(plain.reasons.length, reworded.reasons.length, c.name);
    plain.reasons.forEach((r, i) => assert.notEqual(r, reworded.reasons[i], c.name));
    assert.deepEqual(
      decisions(reworded, c.tokens.length),
      decisions(plain, c.tokens.length),
      c.name,
    );
  }
});
