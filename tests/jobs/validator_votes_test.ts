/**
 * Validator draws on outsourced verdicts (issue 16, "who validates"), on a real dev node in-process
 * with a real verifier service: without weights every verifier votes as before (no ticket); with
 * sprint proofs on chain the verifier votes only when due, with a ticket that anyone can check, and
 * answers not-due for its own job; verdicts whose ticket does not check are refused with their
 * codes and do not count; a due vote is a validation record bound to the job and output. End to
 * end, with a real compute node's job worker in-process: the real client pays with a validation
 * pool, the executor's node takes that payment (and refuses one with a wrong pool value or naming
 * a weightless key's record), the client's distribution pays the due validator the pool less the
 * fee (the pool its only input, the fee twice the node's relay fee rate a byte) with its record, the validator's node claims its reward at the epoch's end, and the pool of a job nobody
 * validated goes to the executor's node there; without weights in force it pays as before (one
 * output). And the messages' new fields, strictly decoded.
 */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { outputCommitment } from "../../chain/commitment.ts";
import { DecodeError } from "../../chain/errors.ts";
import { hash160 } from "../../chain/hash.ts";
import { heldPayout, payTx, payWithPoolTx, signFirstInput } from "../../chain/job_tx.ts";
import { encodePay } from "../../chain/job_unlock.ts";
import { parseOutputScript, validatorRewardScript } from "../../chain/script.ts";
import { epochEnd } from "../../chain/sprint.ts";
import { decodeTransaction, encodeTransaction, txid } from "../../chain/tx.ts";
import {
  recordFault,
  signRecord,
  type ValidationRecord,
  validationRecordScript,
  VALIDATOR_PART_DIVISOR,
  validatorSplit,
} from "../../chain/validation_record.ts";
import { describePaidValidators } from "../../client/phases/distribute.ts";
import { ComputeJobStore } from "../../compute/jobs/job_store.ts";
import { ValidatorRewards } from "../../compute/jobs/validator_rewards.ts";
import { checkPayment, type PaymentTerms } from "../../compute/jobs/worker_payment.ts";
import { sha256 } from "../../chain/hash.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import {
  decodeJobMessage,
  encodeJobMessage,
  isJobPayload,
  type JobMessage,
  type VerdictMessage,
} from "../../client/job_messages.ts";
import { outsourceVerification, tallyCheck } from "../../client/outsourced.ts";
import { fetchWeights } from "../../client/phases/choose.ts";
import { offerJob } from "../../client/phases/offer.ts";
import { fetchReputation } from "../../client/phases/reputation.ts";
import { isDueToValidate, ticketDraw, validationTicket } from "../../chain/validator_draw.ts";
import {
  checkNotDue,
  checkVerdictTicket,
  chooseVoters,
  drawFor,
  type DueContext,
  dueContextOf,
  signVerdictRecord,
  VALIDATORS_PER_JOB,
  ValidatorTicketError,
} from "../../client/validator_ticket.ts";
import { nodeValidatorDuty } from "../../compute/jobs/validator_duty.ts";
import { VerifierService } from "../../compute/jobs/verifier_service.ts";
import { ModelStore } from "../../compute/model_store.ts";
import { createEnvelope, type Envelope } from "../../relay/envelope.ts";
import { newKey, type TestKey } from "../chain_helpers.ts";
import { fixtureModel, honestOutput } from "../fixture_job.ts";
import { waitFor } from "../process_helpers.ts";
import { type PhaseBench, phaseBench, sendAs, TERMS, weighedBench } from "./phase_helpers.ts";
import { fixtureFileBench, serveValidationAndJobs, submitBenchJob } from "./validation_bench.ts";

const addressOf = (k: TestKey) => addressFromPublicKey(publicKeyOf(k.secret));

/** The code of a refused ticket. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ValidatorTicketError, `not a ticket error: ${e}`);
    return e.code;
  }
  return "accepted";
}

/** Sends a verdict (or not-due) as `from` to the bench's client. */
function answerAs(b: PhaseBench, from: TestKey, m: JobMessage): Promise<void> {
  const env = createEnvelope(
    {
      magic: b.node.chain.params.magic,
      type: "direct",
      to: b.s.clientKey,
      payload: encodeJobMessage(m),
    },
    publicKeyOf(from.secret),
    from.secret,
  );
  return b.api.postEnvelope(env).then(() => undefined);
}

