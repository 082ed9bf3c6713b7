/**
 * @module Job protocol messages: the payloads of `direct` envelopes exchanged by clients and compute
 * nodes (offer, accept, decline, withdraw, assign, receipt, payment, delivery) and between clients
 * and verifiers (verify-request, verdict, not-due), and from a client to the validators it pays
 * (distribution). UTF-8 JSON with a `t` type field, decoded
 * strictly: known fields only, exact hex lengths, bounded sizes. The envelope signs and addresses them.
 */

import { DecodeError } from "../chain/errors.ts";
import { fromHex, toHex } from "../chain/bytes.ts";
import { decodeAddress } from "../chain/keys.ts";
import { MAX_OUTPUT_TOKENS } from "../chain/job.ts";

/** Marks job payloads among other direct messages. */
export const JOB_PROTOCOL = "camelid/job/1";
/** Largest job message payload, bytes. */
export const MAX_JOB_MESSAGE = 512 * 1024;

/** An outpoint in JSON form. */
export interface OutpointJson {
  /** Txid hex. */
  txid: string;
  /** Output index. */
  vout: number;
}

/** Client -> everyone: a job, funded by an escrow output already broadcast. */
export interface OfferMessage {
  /** Type. */
  t: "offer";
  /** Canonical job encoding, hex. */
  job: string;
  /** The escrow output funding it. */
  escrow: OutpointJson;
  /** The escrow transaction, hex (so a node can check and relay it before gossip brings it). */
  escrowTx: string;
}

/** Compute node -> client: the node takes the job. */
export interface AcceptMessage {
  /** Type. */
  t: "accept";
  /** Job id hex. */
  jobId: string;
  /** Where the node wants to be paid. */
  rewardAddress: string;
}

/** Why a compute node declines an offer (or an assignment): a closed set of codes. */
export const DECLINE_REASONS = [
  /** It holds no model with the job's id. */
  "model-not-held",
  /** Prompt plus output budget exceed the model's context. */
  "context-too-long",
  /** The escrow pays less than the node's minimum reward. */
  "reward-too-low",
  /** Its queue is full (jobs running and acceptances held): try another node or later. */
  "busy",
  /** Its spendable funds cannot lock the stake it puts on each job. */
  "stake-too-small",
  /** The job expires too soon for the payment to become mineable before the refund. */
  "expires-too-soon",
  /** The escrow is missing or does not lock the reward for this job and client. */
  "bad-escrow",
  /** An assignment for a job it did not accept, or whose acceptance lapsed. */
  "not-accepted",
  /** It took the job but could not run it (generation or staking failed); nothing was staked. */
  "failed",
] as const;

/** One of {@link DECLINE_REASONS}. */
export type DeclineReason = typeof DECLINE_REASONS[number];

/** Longest `detail` of a decline, characters. */
export const MAX_DECLINE_DETAIL = 200;

/** Compute node -> client: the node does not take the job, and why. */
export interface DeclineMessage {
  /** Type. */
  t: "decline";
  /** Job id hex. */
  jobId: string;
  /** Why, as a code (decisions read this). */
  reason: DeclineReason;
  /** Why, in words, for display only (e.g. the numbers compared). */
  detail: string;
}

/** Client -> a compute node that accepted but was not taken: release the place it holds. */
export interface WithdrawMessage {
  /** Type. */
  t: "withdraw";
  /** Job id hex. */
  jobId: string;
}

/** Client -> the compute node it takes (the first that accepted): do the job. */
export interface AssignMessage {
  /** Type. */
  t: "assign";
  /** Job id hex. */
  jobId: string;
}

/** Compute node -> client: the signed commitment to the output, with the stake transaction. */
export interface ReceiptMessage {
  /** Type. */
  t: "receipt";
  /** Job id hex. */
  jobId: string;
  /** Output commitment hex (SHA-256d(jobId || tokens || finish)). */
  commitment: string;
  /** Number of output tokens. */
  tokenCount: number;
  /** Finish reason. */
  finishReason: "stop" | "length";
  /** Where the node wants to be paid. */
  rewardAddress: string;
  /** The stake output. */
  stake: OutpointJson;
  /** The stake transaction, hex. */
  stakeTx: string;
}

/** Client -> compute node: the signed escrow spend paying the node. */
export interface PaymentMessage {
  /** Type. */
  t: "payment";
  /** Job id hex. */
  jobId: string;
  /** The payment transaction, hex. */
  tx: string;
}

