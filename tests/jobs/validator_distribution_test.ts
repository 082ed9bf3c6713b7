/**
 * The validator's node keeps the client's distribution (issue 16), end to end on a real dev node
 * in-process with a real verifier service validating with the heavy key and a real job worker
 * executing for a weightless key (as tests/jobs/validator_votes_test.ts sets them up): the real
 * client hands its signed distribution to the validator whose vote it counted; the executor's job
 * worker on the same node ignores it (it does not pay its key); the client's node loses its orphan
 * copy (its orphan pool bounds each source, as on test and main the orphan's time to live runs out
 * before the payment is broadcast); the validator's keeper, restarted on the same KV, still keeps
 * it, submits it once the executor's node broadcasts the payment, and drops it once mined. And the
 * `distribution` message, strictly decoded.
 */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { hash160 } from "../../chain/hash.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { payToHashScript } from "../../chain/script.ts";
import { encodeTransaction, NO_JOB, spendInput } from "../../chain/tx.ts";
import { DecodeError } from "../../chain/errors.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  JOB_PROTOCOL,
  MAX_DISTRIBUTION_BYTES,
} from "../../client/job_messages.ts";
import { paidVoterKeys } from "../../client/phases/hand_distribution.ts";
import { DistributionKeeper, distributionPays } from "../../compute/jobs/distribution_keeper.ts";
import type { Envelope } from "../../relay/envelope.ts";
import { decodeTransaction, txid } from "../../chain/tx.ts";
import { newKey } from "../chain_helpers.ts";
import { waitFor } from "../process_helpers.ts";
import { weighedBench } from "./phase_helpers.ts";
import { fixtureFileBench, serveValidationAndJobs, submitBenchJob } from "./validation_bench.ts";

/** A transaction spending a coin nobody knows: an orphan to the node. */
function unknownParentTx(): Uint8Array {
  return encodeTransaction({
    version: 1,
    inputs: [spendInput({ txid: toHex(crypto.getRandomValues(new Uint8Array(32))), vout: 0 })],
    outputs: [{
      value: 1_000n,
      scriptPubKey: payToHashScript(hash160(publicKeyOf(newKey().secret))),
    }],
    lockTime: 0,
    jobId: NO_JOB,
  });
}

Deno.test("the validator's node keeps the client's distribution and submits it once the payment comes, when the client's node no longer holds it; the executor's worker ignores it; a restarted keeper still keeps it; dropped once mined", async () => {
  const { fixture, dir, modelFile, b } = await fixtureFileBench();
  try {
    const { heavy, newcomer } = await weighedBench(b);
    const chain = b.node.chain;
    await serveValidationAndJobs(b, modelFile, heavy, newcomer);
    // The validator's node: its keeper of the distributions paying heavy, fed the node's messages
    // as the job worker feeds its own.
    let keeper = new DistributionKeeper({ chain, secretKey: heavy.secret });
    const received: string[] = [];
    b.node.network.events.addEventListener("message", (e) => {
      const env = (e as CustomEvent<{ envelope: Envelope }>).detail.envelope;
      if (env.type !== "direct" || !isJobPayload(env.payload)) return;
      const m = decodeJobMessage(env.payload);
      if (m.t !== "distribution") return;
      received.push(toHex(env.from));
      keeper.receive(env.from, m);
    });

    const result = await submitBenchJob(b, fixture.modelId, {});
    assert.equal(result.state, "verified");
    const out = result.outsourced!;
    const paid = out.paidValidators!;
    assert.equal(paid.waiting, true, "the client's node holds it until the payment comes");
    // Handed to the envelope key the counted verdict came from (the node's own here).
    assert.deepEqual(paidVoterKeys(paid, out.votes), [toHex(b.node.network.selfKey)]);
    await waitFor("the distribution kept", () => Promise.resolve(keeper.kept === 1));
    assert.deepEqual(received, [toHex(publicKeyOf(b.client.secret))], "sent by the client, once");
    // The executor's worker got it too and ignored it: it pays heavy, not the worker's key.
    const tx = decodeTransaction(fromHex(paid.tx!));
    assert.deepEqual(
      distributionPays(
        tx,
        fromHex(result.jobId, 32),
        publicKeyOf(b.client.secret),
        hash160(publicKeyOf(newcomer.secret)),
      ),
      { refused: "distribution/not-paying" },
    );
    const status = await b.api.status() as unknown as { compute: { distributionsKept: number } };
    assert.equal(status.compute.distributionsKept, 0);

    // The client's node loses its copy: orphans from one source are bounded, the oldest dropped.
    assert.equal(chain.txWhereabouts(paid.distribution)?.reason, "orphan");
    for (let i = 0; chain.txWhereabouts(paid.distribution) !== null; i++) {
      assert.ok(i < 200, "the orphan pool bounds a source");
      assert.equal((await b.api.sendTx(unknownParentTx())).status, "orphan");
    }

    // The validator's node restarts its keeper on the same KV: still kept.
    keeper = new DistributionKeeper({ chain, secretKey: heavy.secret });
    await keeper.onBlock();
    assert.equal(keeper.kept, 1);
    assert.equal(await chain.getTransaction(paid.distribution), null, "nowhere yet");

    // Blocks: the executor's node broadcasts the payment a dispute window after the stake; the
    // keeper submits the distribution then; it is mined, then dropped.
    const mined = await waitFor("the distribution mined", async () => {
      const loc = await chain.getTransaction(paid.distribution);
      if (loc?.height != null) return loc;
      await b.mine(1);
      await keeper.onBlock();
      return null;
    }, 60_000);
    assert.equal(toHex(encodeTransaction(mined.tx)), paid.tx, "the distribution the client signed");
    assert.equal(txid(mined.tx), paid.distribution);
    await keeper.onBlock();
    assert.equal(keeper.kept, 0, "dropped once mined");
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("job messages: a distribution decodes strictly (job id, lowercase hex, at most MAX_DISTRIBUTION_BYTES)", () => {
  const m = { t: "distribution" as const, jobId: "ab".repeat(32), tx: "00".repeat(300) };
  assert.deepEqual(decodeJobMessage(encodeJobMessage(m)), m);
  const largest = { ...m, tx: "00".repeat(MAX_DISTRIBUTION_BYTES) };
  assert.deepEqual(decodeJobMessage(encodeJobMessage(largest)), largest);
  const raw = (v: object) => new TextEncoder().encode(JSON.stringify({ p: JOB_PROTOCOL, ...v }));
  for (
    const bad of [
      { ...m, tx: "00".repeat(MAX_DISTRIBUTION_BYTES + 1) },
      { ...m, tx: "AB" },
      { ...m, tx: "abc" },
      { ...m, jobId: "ab".repeat(31) },
      { ...m, extra: 1 },
      { t: "distribution", jobId: m.jobId },
    ]
  ) {
    assert.throws(
      () => decodeJobMessage(raw(bad)),
      (e) => e instanceof DecodeError && e.code === "job-message/malformed",
    );
  }
});
