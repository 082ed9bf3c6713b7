/**
 * @module KV write batching: mutations, chunking of large values (KV values are at most 64 KiB) and
 * splitting of mutation lists into atomic commits that fit Deno KV's limits. Names no key itself:
 * keys come from `chain/store.ts`.
 */

/** Largest value chunk written to KV. */
export const CHUNK_SIZE = 60_000;
/** Mutations per atomic commit: Deno KV's limit. */
export const MAX_MUTATIONS = 1000;
/** Total encoded key bytes in one atomic commit: Deno KV's limit (80 KiB), keys sized exactly. */
export const MAX_KEY_BYTES = 81_920;
/**
 * Deno KV's limit on one atomic commit's size (800 KiB), which counts every key twice and every
 * value once: `sum(2 * key + value) <= MAX_COMMIT_BYTES` (measured on Deno 2.9.6, see kv_batch_test).
 */
export const MAX_COMMIT_BYTES = 819_200;

/** A KV mutation: set a value, or delete when `value` is null. */
export interface Mutation {
  /** Key. */
  key: Deno.KvKey;
  /** Value, or null to delete. */
  value: unknown;
}

/** Number of chunks {@link chunkMutations} makes of `length` bytes (at least one). */
export function chunkCount(length: number): number {
  return Math.max(1, Math.ceil(length / CHUNK_SIZE));
}

/** Splits bytes into set-mutations of chunks under `prefix` (key `[...prefix, n]`). */
export function chunkMutations(prefix: Deno.KvKey, bytes: Uint8Array): Mutation[] {
  const out: Mutation[] = [];
  for (let i = 0, n = 0; i === 0 || i < bytes.length; i += CHUNK_SIZE, n++) {
    out.push({ key: [...prefix, n], value: bytes.slice(i, i + CHUNK_SIZE) });
    if (bytes.length === 0) break;
  }
  return out;
}

/** Characters that take more than one UTF-8 byte. */
const NON_ASCII = /[\u0080-\uffff]/;

/** UTF-8 bytes of `s` as a KV key part stores it (a NUL takes two), or more for lone surrogates. */
function keyStringBytes(s: string): number {
  if (!NON_ASCII.test(s) && !s.includes("\u0000")) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c === 0 ? 2 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return n;
}

/**
 * Exact size of a key in Deno KV's tuple encoding: a type byte per part, strings and bytes
 * NUL-terminated with NUL bytes escaped, numbers as 8 bytes; bigints bounded by their magnitude.
 */
export function keyBytes(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    if (part instanceof Uint8Array) n += 2 + part.length + part.filter((b) => b === 0).length;
    else if (typeof part === "string") n += 2 + keyStringBytes(part);
    else if (typeof part === "number") n += 9;
    else if (typeof part === "bigint") {
      n += 2 + Math.ceil((part < 0n ? -part : part).toString(16).length / 2);
    } else n += 1;
  }
  return n;
}

/**
 * An upper bound of a value's stored size: raw bytes for a top-level Uint8Array, else V8's
 * serialization (tags and lengths, strings at two bytes a character, a typed array with its
 * whole buffer).
 */
export function valueBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.length;
  return 8 + serializedBound(value);
}

function serializedBound(value: unknown): number {
  switch (typeof value) {
    case "string":
      return 8 + 2 * value.length;
    case "bigint":
      return 8 + 8 * Math.ceil((value < 0n ? -value : value).toString(16).length / 16);
    case "object": {
      if (value === null) return 1;
      if (ArrayBuffer.isView(value)) return 32 + value.buffer.byteLength;
      let n = 16;
      if (value instanceof Map || value instanceof Set) {
        for (const [k, v] of value.entries()) n += serializedBound(k) + serializedBound(v);
        return n;
      }
      for (const [k, v] of Object.entries(value)) n += 8 + 2 * k.length + serializedBound(v);
      return n;
    }
    default:
      return 10;
  }
}

/**
 * Splits mutations, in order, into batches that each fit one KV atomic commit: at most
 * {@link MAX_MUTATIONS}, {@link MAX_KEY_BYTES} of keys and {@link MAX_COMMIT_BYTES} in all.
 */
export function batchMutations(mutations: Mutation[]): Mutation[][] {
  const out: Mutation[][] = [];
  let cur: Mutation[] = [];
  let keys = 0;
  let total = 0;
  for (const m of mutations) {
    const k = keyBytes(m.key);
    const size = 2 * k + (m.value === null ? 0 : valueBytes(m.value));
    if (
      cur.length &&
      (cur.length >= MAX_MUTATIONS || keys + k > MAX_KEY_BYTES || total + size > MAX_COMMIT_BYTES)
    ) {
      out.push(cur);
      cur = [];
      keys = 0;
      total = 0;
    }
    cur.push(m);
    keys += k;
    total += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Net set of mutations: a later write to the same key replaces an earlier one, so applying the
 * result in any batching is idempotent.
 */
export class NetMutations {
  readonly #byKey = new Map<string, Mutation>();

  /** Records `key = value` (null deletes), replacing any earlier write to `key`. */
  put(key: Deno.KvKey, value: unknown): void {
    this.#byKey.set(JSON.stringify(key), { key, value });
  }

  /** The mutations, in first-write order. */
  list(): Mutation[] {
    return [...this.#byKey.values()];
  }
}