/** Compute node -> client: the output encrypted to the client's key. */
export interface DeliveryMessage {
  /** Type. */
  t: "delivery";
  /** Job id hex. */
  jobId: string;
  /** ECIES ciphertext (secp256k1 ECDH + HKDF-SHA256 + AES-256-GCM) of the output JSON, hex. */
  ciphertext: string;
}

/** Client -> verifiers (broadcast): check these positions of a delivered output. */
export interface VerifyRequestMessage {
  /** Type. */
  t: "verify-request";
  /** Job id hex. */
  jobId: string;
  /** Canonical job hex. */
  job: string;
  /** The output to check. */
  outputTokens: number[];
  /** Its finish reason. */
  finishReason: "stop" | "length";
  /** Output positions to check (chosen by the client's secret). */
  positions: number[];
  /** 16 random bytes, hex, echoed in the verdict. */
  nonce: string;
  /**
   * The compute node that did the job (its reward address), whose validation probability sets the
   * validators' draws (client/validator_ticket.ts); absent: probability 1.
   */
  executor?: string;
  /** The sprint whose weights the client checks tickets with (absent: no weights in force). */
  sprint?: number;
  /**
   * A user report's bond (chain/report.ts) naming this job: every validator holding weight in its
   * sprint answers with a signed record, whatever its draw (absent: an ordinary check).
   */
  report?: OutpointJson;
}

/** A validator's ticket for one job (chain/validator_draw.ts), as messages carry it. */
export interface TicketJson {
  /** The validator's key (compressed, hex): the key whose compute weight it draws with. */
  key: string;
  /** The sprint whose weights it drew under. */
  sprint: number;
  /** Gamma = secret·H(job id), 65 bytes hex. */
  gamma: string;
  /** The DLEQ proof that Gamma and the key share the secret, 98 bytes hex. */
  proof: string;
}

/**
 * A due validator's ticket on its verdict, with the validator key's signature of the verdict as a
 * validation record (chain/validation_record.ts: the record's fields are the ticket's and the
 * verdict's, so none travels twice).
 */
export interface SignedTicketJson extends TicketJson {
  /**
   * Compact low-S ECDSA signature (64 bytes hex) of the record's attestation preimage: the job id,
   * the output commitment checked, the ticket's sprint and Gamma, the verdict, positions checked,
   * those whose margin exceeds 0, and the digest of the request nonce and every checked position
   * (client/validator_ticket.ts `verdictRecordBody`).
   */
  signature: string;
}

/** Verifier -> client: a signed per-position verdict (never a bare token hash). */
export interface VerdictMessage {
  /** Type. */
  t: "verdict";
  /** Job id hex. */
  jobId: string;
  /** The request's nonce. */
  nonce: string;
  /** Overall verdict over the requested positions. */
  verdict: "honest" | "fraud" | "inconclusive";
  /** Per requested position: pass, near (a near-tie) or fail, and the margin in logits. */
  checked: { position: number; outcome: "pass" | "near" | "fail"; margin: number }[];
  /** Where compute weights are in force: the validator's ticket showing it was due, signed. */
  validator?: SignedTicketJson;
}

/** Verifier -> client, where compute weights are in force: its ticket shows it is not due. */
export interface NotDueMessage {
  /** Type. */
  t: "not-due";
  /** Job id hex. */
  jobId: string;
  /** The request's nonce. */
  nonce: string;
  /** The validator's ticket for the job. */
  validator: TicketJson;
}

/**
 * Largest distribution carried by a `distribution` message, bytes: a distribution pays at most
 * MAX_PAID_VALIDATORS = 8 pairs (a validator reward of 105 script bytes and a record of 302, about
 * 430 bytes a pair with their values), 3.5 KB with its pool input; twice that leaves room for a few
 * inputs more.
 */
export const MAX_DISTRIBUTION_BYTES = 8 * 1024;

/**
 * Client -> each validator its distribution pays: the signed DISTRIBUTE of the job's validation
 * pool, which the validator's node keeps and submits once the payment it spends is known
 * (compute/jobs/distribution_keeper.ts): the executor's node broadcasts that payment only a dispute
 * window after its stake, longer than the client's node holds an orphan.
 */
export interface DistributionMessage {
  /** Type. */
  t: "distribution";
  /** Job id hex. */
  jobId: string;
  /** The distribution transaction, hex (at most {@link MAX_DISTRIBUTION_BYTES}). */
  tx: string;
}

/** Any job message. */
export type JobMessage =
  | OfferMessage
  | AcceptMessage
  | DeclineMessage
  | WithdrawMessage
  | AssignMessage
  | ReceiptMessage
  | PaymentMessage
  | DeliveryMessage
  | VerifyRequestMessage
  | VerdictMessage
  | NotDueMessage
  | DistributionMessage;