Deno.test("validators by weight: no weights, every verifier votes without a ticket; with weights a due validator's ticket checks, the executor is never due, forged tickets are refused with their codes and do not count", async () => {
  const fixture = await fixtureModel();
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.gguf`, fixture.gguf);
  const b = await phaseBench();
  try {
    const heavy = b.compute; // it proves (weighedBench) and validates
    const someExecutor = addressOf(newKey());
    const evidence: { jobId: string; margins: number }[] = [];
    new VerifierService({
      network: b.node.network,
      models: await ModelStore.open({ files: [`${dir}/m.gguf`] }),
      minIntervalMs: 0,
      validator: nodeValidatorDuty(b.api, heavy.secret),
      evidence: (jobId, _output, margins) =>
        Promise.resolve(evidence.push({ jobId, margins: margins.length })),
    });
    const offered = await offerJob(b.s, { ...TERMS, modelId: fixture.modelId, maxTokens: 24 });
    const honest = await honestOutput(fixture, offered.job, offered.jobId);
    const output = { outputTokens: honest.outputTokens, finishReason: honest.finishReason };
    const stakeCommitment = outputCommitment(
      offered.jobId,
      output.outputTokens,
      output.finishReason,
    );
    const commitment = toHex(stakeCommitment);
    const ask = (
      o: {
        validators: DueContext | null;
        executor: string;
        verifiers?: number;
        timeoutMs?: number;
      },
    ) =>
      outsourceVerification(b.s, offered, output, commitment, {
        verifiers: o.verifiers ?? 1,
        timeoutMs: o.timeoutMs ?? 30_000,
        executor: o.executor,
        validators: o.validators,
      });

    // No sprint has closed: no weights, the old path (a vote without a ticket counts).
    const none = await fetchWeights(b.api);
    assert.ok("unavailable" in none);
    assert.equal(dueContextOf(none, someExecutor), null);
    const open = await ask({ validators: null, executor: someExecutor });
    assert.deepEqual(open.selection, { by: "any-verifier", reason: "no compute weights in force" });
    assert.equal(open.votes.length, 1);
    assert.equal(open.votes[0].verdict, "honest");
    assert.equal(open.votes[0].validator, undefined, "no ticket without weights");
    assert.deepEqual(open.refused, []);
    assert.equal(tallyCheck(open, 1).verdict, "honest");
    // The service hands its margin evidence on: every position's margin of the job it checked.
    await waitFor("the evidence hook", () => Promise.resolve(evidence.length > 0));
    assert.deepEqual(evidence[0], { jobId: offered.id, margins: output.outputTokens.length });

    // Sprint proofs on chain: heavy 800 nonces, light 200; past the window the weights are in force.
    const { light, newcomer, sprint, proofs } = await weighedBench(b);
    const weights = await fetchWeights(b.api);
    const reputation = await fetchReputation(b.api, addressOf(newcomer));
    const ctx = dueContextOf(weights, addressOf(newcomer), reputation)!;
    assert.ok(ctx, "weights in force");
    assert.equal(ctx.sprint, sprint);
    assert.equal(ctx.validationProbability, 1, "an unknown executor is always validated");
    // Checked by weight only when a verifier serving the model holds weight; else as before.
    assert.deepEqual(chooseVoters(null, [addressOf(heavy)]).selection, {
      by: "any-verifier",
      reason: "no compute weights in force",
    });
    assert.deepEqual(chooseVoters(ctx, [undefined, addressOf(newcomer)]), {
      validators: null,
      selection: {
        by: "any-verifier",
        reason: `no verifier serving the model holds compute weight of sprint ${sprint}`,
      },
      holders: 0,
    });
    assert.deepEqual(chooseVoters(ctx, [addressOf(heavy), undefined]), {
      validators: ctx,
      selection: { by: "weight", sprint },
      holders: 1,
    });
    // Each honest proof earns its nonce count (how many 800 and 200 tries hit is random).
    assert.equal(ctx.byAddress.get(addressOf(heavy)), proofs.heavy);
    assert.equal(ctx.byAddress.get(addressOf(light)), proofs.light);
    assert.equal(ctx.total, proofs.heavy + proofs.light);
    // Heavy is due with certainty when 3 x its share >= 1 (about 50 hits against 12.5 here).
    const heavyShare = proofs.heavy / ctx.total;
    assert.ok(3 * heavyShare >= 1, `heavy share ${heavyShare}`);

    // The due validator votes with a ticket that anyone holding the weights can check.
    const due = await ask({ validators: ctx, executor: addressOf(newcomer) });
    assert.deepEqual(due.selection, { by: "weight", sprint });
    assert.equal(due.votes.length, 1);
    assert.deepEqual(due.refused, []);
    const vote = due.votes[0];
    assert.equal(vote.verdict, "honest");
    assert.equal(vote.validator?.address, addressOf(heavy));
    const ticket = validationTicket(offered.jobId, heavy.secret);
    assert.equal(vote.validator?.draw, ticketDraw(ticket), "Gamma is unique per key and job");
    const rule = {
      weightShare: heavyShare,
      validatorsPerJob: VALIDATORS_PER_JOB,
      validationProbability: 1,
    };
    assert.equal(isDueToValidate(offered.jobId, publicKeyOf(heavy.secret), ticket, rule), true);
    assert.equal(tallyCheck(due, 3).verdict, "honest", "a majority of the due votes decides");
    // Its vote is a validation record for this job and output, as the payment puts it on chain.
    assert.equal(due.records.length, 1);
    const record = due.records[0];
    assert.equal(recordFault(offered.jobId, stakeCommitment, record), null);
    assert.deepEqual(record.validatorKey, publicKeyOf(heavy.secret));
    assert.deepEqual(
      { sprint: record.sprint, verdict: record.verdict, positions: record.positions },
      { sprint, verdict: "honest", positions: due.positions.length },
    );
    assert.deepEqual(record.gamma, ticket.gamma);
    assert.ok(record.exceeded <= record.positions);
    assert.equal(
      recordFault(offered.jobId, sha256(new TextEncoder().encode("other")), record),
      "job/bad-attestation",
      "bound to the output commitment",
    );
    assert.deepEqual(open.records, [], "no record without weights");

    // Forged and undue verdicts, checked as the client does.
    const base: VerdictMessage = {
      t: "verdict",
      jobId: offered.id,
      nonce: "00".repeat(16),
      verdict: "honest",
      checked: [{ position: 0, outcome: "pass", margin: 1.5 }],
    };
    const heavyDraw = drawFor(ctx, offered.jobId, heavy.secret);
    assert.equal(heavyDraw.due, true);
    const signed = (
      t = heavyDraw.ticket,
      key = heavy.secret,
      m = base,
      output = stakeCommitment,
    ): VerdictMessage => ({
      ...m,
      validator: signVerdictRecord(offered.jobId, output, m, t, key),
    });
    const check = (c: DueContext, m: VerdictMessage) =>
      codeOf(() => checkVerdictTicket(c, offered.jobId, stakeCommitment, m));
    assert.equal(check(ctx, signed()), "accepted");
    const lightTicket = drawFor(ctx, offered.jobId, light.secret).ticket;
    const otherJob = sha256(new TextEncoder().encode("another job"));
    const otherJobTicket = drawFor(ctx, otherJob, heavy.secret).ticket;
    const badProof = fromHex(heavyDraw.ticket.proof);
    badProof[97] ^= 1;
    const forged: [string, VerdictMessage, string][] = [
      ["no ticket", base, "validator/no-ticket"],
      [
        "another key's Gamma",
        signed({ ...heavyDraw.ticket, gamma: lightTicket.gamma, proof: lightTicket.proof }),
        "validator/bad-ticket",
      ],
      ["another job id's ticket", signed(otherJobTicket), "validator/bad-ticket"],
      [
        "a bad DLEQ proof",
        signed({ ...heavyDraw.ticket, proof: toHex(badProof) }),
        "validator/bad-ticket",
      ],
      [
        "another sprint",
        signed({ ...heavyDraw.ticket, sprint: sprint + 1 }),
        "validator/wrong-sprint",
      ],
      [
        "signed by another key",
        {
          ...base,
          validator: {
            ...heavyDraw.ticket,
            signature: signed(heavyDraw.ticket, light.secret).validator!.signature,
          },
        },
        "validator/bad-signature",
      ],
      [
        "a verdict changed after signing",
        { ...signed(), verdict: "fraud" },
        "validator/bad-signature",
      ],
      [
        "another exceeded count (a margin changed after signing)",
        { ...signed(), checked: [{ position: 0, outcome: "pass", margin: -1.5 }] },
        "validator/bad-signature",
      ],
      [
        "signed for another output commitment",
        signed(heavyDraw.ticket, heavy.secret, base, sha256(new TextEncoder().encode("other"))),
        "validator/bad-signature",
      ],
      [
        "another request's nonce (the detail digest)",
        { ...signed(), nonce: "01".repeat(16) },
        "validator/bad-signature",
      ],
    ];
    for (const [what, m, code] of forged) assert.equal(check(ctx, m), code, what);
    // A verdict that checked nothing makes no record (1..65535 positions).
    assert.equal(
      codeOf(() => signed(heavyDraw.ticket, heavy.secret, { ...base, checked: [] })),
      "validator/positions",
    );
    // Not due: the executor never validates its own job (its due probability is 0).
    const ownJob = { ...ctx, executor: addressOf(heavy) };
    assert.equal(check(ownJob, signed()), "validator/not-due");
    const notDue = {
      t: "not-due" as const,
      jobId: offered.id,
      nonce: base.nonce,
      validator: heavyDraw.ticket,
    };
    assert.equal(codeOf(() => checkNotDue(ownJob, offered.jobId, notDue)), "accepted");
    assert.equal(codeOf(() => checkNotDue(ctx, offered.jobId, notDue)), "validator/due");
    // Tickets travel through the strict decoder; a malformed one is refused there.
    const wire = decodeJobMessage(encodeJobMessage(signed())) as VerdictMessage;
    assert.equal(check(ctx, wire), "accepted");
    assert.throws(
      () =>
        decodeJobMessage(
          encodeJobMessage({
            ...base,
            validator: { ...signed().validator!, gamma: "ab".repeat(64) },
          }),
        ),
      DecodeError,
    );

    // On the wire: for heavy's own job the service answers not-due; forged verdicts sent beside it
    // are refused with their codes, and nothing counts as a vote.
    const forger = newKey();
    const listener = (e: object) => {
      const env = (e as CustomEvent<{ envelope: Envelope }>).detail.envelope;
      if (env.type !== "direct" || !isJobPayload(env.payload)) return;
      const m = decodeJobMessage(env.payload);
      if (m.t !== "verify-request") return;
      const answer = {
        ...base,
        nonce: m.nonce,
        checked: m.positions.map((position) => ({ position, outcome: "pass" as const, margin: 2 })),
      };
      const ticketFor = (t = heavyDraw.ticket) =>
        signVerdictRecord(offered.jobId, stakeCommitment, answer, t, heavy.secret);
      void answerAs(b, forger, answer);
      void answerAs(b, forger, {
        ...answer,
        validator: ticketFor({
          ...heavyDraw.ticket,
          gamma: lightTicket.gamma,
          proof: lightTicket.proof,
        }),
      });
      void answerAs(b, light, { ...answer, validator: ticketFor() });
    };
    /** Asks for heavy's own job (heavy answers not-due, so no vote counts) with 2 answers wanted. */
    const askOwnJob = async (timeoutMs: number) => {
      const r = await ask({
        validators: ownJob,
        executor: addressOf(heavy),
        verifiers: 2,
        timeoutMs,
      });
      assert.deepEqual(r.votes, []);
      assert.deepEqual(r.notDue, [addressOf(heavy)]);
      return r;
    };
    b.node.network.events.addEventListener("message", listener);
    try {
      const own = await askOwnJob(4_000);
      assert.deepEqual(
        own.refused.map((r) => r.code).sort(),
        ["validator/bad-ticket", "validator/no-ticket", "validator/not-due"],
      );
      assert.equal(tallyCheck(own, 2).verdict, "inconclusive", "no due vote: not validated");
    } finally {
      b.node.network.events.removeEventListener("message", listener);
    }

    // A verifier whose key holds no weight answers as before (a plain verdict), which a client
    // checking by weight refuses.
    new VerifierService({
      network: b.node.network,
      models: await ModelStore.open({ files: [`${dir}/m.gguf`] }),
      minIntervalMs: 0,
      validator: nodeValidatorDuty(b.api, newcomer.secret),
    });
    const weightless = await askOwnJob(3_000);
    assert.deepEqual(weightless.refused.map((r) => r.code), ["validator/no-ticket"]);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("job messages: verify-request names the executor and the sprint; not-due carries an unsigned ticket; tickets decode strictly", () => {
  const id = "ab".repeat(32);
  const request = {
    t: "verify-request" as const,
    jobId: id,
    job: "00",
    outputTokens: [1, 2],
    finishReason: "stop" as const,
    positions: [0, 1],
    nonce: "01".repeat(16),
  };
  const executor = addressOf(newKey());
  for (const m of [request, { ...request, executor, sprint: 3 }]) {
    assert.deepEqual(decodeJobMessage(encodeJobMessage(m)), m);
  }
  const ticket = {
    key: "02" + "11".repeat(32),
    sprint: 3,
    gamma: "04" + "22".repeat(64),
    proof: "33".repeat(98),
  };
  const notDue = { t: "not-due" as const, jobId: id, nonce: request.nonce, validator: ticket };
  assert.deepEqual(decodeJobMessage(encodeJobMessage(notDue)), notDue);
  const raw = (v: object) => new TextEncoder().encode(JSON.stringify({ p: "camelid/job/1", ...v }));
  const refused = (v: object) =>
    assert.throws(
      () => decodeJobMessage(raw(v)),
      (e) => e instanceof DecodeError && e.code === "job-message/malformed",
    );
  refused({ ...request, sprint: 0 });
  refused({ ...request, executor: "not an address" });
  refused({ ...notDue, validator: { ...ticket, signature: "44".repeat(64) } });
  refused({ ...notDue, validator: { ...ticket, proof: "33".repeat(97) } });
  const verdict = { t: "verdict", jobId: id, nonce: request.nonce, verdict: "honest", checked: [] };
  refused({ ...verdict, validator: ticket }); // a verdict's ticket is signed
  refused({ ...verdict, validator: { ...ticket, signature: "44".repeat(64), sprint: 1.5 } });
  assert.deepEqual(
    decodeJobMessage(raw({ ...verdict, validator: { ...ticket, signature: "44".repeat(64) } })),
    { ...verdict, validator: { ...ticket, signature: "44".repeat(64) } },
  );
});

Deno.test("validation pool end to end: the real client pays with a pool and, after the check, distributes it to the due validator (mined); the executor's node refuses a payment with a wrong pool value or validator pairs, books its pool and drops it once distributed; the validator's node claims its reward at the epoch's end; a job nobody validated leaves its pool, which the executor's node claims there", async () => {
  const { fixture, dir, modelFile, b } = await fixtureFileBench();
  try {
    const { heavy, newcomer, sprint } = await weighedBench(b);
    const chain = b.node.chain;
    // heavy validates (its weight makes it due for every job); newcomer, weightless, executes.
    const worker = await serveValidationAndJobs(b, modelFile, heavy, newcomer);
    const submit = (outsource?: object) => submitBenchJob(b, fixture.modelId, outsource);
    type Shown = {
      jobId: string;
      units: string;
      paidHeight: number | null;
      heldUntil: number | null;
    };
    const shown = (book: "heldRewards" | "pools", jobId: string) =>
      (worker.status()[book] as Shown[]).find((r) => r.jobId === jobId);
    const store = new ComputeJobStore(chain.store.kv);
    const heldState = async (jobId: string) =>
      (await store.all()).find((j) => j.id === jobId)?.state;
    const total = TERMS.reward - 20_000n;
    const pool = total / BigInt(VALIDATOR_PART_DIVISOR);

    const result = await submit({});
    assert.equal(result.state, "verified");
    const out = result.outsourced!;
    assert.deepEqual(out.selection, { by: "weight", sprint });
    assert.equal(out.votes.length, 1);
    assert.equal(out.votes[0].validator?.address, addressOf(heavy));
    // One validator: the pool less the fee is its reward; the fee, from the pool, is the
    // distribution's size times twice the node's relay fee rate (1 a byte; the mempool's rolling
    // minimum not raised). The executor's node broadcasts the payment a dispute window after the
    // stake, so the client's node holds the distribution until then.
    const paid = out.paidValidators!;
    assert.equal(paid.waiting, true);
    const distFee = 2n * BigInt(paid.tx!.length / 2);
    assert.deepEqual(paid.validators, [{
      address: addressOf(heavy),
      units: (pool - distFee).toString(),
    }]);
    assert.equal(paid.poolUnits, pool.toString());
    assert.equal(paid.feeUnits, distFee.toString());
    assert.equal(
      describePaidValidators(paid),
      `paid validators: 1 (${pool - distFee} units each from the pool of ${pool}); your node ` +
        `holds the distribution until the payment is broadcast`,
    );
    assert.deepEqual(result.notes, []);

    // The executor's node holds the client's one payment: its held reward, then the pool.
    const state = (await heldState(result.jobId))!;
    const holding = decodeTransaction(state.payment!);
    const paymentId = txid(holding);
    const jobId = fromHex(result.jobId, 32);
    const stake = parseOutputScript(state.stake!.script);
    assert.equal(stake.type, "compute-stake");
    assert.deepEqual(holding.outputs.map((o) => o.value), [total - pool, pool]);
    /** The parsed script of a job output of `type` naming `key` (this job, client and output). */
    const jobScript = (type: "validation-pool" | "validator-reward", key: TestKey) => ({
      type,
      jobId,
      nodeHash: hash160(publicKeyOf(key.secret)),
      clientHash: stake.clientHash,
      commitment: stake.commitment,
    });
    assert.deepEqual(
      parseOutputScript(holding.outputs[1].scriptPubKey),
      jobScript("validation-pool", newcomer),
    );

    const escrowTx = (await chain.getTransaction(state.escrow.txid))!.tx;
    const escrow = {
      ...state.escrow,
      scriptPubKey: escrowTx.outputs[state.escrow.vout].scriptPubKey,
    };
    const stakeCoin = { ...state.stake!, scriptPubKey: state.stake!.script };
    const terms: PaymentTerms = {
      escrow: state.escrow,
      client: state.client,
      stake: state.stake!,
    };
    checkPayment(terms, holding); // the client's payment passes
    // A pool one unit short (the held reward one more), signed by the client: refused by consensus.
    const wrongPool = payWithPoolTx(escrow, stakeCoin, 20_000n, jobId, b.client.secret);
    wrongPool.outputs[0].value += 1n;
    wrongPool.outputs[1].value -= 1n;
    wrongPool.inputs[0].scriptSig = encodePay({
      ...signFirstInput(wrongPool, escrow, b.client.secret),
      stake: { txid: state.stake!.txid, vout: state.stake!.vout },
    });
    assert.throws(
      () => checkPayment(terms, wrongPool),
      (e) => (e as { code?: string }).code === "job/validator-split",
    );
    // A payment naming validators by (validator reward, record) pairs after the held reward, a
    // weightless key's record that holds among them: consensus refuses that shape (only a pool's
    // distribution pays validators, eligibility checked), so the executor's node does too.
    /** The client's payment of the job paying `records` their pairs, signed by the client. */
    const paymentWith = (records: ValidationRecord[]) => {
      const stakeOutpoint = { txid: state.stake!.txid, vout: state.stake!.vout };
      const tx = payTx(
        escrow,
        stakeOutpoint,
        heldPayout({ scriptPubKey: state.stake!.script }, 20_000n),
        jobId,
        b.client.secret,
      );
      const { each, executor } = validatorSplit(tx.outputs[0].value, records.length);
      tx.outputs = [
        { ...tx.outputs[0], value: executor },
        ...records.flatMap((r) => [{
          value: each,
          scriptPubKey: validatorRewardScript(
            jobId,
            hash160(r.validatorKey),
            stake.clientHash,
            stake.commitment,
          ),
        }, { value: 0n, scriptPubKey: validationRecordScript(r) }]),
      ];
      tx.inputs[0].scriptSig = encodePay({
        ...signFirstInput(tx, escrow, b.client.secret),
        stake: stakeOutpoint,
      });
      return tx;
    };
    /** `key`'s record of the job: the client's record with that key's ticket, signed by it. */
    const recordBy = (key: TestKey) =>
      signRecord(jobId, stake.commitment, {
        validatorKey: publicKeyOf(key.secret),
        sprint,
        ...validationTicket(jobId, key.secret),
        verdict: "honest",
        positions: 12,
        exceeded: 0,
        detail: sha256(new TextEncoder().encode("a verdict")),
      }, key.secret);
    const forgedRecord = recordBy(newKey());
    assert.equal(recordFault(jobId, stake.commitment, forgedRecord), null);
    assert.throws(
      () => checkPayment(terms, paymentWith([forgedRecord])),
      (e) => (e as { code?: string }).code === "job/pay-not-held",
    );
    // The executor's own record, or no weightless key but its pair, refused alike.
    for (const records of [[recordBy(newcomer)], [forgedRecord, recordBy(newKey())]]) {
      assert.throws(
        () => checkPayment(terms, paymentWith(records)),
        (e) => (e as { code?: string }).code === "job/pay-not-held",
      );
    }
    // Sent to the node as the client's, another payment is not taken: the job is paid already.
    for (const other of [wrongPool, paymentWith([forgedRecord])]) {
      await sendAs(b, b.client, {
        t: "payment",
        jobId: result.jobId,
        tx: toHex(encodeTransaction(other)),
      }, b.node.network.selfKey);
    }

    // Blocks: the node broadcasts the payment a dispute window after the stake (booking its pool
    // first); the held distribution enters the mempool beside it; both are mined.
    const validatorBook = new ValidatorRewards({
      chain,
      secretKey: heavy.secret,
      rewardAddress: addressOf(heavy),
      fee: 20_000n,
    });
    let poolBooked: Shown | undefined;
    const distributed = await waitFor("the distribution mined", async () => {
      poolBooked ??= shown("pools", result.jobId);
      const loc = await chain.getTransaction(paid.distribution);
      if (loc?.height != null) return loc;
      await b.mine(1);
      return null;
    }, 60_000);
    assert.deepEqual(
      poolBooked && { jobId: poolBooked.jobId, units: poolBooked.units },
      { jobId: result.jobId, units: pool.toString() },
      "the executor's node booked its pool",
    );
    const mined = (await chain.getTransaction(paymentId))!;
    assert.ok(mined.height !== null && mined.height <= distributed.height!);
    assert.deepEqual(mined.tx.outputs.map((o) => o.value), [total - pool, pool]);
    // The distribution: the pool, its only input, to heavy's reward and record, nothing else.
    const dist = distributed.tx;
    assert.equal(paid.tx, toHex(encodeTransaction(dist)), "the distribution the client signed");
    assert.deepEqual(
      { txid: toHex(dist.inputs[0].prevout.txid), vout: dist.inputs[0].prevout.vout },
      { txid: paymentId, vout: 1 },
    );
    assert.deepEqual(
      parseOutputScript(dist.outputs[0].scriptPubKey),
      jobScript("validator-reward", heavy),
    );
    assert.deepEqual([dist.inputs.length, dist.outputs.length], [1, 2]);
    assert.equal(dist.outputs[0].value, pool - distFee);
    assert.equal(dist.outputs[1].value, 0n);
    const recordOut = parseOutputScript(dist.outputs[1].scriptPubKey);
    assert.equal(recordOut.type, "validation-record");
    assert.deepEqual(recordOut.record.validatorKey, publicKeyOf(heavy.secret));
    assert.equal(recordFault(jobId, stake.commitment, recordOut.record), null);
    // The executor's node: its held reward is output 0's value; the pool, distributed, is dropped.
    await waitFor(
      "the executor's held reward",
      () =>
        Promise.resolve(shown("heldRewards", result.jobId)?.units === (total - pool).toString()),
    );
    await waitFor(
      "the distributed pool dropped",
      () => Promise.resolve(shown("pools", result.jobId) === undefined),
    );

    // The validator's node finds its reward in the distribution, held until the epoch's end of
    // the distribution's block, then claims it.
    await validatorBook.onBlock();
    const heldUntil = epochEnd(chain.params.sprint, distributed.height!);
    assert.deepEqual(validatorBook.status(), [{
      jobId: result.jobId,
      units: (pool - distFee).toString(),
      paidHeight: distributed.height,
      heldUntil,
    }]);
    await b.mine(heldUntil - 1 - chain.tip().height);
    await validatorBook.onBlock();
    const claim = chain.mempool.entries().find((e) =>
      e.tx.inputs.some((i) => toHex(i.prevout.txid) === paid.distribution && i.prevout.vout === 0)
    );
    assert.ok(claim, "the validator's claim at the epoch's end");
    await b.mine(1);
    await validatorBook.onBlock();
    assert.deepEqual(validatorBook.status(), [], "claimed, then forgotten");
    const coins = await chain.getAddressCoins(addressOf(heavy));
    assert.ok(
      coins.some((c) => c.txid === claim.txid && c.coin.value === pool - distFee - 20_000n),
    );

    // A job nobody validated (no outsourced check): paid with a pool all the same, which nobody
    // distributes; the executor's node claims it at the epoch's end of the payment's block.
    const unchecked = await submit();
    assert.equal(unchecked.state, "delivered");
    assert.equal(unchecked.outsourced, undefined);
    const second = decodeTransaction((await heldState(unchecked.jobId))!.payment!);
    const secondId = txid(second);
    assert.deepEqual(second.outputs.map((o) => o.value), [total - pool, pool]);
    const secondMined = await waitFor("the second payment mined", async () => {
      const loc = await chain.getTransaction(secondId);
      if (loc?.height != null) return loc;
      await b.mine(1);
      return null;
    }, 60_000);
    const poolUntil = epochEnd(chain.params.sprint, secondMined.height!);
    await waitFor("the pool shown held", () =>
      Promise.resolve(
        shown("pools", unchecked.jobId)?.heldUntil === poolUntil &&
          shown("pools", unchecked.jobId),
      ));
    assert.deepEqual(shown("pools", unchecked.jobId), {
      jobId: unchecked.jobId,
      units: pool.toString(),
      paidHeight: secondMined.height,
      heldUntil: poolUntil,
    });
    assert.equal(
      chain.mempool.spender(secondId, 1),
      undefined,
      "not claimed before the epoch's end",
    );
    await b.mine(poolUntil - 1 - chain.tip().height);
    const poolClaim = await waitFor("the executor's claim of the pool", () =>
      Promise.resolve(
        chain.mempool.entries().find((e) =>
          e.tx.inputs.some((i) => toHex(i.prevout.txid) === secondId && i.prevout.vout === 1)
        ),
      ));
    await b.mine(1);
    await waitFor(
      "the claimed pool dropped",
      () => Promise.resolve(shown("pools", unchecked.jobId) === undefined),
    );
    const executorCoins = await chain.getAddressCoins(addressOf(newcomer));
    assert.ok(
      executorCoins.some((c) => c.txid === poolClaim.txid && c.coin.value === pool - 20_000n),
    );
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without weights in force the real client pays as before: one output, the executor's held reward of everything, no pool booked, nothing distributed", async () => {
  const { fixture, dir, modelFile, b } = await fixtureFileBench();
  try {
    const chain = b.node.chain;
    const worker = await serveValidationAndJobs(b, modelFile, newKey(), b.compute);
    assert.ok("unavailable" in await fetchWeights(b.api), "no sprint has closed");
    const result = await submitBenchJob(b, fixture.modelId, {});
    assert.equal(result.state, "verified");
    assert.equal(result.outsourced?.selection.by, "any-verifier");
    assert.equal(result.outsourced?.paidValidators, undefined);
    const state = (await new ComputeJobStore(chain.store.kv).all())
      .find((j) => j.id === result.jobId)!.state;
    const paymentId = txid(decodeTransaction(state.payment!));
    const mined = await waitFor("the payment mined", async () => {
      const loc = await chain.getTransaction(paymentId);
      if (loc?.height != null) return loc;
      await b.mine(1);
      return null;
    }, 60_000);
    assert.deepEqual(mined.tx.outputs.map((o) => o.value), [TERMS.reward - 20_000n]);
    assert.equal(parseOutputScript(mined.tx.outputs[0].scriptPubKey).type, "held-reward");
    await waitFor("the held reward shown", () =>
      Promise.resolve(
        (worker.status().heldRewards as { jobId: string }[]).some((r) => r.jobId === result.jobId),
      ));
    assert.deepEqual(worker.status().pools, []);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
