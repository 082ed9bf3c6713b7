/**
 * @module The RASTiC verifier: `verify(job, model, options)` judges a job record (the JSON of
 * `main.ts generate --json`) against a GGUF model on one of three backends (the WASM kernel,
 * onnxruntime-web, or an injected one such as llama.cpp over FFI) and returns
 * honest / fraud / inconclusive with every checked position.
 *
 * Runs unchanged in Deno, Node (bundled as dist/verifier.mjs) and browsers: the verifier imports
 * nothing from the compute node and no runtime-specific API. The llama.cpp backend is Deno-only
 * and lives with the compute node; main.ts hands it to the CLI, which passes it in as
 * `model.backend`.
 */

import { toHex } from "../chain/bytes.ts";
import { modelIdFromBytes } from "../chain/model_id.ts";
import type { PrefillBackend } from "./backend.ts";
import { GGMLType, type GGUFFile, ggufNumber } from "./gguf.ts";
import { readGGUFCached } from "./gguf_cache.ts";
import { OnnxBackend, type OnnxBackendOptions } from "./onnx_backend.ts";
import { WasmBackend } from "./wasm_backend.ts";
import type { WasmLlamaOptions } from "./kernel.ts";
import {
  type BackendName,
  checkPosition,
  choosePositions,
  epsilonFor,
  FRAUD_THRESHOLD,
  type JobRecord,
  outputCommitment,
  parseJobRecord,
  type Randomness,
  recordFailures,
  selectionSeed,
  type Verdict,
  verdictReasons,
  type VerdictWording,
  type WeightType,
} from "./rastic.ts";

export type { PrefillBackend } from "./backend.ts";
export { OnnxBackend, type OnnxBackendOptions } from "./onnx_backend.ts";
export { WasmBackend } from "./wasm_backend.ts";
export { exportOnnx } from "./onnx_export.ts";
export * from "./rastic.ts";

/** The model to check against: GGUF bytes, optionally with an already loaded backend. */
export type VerifyModel = Uint8Array | { gguf: Uint8Array; backend?: PrefillBackend };

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** Backend to load when none is given: "wasm" (default) or "onnx"; "llama" must be injected. */
  backend?: BackendName;
  /** Which runtime generated the job (default "llama", what compute nodes run). */
  generator?: BackendName;
  /** "sampled" (default): continuity, truncation and k random interior positions; "all": every. */
  positions?: "all" | "sampled";
  /** Interior positions to sample (default 3). */
  k?: number;
  /** Position randomness; default: a fresh secret from crypto.getRandomValues. */
  randomness?: Randomness;
  /** Override the calibrated epsilon (logit units). */
  epsilon?: number;
  /** Override the fraud threshold (logit units); must be >= epsilon. */
  fraudThreshold?: number;
  /** The model id of `gguf` when the caller already hashed it (skips hashing the file again). */
  knownModelId?: string;
  /** The receipt's commitment; default: computed from the record. */
  commitment?: Uint8Array;
  /** Options for the ONNX backend (ORT wasm location, execution providers). */
  onnx?: OnnxBackendOptions;
  /** Options for the WASM kernel backend (where kernel.wasm is, llama.cpp mirroring). */
  wasm?: WasmLlamaOptions;
  /** Words the verdict's display messages (default English); no decision reads them. */
  wording?: VerdictWording;
}

/** Weight type of a llama GGUF, from its first attention matrix. */
export function weightTypeOf(file: GGUFFile): WeightType {
  const t = file.tensorsByName.get("blk.0.attn_q.weight")?.type;
  if (t === GGMLType.F32) return "f32";
  if (t === GGMLType.F16) return "f16";
  if (t === GGMLType.Q8_0) return "q8_0";
  throw new RangeError(`no calibrated epsilon for weight type ${t}`);
}

/** End-of-generation token ids from the GGUF tokenizer metadata (EOS, EOT, EOM when present). */
export function endTokensOf(file: GGUFFile): Set<number> {
  const ids = new Set<number>();
  for (const k of ["eos", "eot", "eom"]) {
    const key = `tokenizer.ggml.${k}_token_id`;
    if (file.metadata.has(key)) ids.add(ggufNumber(file, key));
  }
  if (ids.size === 0) throw new RangeError("the model declares no end token");
  return ids;
}