const FIELDS: Record<JobMessage["t"], string[]> = {
  offer: ["p", "t", "job", "escrow", "escrowTx"],
  accept: ["p", "t", "jobId", "rewardAddress"],
  decline: ["p", "t", "jobId", "reason", "detail"],
  withdraw: ["p", "t", "jobId"],
  assign: ["p", "t", "jobId"],
  receipt: [
    "p",
    "t",
    "jobId",
    "commitment",
    "tokenCount",
    "finishReason",
    "rewardAddress",
    "stake",
    "stakeTx",
  ],
  payment: ["p", "t", "jobId", "tx"],
  delivery: ["p", "t", "jobId", "ciphertext"],
  "verify-request": [
    "p",
    "t",
    "jobId",
    "job",
    "outputTokens",
    "finishReason",
    "positions",
    "nonce",
    "executor",
    "sprint",
    "report",
  ],
  verdict: ["p", "t", "jobId", "nonce", "verdict", "checked", "validator"],
  "not-due": ["p", "t", "jobId", "nonce", "validator"],
  distribution: ["p", "t", "jobId", "tx"],
};

/** Encodes a job message as a payload. */
export function encodeJobMessage(m: JobMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ p: JOB_PROTOCOL, ...m }));
}

function bad(message: string): never {
  throw new DecodeError("job-message/malformed", message);
}

function hexField(v: unknown, name: string, bytes?: number, max = MAX_JOB_MESSAGE): string {
  if (typeof v !== "string" || v.length > max * 2) bad(`${name} must be a hex string`);
  try {
    fromHex(v, bytes);
  } catch {
    bad(`${name} must be ${bytes ? `${bytes} bytes of ` : ""}lowercase hex`);
  }
  if (v !== v.toLowerCase()) bad(`${name} must be lowercase hex`);
  return v;
}

function outpoint(v: unknown, name: string): OutpointJson {
  const o = v as OutpointJson;
  if (!o || typeof o !== "object" || Object.keys(o).sort().join() !== "txid,vout") {
    bad(`${name} must be {txid, vout}`);
  }
  hexField(o.txid, `${name}.txid`, 32);
  if (!Number.isInteger(o.vout) || o.vout < 0 || o.vout > 0xffffffff) {
    bad(`${name}.vout must be a u32`);
  }
  return { txid: o.txid, vout: o.vout };
}

function address(v: unknown, name: string): string {
  if (typeof v !== "string") bad(`${name} must be an address`);
  try {
    decodeAddress(v);
  } catch {
    bad(`${name} is not a valid address`);
  }
  return v;
}

function u32List(v: unknown, name: string, max: number): number[] {
  if (!Array.isArray(v) || v.length > max) bad(`${name} must be a list of at most ${max}`);
  for (const x of v) {
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) bad(`${name} holds a bad value`);
  }
  return v as number[];
}

function sprintIndex(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 0xffffffff) {
    bad(`${name} must be a positive u32`);
  }
  return v as number;
}

function ticket(v: unknown, signed: boolean): SignedTicketJson {
  const o = v as SignedTicketJson;
  const keys = signed ? "gamma,key,proof,signature,sprint" : "gamma,key,proof,sprint";
  if (!o || typeof o !== "object" || Object.keys(o).sort().join() !== keys) {
    bad(`validator must be {${keys}}`);
  }
  return {
    key: hexField(o.key, "validator.key", 33),
    sprint: sprintIndex(o.sprint, "validator.sprint"),
    gamma: hexField(o.gamma, "validator.gamma", 65),
    proof: hexField(o.proof, "validator.proof", 98),
    signature: signed ? hexField(o.signature, "validator.signature", 64) : "",
  };
}

/** True when `payload` looks like a job message (cheap pre-filter before decoding). */
export function isJobPayload(payload: Uint8Array): boolean {
  return payload.length > 20 && payload[0] === 0x7b &&
    new TextDecoder().decode(payload.subarray(0, 40)).includes(JOB_PROTOCOL);
}

