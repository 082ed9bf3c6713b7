/**
 * @module The verifier's judgement as data: checked positions with their outcome and margin, record
 * faults with a code, and one reason code per verdict. Decisions (fraud proofs in consensus, the
 * client's dispute, outsourced votes) read these fields only; the human-readable messages are derived
 * from the data by one swappable {@link VerdictWording}, for display.
 *
 * Runtime-neutral TypeScript, like the rest of the verifier.
 */

/** How one checked position fared: pass, a near-tie (inconclusive) or a clear failure. */
export type PositionOutcome = "pass" | "near" | "fail";

/** Why a position was checked. */
export type CheckKind = "continuity" | "integrity" | "truncation";

/** The result of checking one output position. */
export interface CheckedPosition {
  /** 0-based output index. */
  position: number;
  /** Why it was checked. */
  kind: CheckKind;
  /** The token the record claims. */
  claimed: number;
  /** The token the verifier's logits choose. */
  best: number;
  /** max(0, score gap) in logit units, widened by the filter gap when the claim was filtered. */
  margin: number;
  /** True when the claim is within epsilon. */
  pass: boolean;
  /** The outcome: pass / near (between epsilon and the fraud threshold) / fail. */
  outcome: PositionOutcome;
  /** True when the sampler's top-k/top-p filter drops the claimed token. */
  filtered: boolean;
  /** Why the position did not pass (display only, derived from the fields above). */
  reason?: string;
}

/** What a record fault is: each is provable from the record alone. */
export type RecordFaultCode =
  | "token-outside-vocabulary"
  | "too-many-tokens"
  | "early-end-token"
  | "length-not-max-tokens"
  | "stop-without-output"
  | "stop-without-end-token";

/** A failure found from the record alone (no model run needed). */
export interface RecordFault {
  /** What is wrong. */
  code: RecordFaultCode;
  /** Output index concerned, when there is one. */
  position?: number;
  /** The token concerned, when there is one. */
  token?: number;
  /** Output tokens in the record. */
  count: number;
  /** The record's maxTokens. */
  maxTokens: number;
  /** What is wrong (display only, derived from the fields above). */
  reason: string;
}

/** A record fault's facts, before wording. */
export type RecordFaultFacts = Omit<RecordFault, "reason">;

/** A checked position's facts, before wording. */
export type PositionFacts = Omit<CheckedPosition, "reason">;

/** Why a verdict is what it is: one code per verdict. */
export type VerdictReason =
  /** Honest: every checked position passes (or there was nothing to check). */
  | "none"
  /** Fraud: the record itself is provably wrong (see `faults`). */
  | "record-fault"
  /** Fraud: some checked position fails by more than the fraud threshold. */
  | "position-fail"
  /** Inconclusive: some checked position is a near-tie, none fails. */
  | "position-near"
  /** Inconclusive: the model file cannot be used (unreadable, no end token, no calibration). */
  | "model-unusable"
  /** Inconclusive: the model file's id is not the job's. */
  | "model-id-mismatch"
  /** Inconclusive: a prompt token is outside the model's vocabulary. */
  | "prompt-outside-vocabulary"
  /** Inconclusive: the backend failed or answered malformed logits. */
  | "backend-error";

/** The verifier's judgement. */
export interface Verdict {
  /** honest: every checked position passes; fraud: a provable failure; inconclusive otherwise. */
  verdict: "honest" | "fraud" | "inconclusive";
  /** Why, as a code. */
  reason: VerdictReason;
  /** Every checked position, ascending. */
  checked: CheckedPosition[];
  /** Faults of the record itself (set when `reason` is "record-fault"). */
  faults: RecordFault[];
  /** The error text behind "model-unusable" / "backend-error" (display only). */
  error?: string;
  /** The job's model id and the file's, behind "model-id-mismatch". */
  modelIds?: { job: string; file: string };
  /** Why the verdict is not honest (display only, derived from the data; empty when honest). */
  reasons: string[];
  /** Backend that computed the logits. */
  backend: string;
  /** Epsilon used (logit units). */
  epsilon: number;
  /** Fraud threshold used (logit units). */
  fraudThreshold: number;
  /** Position mode used. */
  positions: "all" | "sampled";
  /** Sampled interior positions requested. */
  k: number;
  /** Tokens in the one prefill pass (0 when none ran). */
  prefillTokens: number;
  /** Whether the model bytes were hashed and matched the job's model id. */
  modelIdChecked: boolean;
  /** Milliseconds spent: loading the backend, the prefill, and in total. */
  timings: { loadMs: number; prefillMs: number; totalMs: number };
}

