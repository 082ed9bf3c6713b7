/**
 * @module Validator tickets (client/validator_ticket.ts) side by side: what a verifier adds per
 * request (its ticket: a point hashed from the job id, Gamma and the DLEQ proof; the verdict's
 * signature) and what a client adds per vote (the ticket's check and the signature's), beside one
 * plain ECDSA signature check, the cost every signed message already pays.
 */

import { generateSecretKey, publicKeyOf, signPreimage, verifySignature } from "../../chain/keys.ts";
import { sha256 } from "../../chain/hash.ts";
import { addressFromPublicKey } from "../../chain/keys.ts";
import type { VerdictMessage } from "../../client/job_messages.ts";
import {
  checkVerdictTicket,
  drawFor,
  type DueContext,
  signVerdictRecord,
  VALIDATORS_PER_JOB,
} from "../../client/validator_ticket.ts";

const secret = generateSecretKey();
const jobId = sha256(new TextEncoder().encode("a job"));
const commitment = sha256(new TextEncoder().encode("an output"));
const ctx: DueContext = {
  sprint: 1,
  byAddress: new Map([[addressFromPublicKey(publicKeyOf(secret)), 1]]),
  total: 1,
  executor: null,
  validationProbability: 1,
  validatorsPerJob: VALIDATORS_PER_JOB,
};
const verdict: VerdictMessage = {
  t: "verdict",
  jobId: "ab".repeat(32),
  nonce: "01".repeat(16),
  verdict: "honest",
  checked: Array.from({ length: 64 }, (_, position) => ({ position, outcome: "pass", margin: -1 })),
};
const draw = drawFor(ctx, jobId, secret);
const signed = {
  ...verdict,
  validator: signVerdictRecord(jobId, commitment, verdict, draw.ticket, secret),
};
const preimage = new TextEncoder().encode("a message");
const signature = signPreimage(preimage, secret);
const publicKey = publicKeyOf(secret);

Deno.bench("validator: issue a ticket (hash to curve, Gamma, DLEQ proof)", {
  group: "validator ticket",
}, () => {
  drawFor(ctx, jobId, secret);
});
Deno.bench("validator: sign a 64-position verdict as a record", {
  group: "validator ticket",
}, () => {
  signVerdictRecord(jobId, commitment, verdict, draw.ticket, secret);
});
Deno.bench("client: check a signed ticket (DLEQ proof, draw, signature)", {
  group: "validator ticket",
  baseline: true,
}, () => {
  checkVerdictTicket(ctx, jobId, commitment, signed);
});
Deno.bench("one ECDSA signature check (every envelope pays it)", {
  group: "validator ticket",
}, () => {
  verifySignature(signature, preimage, publicKey);
});
