/**
 * @module A bounded cache of signatures already verified valid, keyed by the exact bytes checked
 * (signature || preimage || public key). Mempool admission and the verify pool fill it; block
 * connection then finds its transactions' signatures there (Bitcoin Core's signature cache). Only
 * valid results are kept, so a hit means these exact bytes verified before: a verdict never
 * depends on whether the cache was warm.
 */

import { verifySignature } from "./signature.ts";

/** Default number of entries: about 100,000 signatures (roughly 20 MB of keys). */
export const DEFAULT_SIG_CACHE_ENTRIES = 100_000;

/** Signatures verified valid, oldest evicted first once full. */
export class SignatureCache {
  readonly #entries = new Set<string>();
  readonly #maxEntries: number;
  #hits = 0;
  #misses = 0;

  /** A cache holding at most `maxEntries` signatures. */
  constructor(maxEntries: number = DEFAULT_SIG_CACHE_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.#maxEntries = maxEntries;
  }

  /** True when these exact bytes were recorded as a valid signature. */
  has(signature: Uint8Array, preimage: Uint8Array, publicKey: Uint8Array): boolean {
    const hit = this.#entries.has(cacheKey(signature, preimage, publicKey));
    if (hit) this.#hits++;
    else this.#misses++;
    return hit;
  }

  /** Records a signature that verified valid (evicts the oldest entry when full). */
  add(signature: Uint8Array, preimage: Uint8Array, publicKey: Uint8Array): void {
    const key = cacheKey(signature, preimage, publicKey);
    if (!this.#entries.has(key)) this.#insert(key);
  }

  /**
   * {@link has}, and on a miss {@link verifySignature}, recording a signature that verifies: the
   * same verdict as verifySignature, with the key built once.
   */
  verify(signature: Uint8Array, preimage: Uint8Array, publicKey: Uint8Array): boolean {
    const key = cacheKey(signature, preimage, publicKey);
    if (this.#entries.has(key)) {
      this.#hits++;
      return true;
    }
    this.#misses++;
    if (!verifySignature(signature, preimage, publicKey)) return false;
    this.#insert(key);
    return true;
  }

  #insert(key: string): void {
    if (this.#entries.size >= this.#maxEntries) {
      this.#entries.delete(this.#entries.values().next().value!);
    }
    this.#entries.add(key);
  }

  /** Number of signatures held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Lookups that found their signature, and lookups that did not, since creation. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.clear();
  }
}

/** The process-wide cache that validation consults. */
export const signatureCache: SignatureCache = new SignatureCache();

/**
 * {@link verifySignature} through a cache: a hit returns true without verifying; a signature that
 * verifies is recorded. Same verdict as verifySignature for every input.
 */
export function verifySignatureCached(
  signature: Uint8Array,
  preimage: Uint8Array,
  publicKey: Uint8Array,
  cache: SignatureCache = signatureCache,
): boolean {
  return cache.verify(signature, preimage, publicKey);
}

/** The exact bytes as a one-byte-per-char string, with each part's length so parts cannot shift. */
function cacheKey(signature: Uint8Array, preimage: Uint8Array, publicKey: Uint8Array): string {
  return `${signature.length}:${preimage.length}:` + latin1(signature) + latin1(preimage) +
    latin1(publicKey);
}

/** Parts up to this long become a string in one call (longer ones in chunks of it). */
const LATIN1_CHUNK = 8192;

function latin1(bytes: Uint8Array): string {
  if (bytes.length <= LATIN1_CHUNK) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let s = "";
  for (let i = 0; i < bytes.length; i += LATIN1_CHUNK) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + LATIN1_CHUNK) as unknown as number[],
    );
  }
  return s;
}
