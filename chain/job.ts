/**
 * @module Jobs (paper 2.4, table 1): the canonical encoding of a job offer and its id. A job names
 * its model by id and carries token ids, never text. Job id = SHA-256d(canonical encoding).
 */

import { ByteReader, ByteWriter, toHex } from "./bytes.ts";
import { sha256d } from "./hash.ts";
import { isValidPublicKey } from "./keys.ts";
import { DecodeError } from "./errors.ts";

/** Encoding version of jobs. */
export const JOB_VERSION = 1;
/** Most prompt tokens a job may carry. */
export const MAX_PROMPT_TOKENS = 8192;
/** Most output tokens a job may ask for. */
export const MAX_OUTPUT_TOKENS = 8192;
/** Longest contact string (e.g. a relay URL). */
export const MAX_CONTACT = 256;

/** A job offer. */
export interface Job {
  /** Model id: RFC 6962 Merkle root of the GGUF file's 1 MiB chunks (32 bytes). */
  modelId: Uint8Array;
  /** Prompt token ids. */
  promptTokens: number[];
  /** Sampler seed, 0 <= seed < 2^64. */
  seed: bigint;
  /** Most output tokens. */
  maxTokens: number;
  /** Temperature (0 = greedy), stored as f32. */
  temperature: number;
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p in (0, 1], stored as f32. */
  topP: number;
  /** Creation time, Unix seconds. */
  timestamp: number;
  /** Height after which the escrow refunds to the client when unpaid. */
  expiryHeight: number;
  /** The client's compressed public key (33 bytes): authorises payment, receives the output. */
  clientKey: Uint8Array;
  /** How to reach the client (e.g. its relay URL); may be empty. */
  contact: string;
}

/** Canonical encoding of a job. */
export function encodeJob(job: Job): Uint8Array {
  checkJob(job);
  const w = new ByteWriter(128 + job.promptTokens.length * 4);
  w.u8(JOB_VERSION).bytes(job.modelId).varint(job.promptTokens.length);
  for (const t of job.promptTokens) w.u32(t);
  w.u64(job.seed).u32(job.maxTokens).f32(job.temperature).u32(job.topK).f32(job.topP);
  w.u32(job.timestamp).u32(job.expiryHeight).bytes(job.clientKey);
  w.varBytes(new TextEncoder().encode(job.contact));
  return w.finish();
}

/** Decodes a job strictly (exact length, minimal varints, bounded counts, valid key). */
export function decodeJob(bytes: Uint8Array): Job {
  const r = new ByteReader(bytes, "job");
  const version = r.u8();
  if (version !== JOB_VERSION) {
    throw new DecodeError("job/version", `unknown job version ${version}`);
  }
  const modelId = r.bytes(32);
  const n = r.varint(MAX_PROMPT_TOKENS);
  const promptTokens = Array.from({ length: n }, () => r.u32());
  const job: Job = {
    modelId,
    promptTokens,
    seed: r.u64(),
    maxTokens: r.u32(),
    temperature: r.f32(),
    topK: r.u32(),
    topP: r.f32(),
    timestamp: r.u32(),
    expiryHeight: r.u32(),
    clientKey: r.bytes(33),
    contact: "",
  };
  const contact = r.varBytes(MAX_CONTACT);
  r.end();
  try {
    job.contact = new TextDecoder("utf-8", { fatal: true }).decode(contact);
  } catch {
    throw new DecodeError("job/contact", "job contact is not valid UTF-8");
  }
  try {
    checkJob(job);
  } catch (e) {
    throw new DecodeError("job/invalid", (e as Error).message);
  }
  return job;
}

/** Throws `RangeError`/`TypeError` unless the job's fields are in range. */
export function checkJob(job: Job): void {
  if (!(job.modelId instanceof Uint8Array) || job.modelId.length !== 32) {
    throw new RangeError("modelId must be 32 bytes");
  }
  if (
    !Array.isArray(job.promptTokens) || job.promptTokens.length === 0 ||
    job.promptTokens.length > MAX_PROMPT_TOKENS
  ) {
    throw new RangeError(`a job needs 1..${MAX_PROMPT_TOKENS} prompt tokens`);
  }
  for (const t of job.promptTokens) {
    if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) {
      throw new RangeError(`bad prompt token id ${t}`);
    }
  }
  if (typeof job.seed !== "bigint" || job.seed < 0n || job.seed >= 1n << 64n) {
    throw new RangeError("seed must be a u64 bigint");
  }
  if (!Number.isInteger(job.maxTokens) || job.maxTokens < 1 || job.maxTokens > MAX_OUTPUT_TOKENS) {
    throw new RangeError(`maxTokens must be 1..${MAX_OUTPUT_TOKENS}`);
  }
  if (
    !Number.isFinite(job.temperature) || job.temperature < 0 ||
    Math.fround(job.temperature) !== job.temperature
  ) {
    throw new RangeError("temperature must be a finite f32 >= 0");
  }
  if (!Number.isInteger(job.topK) || job.topK < 0 || job.topK > 0xffffffff) {
    throw new RangeError("topK must be a u32");
  }
  if (!(job.topP > 0 && job.topP <= 1) || Math.fround(job.topP) !== job.topP) {
    throw new RangeError("topP must be an f32 in (0, 1]");
  }
  for (
    const [name, v] of [["timestamp", job.timestamp], ["expiryHeight", job.expiryHeight]] as const
  ) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`${name} must be a u32`);
    }
  }
  if (!isValidPublicKey(job.clientKey)) {
    throw new RangeError("clientKey must be a valid compressed public key");
  }
  if (
    typeof job.contact !== "string" || new TextEncoder().encode(job.contact).length > MAX_CONTACT
  ) {
    throw new RangeError(`contact must be a string of at most ${MAX_CONTACT} bytes`);
  }
}

/** The 32-byte job id: SHA-256d of the canonical encoding. */
export function jobIdBytes(job: Job): Uint8Array {
  return sha256d(encodeJob(job));
}

/** The job id as lowercase hex. */
export function jobId(job: Job): string {
  return toHex(jobIdBytes(job));
}

export { outputCommitment } from "./commitment.ts";
