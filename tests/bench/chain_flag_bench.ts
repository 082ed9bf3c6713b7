/**
 * @module What counting a validation record costs the reputation derivation (chain_reputation.ts:
 * decode the 0x09 script, then the eligibility rule of client/record_eligibility.ts under its
 * sprint's weights, which are derived once per sprint and cached), beside what consensus already
 * pays per record in every block (chain/validation_record.ts `recordFault`: the DLEQ proof and the
 * signature), on the same 64 records.
 */

import { outputCommitment } from "../../chain/commitment.ts";
import { sha256 } from "../../chain/hash.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { parseOutputScript } from "../../chain/script.ts";
import {
  recordFault,
  signRecord,
  validationRecordScript,
  verdictDetail,
} from "../../chain/validation_record.ts";
import { validationTicket } from "../../chain/validator_draw.ts";
import { recordIneligibility, type SprintWeights } from "../../client/record_eligibility.ts";

const enc = new TextEncoder();
const validators = Array.from({ length: 8 }, (_, i) => sha256(enc.encode(`bench validator ${i}`)));
const weights: SprintWeights = {
  sprint: 7,
  byAddress: new Map(validators.map((s, i) => [addressFromPublicKey(publicKeyOf(s)), 10 + i])),
};
const executor = addressFromPublicKey(publicKeyOf(sha256(enc.encode("bench executor"))));
const cases = Array.from({ length: 64 }, (_, i) => {
  const jobId = sha256(enc.encode(`bench job ${i}`));
  const commitment = outputCommitment(jobId, [5, 6], "stop");
  const secret = validators[i % validators.length];
  const ticket = validationTicket(jobId, secret);
  const record = signRecord(jobId, commitment, {
    validatorKey: publicKeyOf(secret),
    sprint: 7,
    gamma: ticket.gamma,
    proof: ticket.proof,
    verdict: "honest",
    positions: 24,
    exceeded: 1,
    detail: verdictDetail("00".repeat(16), [{ position: 0, outcome: "pass", margin: -1 }]),
  }, secret);
  return { jobId, commitment, record, script: validationRecordScript(record) };
});

Deno.bench(
  "derivation: decode and eligibility of 64 records",
  { group: "record", baseline: true },
  () => {
    let counted = 0;
    for (const c of cases) {
      const s = parseOutputScript(c.script);
      if (
        s.type === "validation-record" && recordIneligibility(s.record, weights, executor) === null
      ) {
        counted++;
      }
    }
    if (counted === 0) throw new Error("no record counted");
  },
);

Deno.bench("consensus: recordFault (DLEQ and signature) of 64 records", { group: "record" }, () => {
  for (const c of cases) {
    if (recordFault(c.jobId, c.commitment, c.record) !== null) throw new Error("a record faults");
  }
});
