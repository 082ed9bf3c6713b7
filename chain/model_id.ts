/**
 * @module Model ids: the RFC 6962 Merkle Tree Hash over a model file's 1 MiB chunks, lowercase hex.
 *
 * leaf = SHA-256(0x00 || chunk), node = SHA-256(0x01 || left || right); a list of n > 1 leaves
 * splits at k = the largest power of two smaller than n. Chunks are the file's consecutive 1 MiB
 * pieces (the last may be shorter). An empty file has no chunks, and its id is
 * MTH({}) = SHA-256("") (RFC 6962 section 2.1). Pure TypeScript; the streaming file variant lives in
 * `compute/model_file.ts`.
 */

import { sha256 } from "./hash.ts";
import { toHex } from "./bytes.ts";

/** Chunk size of the model Merkle tree: 1 MiB. */
export const MODEL_CHUNK_SIZE = 1 << 20;

/** Leaf hash of one chunk: SHA-256(0x00 || chunk). */
export function chunkLeafHash(chunk: Uint8Array): Uint8Array {
  const msg = new Uint8Array(chunk.length + 1);
  msg.set(chunk, 1);
  return sha256(msg);
}

/** Inner node hash: SHA-256(0x01 || left || right). */
export function merkleNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  const msg = new Uint8Array(65);
  msg[0] = 1;
  msg.set(left, 1);
  msg.set(right, 33);
  return sha256(msg);
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 6962 Merkle Tree Hash over already computed leaf hashes. */
export function merkleTreeHash(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  const k = largestPowerOfTwoBelow(leaves.length);
  return merkleNode(merkleTreeHash(leaves.slice(0, k)), merkleTreeHash(leaves.slice(k)));
}

/**
 * Incremental model id: feed the file in pieces of any size, then `digest()`. Keeps one partial
 * chunk plus O(log n) subtree roots.
 */
export class ModelIdHasher {
  private readonly pending = new Uint8Array(MODEL_CHUNK_SIZE + 1);
  private pendingLen = 0;
  private stack: { size: number; hash: Uint8Array }[] = [];
  private chunks = 0;
  private done = false;

  /** Adds the next bytes of the file. */
  update(data: Uint8Array): this {
    if (this.done) throw new TypeError("ModelIdHasher already finished");
    let off = 0;
    while (off < data.length) {
      const n = Math.min(MODEL_CHUNK_SIZE - this.pendingLen, data.length - off);
      this.pending.set(data.subarray(off, off + n), 1 + this.pendingLen);
      this.pendingLen += n;
      off += n;
      if (this.pendingLen === MODEL_CHUNK_SIZE) this.flush();
    }
    return this;
  }

  /** Hashes the pending chunk as a leaf and merges equal-size subtrees. */
  private flush(): void {
    this.pending[0] = 0;
    let node = { size: 1, hash: sha256(this.pending.subarray(0, 1 + this.pendingLen)) };
    this.pendingLen = 0;
    this.chunks++;
    while (this.stack.length && this.stack[this.stack.length - 1].size === node.size) {
      const left = this.stack.pop()!;
      node = { size: node.size * 2, hash: merkleNode(left.hash, node.hash) };
    }
    this.stack.push(node);
  }

  /** Number of chunks hashed so far (including a final partial chunk after `digest`). */
  get chunkCount(): number {
    return this.chunks;
  }

  /** The Merkle root bytes. The hasher cannot be updated afterwards. */
  digestBytes(): Uint8Array {
    if (!this.done) {
      if (this.pendingLen > 0) this.flush();
      this.done = true;
    }
    if (this.stack.length === 0) return sha256(new Uint8Array(0));
    let h = this.stack[this.stack.length - 1].hash;
    for (let i = this.stack.length - 2; i >= 0; i--) h = merkleNode(this.stack[i].hash, h);
    return h;
  }

  /** The model id: lowercase hex of the Merkle root. */
  digest(): string {
    return toHex(this.digestBytes());
  }
}

/** Model id of a file held in memory. */
export function modelIdFromBytes(bytes: Uint8Array): string {
  return new ModelIdHasher().update(bytes).digest();
}

/** Leaf hashes of every chunk of `bytes`. */
export function chunkLeafHashes(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += MODEL_CHUNK_SIZE) {
    out.push(chunkLeafHash(bytes.subarray(o, o + MODEL_CHUNK_SIZE)));
  }
  return out;
}

/** RFC 6962 audit path of leaf `index` among `leaves` (sibling hashes, bottom up). */
export function merkleAuditPath(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf index ${index} out of range [0, ${leaves.length})`);
  }
  if (leaves.length === 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  if (index < k) {
    return [...merkleAuditPath(leaves.slice(0, k), index), merkleTreeHash(leaves.slice(k))];
  }
  return [...merkleAuditPath(leaves.slice(k), index - k), merkleTreeHash(leaves.slice(0, k))];
}

/**
 * Checks that `chunk` is chunk `index` of a file with `count` chunks and Merkle root `root`
 * (RFC 9162 section 2.1.3.2 inclusion verification).
 */
export function verifyChunk(
  root: Uint8Array,
  index: number,
  count: number,
  chunk: Uint8Array,
  path: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count) {
    return false;
  }
  let fn = index;
  let sn = count - 1;
  let r = chunkLeafHash(chunk);
  for (const p of path) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = merkleNode(p, r);
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkleNode(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0 || r.length !== root.length) return false;
  let d = 0;
  for (let i = 0; i < r.length; i++) d |= r[i] ^ root[i];
  return d === 0;
}