/** Decodes a payload into a job message; throws `DecodeError` (`job-message/malformed`). */
export function decodeJobMessage(payload: Uint8Array): JobMessage {
  if (payload.length > MAX_JOB_MESSAGE) {
    throw new DecodeError("job-message/too-large", "job message too large");
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    bad("payload is not UTF-8 JSON");
  }
  if (!v || typeof v !== "object" || Array.isArray(v) || v.p !== JOB_PROTOCOL) {
    bad(`not a ${JOB_PROTOCOL} message`);
  }
  const t = v.t as JobMessage["t"];
  const fields = FIELDS[t];
  if (!fields) bad(`unknown job message type ${String(t)}`);
  const extra = Object.keys(v).filter((k) => !fields.includes(k));
  if (extra.length) bad(`unknown field(s) ${extra.join(", ")} in ${t}`);
  switch (t) {
    case "offer":
      return {
        t,
        job: hexField(v.job, "job", undefined, 64_000),
        escrow: outpoint(v.escrow, "escrow"),
        escrowTx: hexField(v.escrowTx, "escrowTx", undefined, 100_000),
      };
    case "accept":
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        rewardAddress: address(v.rewardAddress, "rewardAddress"),
      };
    case "decline": {
      if (!DECLINE_REASONS.includes(v.reason as DeclineReason)) bad("unknown decline reason");
      if (typeof v.detail !== "string" || v.detail.length > MAX_DECLINE_DETAIL) {
        bad(`detail must be a string of at most ${MAX_DECLINE_DETAIL} characters`);
      }
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        reason: v.reason as DeclineReason,
        detail: v.detail,
      };
    }
    case "withdraw":
    case "assign":
      return { t, jobId: hexField(v.jobId, "jobId", 32) };
    case "receipt": {
      if (!Number.isInteger(v.tokenCount) || (v.tokenCount as number) < 0) {
        bad("tokenCount must be a count");
      }
      if (v.finishReason !== "stop" && v.finishReason !== "length") {
        bad("finishReason must be stop or length");
      }
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        commitment: hexField(v.commitment, "commitment", 32),
        tokenCount: v.tokenCount as number,
        finishReason: v.finishReason,
        rewardAddress: address(v.rewardAddress, "rewardAddress"),
        stake: outpoint(v.stake, "stake"),
        stakeTx: hexField(v.stakeTx, "stakeTx", undefined, 100_000),
      };
    }
    case "payment":
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        tx: hexField(v.tx, "tx", undefined, 100_000),
      };
    case "distribution":
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        tx: hexField(v.tx, "tx", undefined, MAX_DISTRIBUTION_BYTES),
      };
    case "verify-request": {
      const tokens = u32List(v.outputTokens, "outputTokens", MAX_OUTPUT_TOKENS);
      const positions = u32List(v.positions, "positions", 256);
      if (positions.some((p) => p >= tokens.length)) bad("a position is outside the output");
      if (v.finishReason !== "stop" && v.finishReason !== "length") {
        bad("finishReason must be stop or length");
      }
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        job: hexField(v.job, "job", undefined, 64_000),
        outputTokens: tokens,
        finishReason: v.finishReason,
        positions,
        nonce: hexField(v.nonce, "nonce", 16),
        ...(v.executor === undefined ? {} : { executor: address(v.executor, "executor") }),
        ...(v.sprint === undefined ? {} : { sprint: sprintIndex(v.sprint, "sprint") }),
        ...(v.report === undefined ? {} : { report: outpoint(v.report, "report") }),
      };
    }
    case "verdict": {
      if (v.verdict !== "honest" && v.verdict !== "fraud" && v.verdict !== "inconclusive") {
        bad("bad verdict");
      }
      if (!Array.isArray(v.checked) || v.checked.length > 256) {
        bad("checked must be a list of at most 256");
      }
      const checked = (v.checked as Record<string, unknown>[]).map((c) => {
        if (
          !c || typeof c !== "object" || Object.keys(c).sort().join() !== "margin,outcome,position"
        ) bad("bad checked entry");
        if (!Number.isInteger(c.position) || (c.position as number) < 0) {
          bad("bad checked position");
        }
        if (c.outcome !== "pass" && c.outcome !== "near" && c.outcome !== "fail") {
          bad("bad checked outcome");
        }
        if (typeof c.margin !== "number" || !Number.isFinite(c.margin)) bad("bad checked margin");
        return {
          position: c.position as number,
          outcome: c.outcome as "pass" | "near" | "fail",
          margin: c.margin as number,
        };
      });
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        nonce: hexField(v.nonce, "nonce", 16),
        verdict: v.verdict,
        checked,
        ...(v.validator === undefined ? {} : { validator: ticket(v.validator, true) }),
      };
    }
    case "not-due": {
      const { signature: _, ...unsigned } = ticket(v.validator, false);
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        nonce: hexField(v.nonce, "nonce", 16),
        validator: unsigned,
      };
    }
    case "delivery":
      return {
        t,
        jobId: hexField(v.jobId, "jobId", 32),
        ciphertext: hexField(v.ciphertext, "ciphertext"),
      };
  }
}

/** Hex of a byte id (re-exported for message builders). */
export { toHex };
