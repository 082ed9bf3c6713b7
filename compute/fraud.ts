/**
 * @module The consensus fraud checker: decides a stake FRAUD proof with the model, by one prefill of
 * the deterministic WASM kernel. A proof holds only when the revealed output matches the stake's
 * commitment and every position it names fails by more than the hard fraud threshold (or is a fault
 * provable from the record alone). Any error, a missing model or a near-tie gives false.
 */

import { getLogger } from "@logtape/logtape";
import { toHex } from "../chain/bytes.ts";
import { equalBytes } from "../chain/bytes.ts";
import type { FraudChecker, FraudClaim } from "../chain/spend.ts";
import { fraudProofHolds } from "../verifier-wasm/rastic.ts";
import { jobRecordOf } from "../client/job_record.ts";
import { outputCommitment, verify } from "../verifier-wasm/mod.ts";
import type { PrefillBackend } from "../verifier-wasm/backend.ts";
import { WasmBackend } from "../verifier-wasm/wasm_backend.ts";
import type { ModelStore } from "./model_store.ts";

const log = getLogger(["camelid", "fraud"]);

/** Decides one claim against the model bytes (and an optional loaded WASM backend). */
export async function checkFraudClaim(
  claim: FraudClaim,
  gguf: Uint8Array,
  backend?: PrefillBackend,
): Promise<boolean> {
  if (
    !equalBytes(
      outputCommitment(claim.jobId, claim.outputTokens, claim.finishReason),
      claim.commitment,
    )
  ) {
    return false;
  }
  const record = jobRecordOf(claim.job, claim.jobId, claim.outputTokens, claim.finishReason);
  const verdict = await verify(record, backend ? { gguf, backend } : gguf, {
    positions: "all",
    generator: "llama",
    backend: "wasm",
  });
  return fraudProofHolds(verdict, claim.positions);
}

/** A {@link FraudChecker} over the models of a store (one WASM backend per model, loaded on first use). */
export function createFraudChecker(models: ModelStore): FraudChecker {
  const backends = new Map<string, Promise<WasmBackend>>();
  return async (claim) => {
    const id = toHex(claim.job.modelId);
    try {
      const gguf = await models.bytes(id);
      let b = backends.get(id);
      if (!b) {
        b = WasmBackend.create(gguf);
        backends.set(id, b);
      }
      const proven = await checkFraudClaim(claim, gguf, await b);
      log.info("Fraud proof for job {job}: {result}", {
        job: toHex(claim.jobId),
        result: proven ? "holds" : "fails",
      });
      return proven;
    } catch (e) {
      log.warn("Fraud proof for job {job} not decidable: {error}", {
        job: toHex(claim.jobId),
        error: (e as Error).message,
      });
      return false;
    }
  };
}
