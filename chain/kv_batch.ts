/**
 * @module KV write batching: mutations, chunking of large values (KV values are at most 64 KiB) and
 * splitting of mutation lists into atomic commits that fit Deno KV's limits. Names no key itself:
 * keys come from `chain/store.ts`.
 */

/** Largest value chunk written to KV. */
export const CHUNK_SIZE = 60_000;
/** Mutations per atomic commit (KV allows 1000; a few are kept for bookkeeping). */
export const MAX_MUTATIONS = 900;
/** Total key bytes allowed in one atomic commit (KV allows 80 KiB; keys are estimated generously). */
export const MAX_KEY_BYTES = 60_000;
/** Total value bytes allowed in one atomic commit (KV allows 800 KiB). */
export const MAX_VALUE_BYTES = 600_000;

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

function keyBytes(key: Deno.KvKey): number {
  let n = 8;
  for (const part of key) {
    n += part instanceof Uint8Array ? part.length + 2 : String(part).length + 4;
  }
  return n;
}

function valueBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.length + 16;
  if (value && typeof value === "object") {
    let n = 32;
    for (const v of Object.values(value)) n += v instanceof Uint8Array ? v.length + 8 : 40;
    return n;
  }
  return 32;
}

/** Splits mutations, in order, into batches that each fit one KV atomic commit. */
export function batchMutations(mutations: Mutation[]): Mutation[][] {
  const out: Mutation[][] = [];
  let cur: Mutation[] = [];
  let keys = 0;
  let values = 0;
  for (const m of mutations) {
    const k = keyBytes(m.key);
    const v = m.value === null ? 0 : valueBytes(m.value);
    if (
      cur.length &&
      (cur.length >= MAX_MUTATIONS || keys + k > MAX_KEY_BYTES || values + v > MAX_VALUE_BYTES)
    ) {
      out.push(cur);
      cur = [];
      keys = 0;
      values = 0;
    }
    cur.push(m);
    keys += k;
    values += v;
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