/** The tolerances a position was judged with. */
export interface Tolerances {
  /** Pass at or below this margin (logit units). */
  epsilon: number;
  /** Fail above this margin (logit units). */
  fraudThreshold: number;
}

/** Turns verdict data into display text. Every message the verifier shows comes from one of these. */
export interface VerdictWording {
  /** Why a checked position did not pass. */
  position(c: PositionFacts, t: Tolerances): string;
  /** What a record fault is. */
  fault(f: RecordFaultFacts): string;
  /** One line of a verdict's `reasons` for a position or a fault. */
  cite(position: number | undefined, why: string): string;
  /** The line of a verdict's `reasons` for a reason that is neither a position nor a fault. */
  reason(v: Pick<Verdict, "reason" | "error" | "modelIds">): string;
}

/** The English wording. */
export const ENGLISH_WORDING: VerdictWording = {
  position(c, t) {
    const what = c.filtered
      ? `claimed token ${c.claimed} is outside the sampler's top-k/top-p set and`
      : `claimed token ${c.claimed}`;
    const text = `${what} trails token ${c.best} by ${c.margin.toPrecision(4)} logits ` +
      (c.outcome === "fail"
        ? `(> fraud threshold ${t.fraudThreshold})`
        : `(near-tie: above epsilon ${t.epsilon}, below fraud threshold ${t.fraudThreshold})`);
    return c.kind === "truncation" ? `end token not predicted: ${text}` : text;
  },
  fault(f) {
    switch (f.code) {
      case "token-outside-vocabulary":
        return `token ${f.token} is outside the vocabulary`;
      case "too-many-tokens":
        return `${f.count} output tokens exceed maxTokens ${f.maxTokens}`;
      case "early-end-token":
        return `end token ${f.token} before the end of output`;
      case "length-not-max-tokens":
        return `finish "length" with ${f.count} tokens, but maxTokens is ${f.maxTokens}`;
      case "stop-without-output":
        return 'finish "stop" with no output (no end token)';
      case "stop-without-end-token":
        return `finish "stop" but the last token ${f.token} is not an end token`;
    }
  },
  cite(position, why) {
    return position === undefined ? why : `position ${position}: ${why}`;
  },
  reason(v) {
    switch (v.reason) {
      case "model-unusable":
        return `cannot use the model: ${v.error}`;
      case "model-id-mismatch":
        return `model id mismatch: the job names ${v.modelIds?.job}, the file is ${v.modelIds?.file}`;
      case "prompt-outside-vocabulary":
        return "a prompt token is outside the vocabulary";
      case "backend-error":
        return `backend error: ${v.error}`;
      default:
        return v.reason;
    }
  },
};

/**
 * The display lines of a verdict, derived from its data: each record fault, then each failing and
 * each near position, or the one reason line; none when honest.
 */
export function verdictReasons(
  v: Pick<Verdict, "reason" | "checked" | "faults" | "error" | "modelIds">,
  wording: VerdictWording = ENGLISH_WORDING,
): string[] {
  switch (v.reason) {
    case "none":
      return [];
    case "record-fault":
      return v.faults.map((f) => wording.cite(f.position, f.reason));
    case "position-fail":
    case "position-near": {
      const fails = v.checked.filter((c) => c.outcome === "fail");
      const nears = v.checked.filter((c) => c.outcome === "near");
      return [...fails, ...nears].map((c) => wording.cite(c.position, c.reason ?? ""));
    }
    default:
      return [wording.reason(v)];
  }
}

/** Output positions a verdict shows provably false: failing checked positions and record faults at a position. */
export function provenFalsePositions(v: Pick<Verdict, "checked" | "faults">): Set<number> {
  const out = new Set<number>();
  for (const c of v.checked) if (c.outcome === "fail") out.add(c.position);
  for (const f of v.faults) if (f.position !== undefined) out.add(f.position);
  return out;
}

/**
 * Whether a fraud proof naming `positions` holds under a verdict of a full check: the verdict is
 * fraud and every named position is failing, or (for a record fault) every named position is a
 * faulty one or the record has a fault of its whole (no position), which any position proves.
 */
export function fraudProofHolds(
  v: Pick<Verdict, "verdict" | "reason" | "checked" | "faults">,
  positions: readonly number[],
): boolean {
  if (v.verdict !== "fraud") return false;
  if (v.reason === "record-fault") {
    const faulty = provenFalsePositions({ checked: [], faults: v.faults });
    return positions.every((p) => faulty.has(p)) ||
      v.faults.some((f) => f.position === undefined);
  }
  return positions.every((p) => v.checked.find((c) => c.position === p)?.outcome === "fail");
}
