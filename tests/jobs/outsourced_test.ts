/**
 * Outsourced verification: the tally of votes, and the client asking a real verifier service (on an
 * in-process dev node) about an honest and a false output.
 */

import assert from "node:assert/strict";
import { toHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { outsourceVerification, tallyVotes, type Vote } from "../../client/outsourced.ts";
import { offerJob } from "../../client/phases/offer.ts";
import { VerifierService } from "../../compute/jobs/verifier_service.ts";
import { ModelStore } from "../../compute/model_store.ts";
import { type PhaseBench, phaseBench, TERMS } from "./phase_helpers.ts";
import { fixtureModel, honestOutput } from "../fixture_job.ts";

Deno.test("votes: a majority of the verifiers asked decides; a fraud proof names the positions every fraud voter reports", () => {
  const vote = (key: string, verdict: Vote["verdict"], failing: number[] = []): Vote => ({
    key,
    verdict,
    failing,
  });
  assert.deepEqual(
    tallyVotes([vote("a", "honest"), vote("b", "honest"), vote("c", "fraud", [1])], 3),
    {
      verdict: "honest",
      positions: [],
    },
  );
  assert.deepEqual(tallyVotes([vote("a", "fraud", [1, 4]), vote("b", "fraud", [4, 7])], 3), {
    verdict: "fraud",
    positions: [4],
  });
  assert.deepEqual(tallyVotes([vote("a", "fraud", [1]), vote("b", "fraud", [7])], 3), {
    verdict: "fraud",
    positions: [1],
  });
  assert.deepEqual(tallyVotes([vote("a", "fraud", [1]), vote("b", "honest")], 3), {
    verdict: "inconclusive",
    positions: [],
  });
  assert.equal(tallyVotes([vote("a", "honest")], 3).verdict, "inconclusive", "too few answered");
});

/**
 * A phase bench whose node runs a verifier service (with `limits`) for the fixture model; the bench
 * is closed again if the service does not start.
 */
async function benchWithVerifier(
  limits: { minIntervalMs?: number },
): Promise<{ fixture: Awaited<ReturnType<typeof fixtureModel>>; b: PhaseBench }> {
  const fixture = await fixtureModel();
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.gguf`, fixture.gguf);
  const b = await phaseBench();
  try {
    new VerifierService({
      network: b.node.network,
      models: await ModelStore.open({ files: [`${dir}/m.gguf`] }),
      ...limits,
    });
  } catch (e) {
    await b.close();
    throw e;
  }
  return { fixture, b };
}

Deno.test("outsourced verification: a verifier service answers the client's request with per-position votes", async () => {
  const { fixture, b } = await benchWithVerifier({ minIntervalMs: 0 });
  try {
    const terms = { ...TERMS, modelId: fixture.modelId, maxTokens: 24 };
    const offered = await offerJob(b.s, terms);
    const honest = await honestOutput(fixture, offered.job, offered.jobId);
    const ask = async (outputTokens: number[]) => {
      const output = { outputTokens, finishReason: honest.finishReason };
      const commitment = toHex(outputCommitment(offered.jobId, outputTokens, output.finishReason));
      return await outsourceVerification(b.s, offered, output, commitment, {
        verifiers: 1,
        timeoutMs: 30_000,
      });
    };
    const { votes: yes, positions } = await ask(honest.outputTokens);
    assert.equal(yes.length, 1);
    assert.equal(yes[0].verdict, "honest");
    assert.deepEqual(yes[0].failing, []);
    assert.equal(positions.length, honest.outputTokens.length, "a short output: every position");
    const cheat = [...honest.outputTokens];
    const mid = Math.floor(cheat.length / 2);
    cheat[mid] = cheat[mid] === 100 ? 101 : 100;
    const { votes: no } = await ask(cheat);
    assert.equal(no.length, 1);
    assert.equal(no[0].verdict, "fraud");
    assert.ok(no[0].failing.includes(mid), `failing ${no[0].failing}`);
  } finally {
    await b.close();
  }
});

Deno.test("outsourced verification: one client's requests for several jobs at once are all answered (a burst, not one a second)", async () => {
  // The default per-requester limit, as nodes run it.
  const { fixture, b } = await benchWithVerifier({});
  try {
    const jobs = [];
    for (const seed of [1n, 2n, 3n, 4n]) {
      const offered = await offerJob(b.s, {
        ...TERMS,
        modelId: fixture.modelId,
        maxTokens: 24,
        seed,
      });
      const honest = await honestOutput(fixture, offered.job, offered.jobId);
      jobs.push({ offered, honest });
    }
    // Four jobs' requests at once; the client re-asks every 2 s, so with one answer a second only
    // some would be answered before the deadline.
    const answers = await Promise.all(jobs.map(({ offered, honest }) =>
      outsourceVerification(
        b.s,
        offered,
        { outputTokens: honest.outputTokens, finishReason: honest.finishReason },
        toHex(outputCommitment(offered.jobId, honest.outputTokens, honest.finishReason)),
        { verifiers: 1, timeoutMs: 5_000 },
      )
    ));
    for (const { votes } of answers) {
      assert.equal(votes.length, 1, "every request answered");
      assert.equal(votes[0].verdict, "honest");
    }
  } finally {
    await b.close();
  }
});