async function loadBackend(
  name: BackendName,
  gguf: Uint8Array,
  options: VerifyOptions,
): Promise<PrefillBackend> {
  if (name === "onnx") return await OnnxBackend.create(gguf, options.onnx);
  if (name === "wasm") {
    return await WasmBackend.create(gguf, options.wasm);
  }
  throw new RangeError(`backend "${name}" must be passed in as model.backend`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Verifies a job record against a model. Continuity (first output token), integrity (k random
 * interior positions, or all) and truncation (finish "stop": last token is an end token and
 * predicted as such, none earlier; finish "length": exactly maxTokens) from ONE prefill pass over
 * prompt + output up to the last checked position. Record-level violations are fraud without a
 * model run. Any backend error, a model id mismatch or a near-tie is inconclusive, never a pass.
 * Throws `TypeError`/`RangeError` only for a malformed record or bad options.
 */
export async function verify(
  job: JobRecord | unknown,
  model: VerifyModel,
  options: VerifyOptions = {},
): Promise<Verdict> {
  const t0 = performance.now();
  const parsed = parseJobRecord(job);
  const rec = parsed.record;
  const mode = options.positions ?? "sampled";
  if (mode !== "all" && mode !== "sampled") throw new RangeError(`bad positions mode ${mode}`);
  const k = options.k ?? 3;
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError("k must be an integer >= 0");
  const gguf = model instanceof Uint8Array ? model : model.gguf;
  const injected = model instanceof Uint8Array ? undefined : model.backend;
  const backendName = (injected?.name ?? options.backend ?? "wasm") as BackendName;
  const generator = options.generator ?? "llama";
  const wording = options.wording;
  const result: Verdict = {
    verdict: "inconclusive",
    reason: "none",
    checked: [],
    faults: [],
    reasons: [],
    backend: backendName,
    epsilon: NaN,
    fraudThreshold: options.fraudThreshold ?? NaN,
    positions: mode,
    k,
    prefillTokens: 0,
    modelIdChecked: false,
    timings: { loadMs: 0, prefillMs: 0, totalMs: 0 },
  };
  const done = (): Verdict => {
    result.reasons = verdictReasons(result, wording);
    result.timings.totalMs = performance.now() - t0;
    return result;
  };

  let file: GGUFFile;
  let endTokens: Set<number>;
  let type: WeightType;
  try {
    file = readGGUFCached(gguf);
    endTokens = endTokensOf(file);
    type = weightTypeOf(file);
    result.epsilon = options.epsilon ?? epsilonFor(generator, backendName, type);
    result.fraudThreshold = options.fraudThreshold ?? FRAUD_THRESHOLD[type];
  } catch (e) {
    result.reason = "model-unusable";
    result.error = errorText(e);
    return done();
  }
  if (result.fraudThreshold < result.epsilon) {
    throw new RangeError("fraudThreshold must be at least epsilon");
  }
  const id = options.knownModelId ?? modelIdFromBytes(gguf);
  if (id !== rec.modelId) {
    result.reason = "model-id-mismatch";
    result.modelIds = { job: rec.modelId, file: id };
    return done();
  }
  result.modelIdChecked = true;
  const vocab = file.tensorsByName.get("token_embd.weight")?.dims[1] ?? 0;

  const faults = recordFailures(rec, vocab, endTokens, wording);
  if (faults.length > 0) {
    result.verdict = "fraud";
    result.reason = "record-fault";
    result.faults = faults;
    return done();
  }
  if (rec.promptTokens.some((t) => t >= vocab)) {
    result.reason = "prompt-outside-vocabulary";
    return done();
  }

  const n = rec.outputTokens.length;
  let seed: Uint8Array | undefined;
  if (mode === "sampled" && n > 0) {
    const commitment = options.commitment ??
      outputCommitment(parsed.jobId, rec.outputTokens, rec.finishReason);
    const randomness = options.randomness ??
      { secret: crypto.getRandomValues(new Uint8Array(32)) };
    seed = selectionSeed(randomness, commitment, parsed.jobId);
  }
  const plan = choosePositions(n, rec.finishReason, mode, k, seed);
  if (plan.positions.length === 0) {
    result.verdict = "honest";
    return done();
  }

  let backend: PrefillBackend | undefined = injected;
  try {
    const tl = performance.now();
    backend ??= await loadBackend(backendName, gguf, options);
    result.timings.loadMs = performance.now() - tl;
    if (backend.vocabSize !== vocab) {
      throw new RangeError(
        `backend vocabulary ${backend.vocabSize} differs from the model's ${vocab}`,
      );
    }
    const last = plan.positions[plan.positions.length - 1];
    const P = rec.promptTokens.length;
    const tokens = [...rec.promptTokens, ...rec.outputTokens.slice(0, last)];
    result.prefillTokens = tokens.length;
    const tp = performance.now();
    const logits = await backend.logitsAt(tokens, plan.positions.map((p) => P - 1 + p));
    result.timings.prefillMs = performance.now() - tp;
    if (logits.length !== plan.positions.length || logits.some((r) => r.length !== vocab)) {
      throw new RangeError(
        `backend returned ${logits.length} rows for ${plan.positions.length} positions, or rows ` +
          `not of ${vocab} logits`,
      );
    }
    result.checked = plan.positions.map((p, i) =>
      checkPosition(
        logits[i],
        parsed.params,
        p,
        plan.kinds[i],
        rec.outputTokens[p],
        result.epsilon,
        result.fraudThreshold,
        undefined,
        wording,
      )
    );
  } catch (e) {
    result.checked = [];
    result.reason = "backend-error";
    result.error = errorText(e);
    return done();
  } finally {
    if (backend && !injected) {
      try {
        await backend.dispose?.();
      } catch { /* a failed release changes no verdict */ }
    }
  }
  const fails = result.checked.some((c) => c.outcome === "fail");
  const nears = result.checked.some((c) => c.outcome === "near");
  result.verdict = fails ? "fraud" : nears ? "inconclusive" : "honest";
  result.reason = fails ? "position-fail" : nears ? "position-near" : "none";
  return done();
}

/** Lowercase hex of bytes (re-exported for callers that print commitments and seeds). */
export { toHex };
