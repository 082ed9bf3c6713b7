/**
 * @module Chain storage in Deno KV: block bytes and undo data in chunks (KV values are at most
 * 64 KiB), the block index, the active chain, the UTXO set with an address index, and a tx index.
 * Writes are batched into atomic commits of at most {@link MAX_MUTATIONS} mutations.
 */

import { ByteReader, ByteWriter, concatBytes } from "./bytes.ts";
import type { Coin } from "./validation.ts";
import { CamelidError } from "./errors.ts";

/** Largest value chunk written to KV. */
export const CHUNK_SIZE = 60_000;
/** Mutations per atomic commit (KV allows 1000; a few are kept for bookkeeping). */
export const MAX_MUTATIONS = 900;

/** One entry of the block index. */
export interface IndexEntry {
  /** Block hash (hex). */
  hash: string;
  /** Parent hash (hex). */
  prev: string;
  /** Encoded 80-byte header. */
  header: Uint8Array;
  /** Height. */
  height: number;
  /** Cumulative chain work up to and including this block. */
  work: bigint;
  /** Header time. */
  time: number;
  /** Compact bits. */
  bits: number;
  /** Number of chunks of block data. */
  chunks: number;
  /** True when the block (or an ancestor) failed validation. */
  invalid: boolean;
}

/** A pending multi-commit operation, recorded so a crash can be finished on restart. */
export interface PendingOp {
  /** Which operation. */
  op: "connect" | "disconnect";
  /** Block hash. */
  hash: string;
}

/** A KV mutation: set a value, or delete when `value` is null. */
export interface Mutation {
  /** Key. */
  key: Deno.KvKey;
  /** Value, or null to delete. */
  value: unknown;
}

/** Stored form of a coin. */
interface StoredCoin {
  v: bigint;
  s: Uint8Array;
  h: number;
  c: boolean;
}

/** Key of a UTXO. */
export function utxoKey(txid: string, vout: number): Deno.KvKey {
  return ["utxo", txid, vout];
}

/** Key of an address index entry. */
export function addressKey(address: string, txid: string, vout: number): Deno.KvKey {
  return ["addr", address, txid, vout];
}

/** Stored value of a coin. */
export function coinValue(coin: Coin): StoredCoin {
  return { v: coin.value, s: coin.scriptPubKey, h: coin.height, c: coin.coinbase };
}

/** Coin from its stored value. */
export function coinFromValue(v: StoredCoin): Coin {
  return { value: v.v, scriptPubKey: v.s, height: v.h, coinbase: v.c };
}

/** Encodes undo data: the coins a block spent, in input order. */
export function encodeUndo(coins: Coin[]): Uint8Array {
  const w = new ByteWriter(coins.length * 40 + 8);
  w.varint(coins.length);
  for (const c of coins) {
    w.u64(c.value).varBytes(c.scriptPubKey).u32(c.height).u8(c.coinbase ? 1 : 0);
  }
  return w.finish();
}

/** Decodes undo data (strict). */
export function decodeUndo(bytes: Uint8Array): Coin[] {
  const r = new ByteReader(bytes, "undo data");
  const n = r.varint();
  const coins: Coin[] = [];
  for (let i = 0; i < n; i++) {
    const value = r.u64();
    const scriptPubKey = r.varBytes(10_000);
    const height = r.u32();
    const flag = r.u8();
    if (flag > 1) throw new CamelidError("store/corrupt", "undo data: bad coinbase flag");
    coins.push({ value, scriptPubKey, height, coinbase: flag === 1 });
  }
  r.end();
  return coins;
}

/** Splits bytes into set-mutations of chunks under `prefix`. */
export function chunkMutations(prefix: Deno.KvKey, bytes: Uint8Array): Mutation[] {
  const out: Mutation[] = [];
  for (let i = 0, n = 0; i === 0 || i < bytes.length; i += CHUNK_SIZE, n++) {
    out.push({ key: [...prefix, n], value: bytes.slice(i, i + CHUNK_SIZE) });
    if (bytes.length === 0) break;
  }
  return out;
}

/** Total key bytes allowed in one atomic commit (KV allows 80 KiB; keys are estimated generously). */
export const MAX_KEY_BYTES = 60_000;
/** Total value bytes allowed in one atomic commit (KV allows 800 KiB). */
export const MAX_VALUE_BYTES = 600_000;

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

/** Thin typed layer over Deno KV for the chain. */
export class ChainStore {
  /** The KV database. */
  readonly kv: Deno.Kv;

  /** Wraps an open KV database. */
  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /** Applies mutations in atomic batches (see {@link batchMutations}), in order. */
  async apply(mutations: Mutation[]): Promise<void> {
    for (const batch of batchMutations(mutations)) {
      const op = this.kv.atomic();
      for (const m of batch) {
        if (m.value === null) op.delete(m.key);
        else op.set(m.key, m.value);
      }
      const res = await op.commit();
      if (!res.ok) throw new CamelidError("store/commit-failed", "KV atomic commit failed");
    }
  }

  /** Reads chunked bytes stored under `prefix` (`count` chunks). */
  async readChunks(prefix: Deno.KvKey, count: number): Promise<Uint8Array | null> {
    const keys = Array.from({ length: count }, (_, i) => [...prefix, i]);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      const got = await this.kv.getMany<Uint8Array[]>(keys.slice(i, i + 10));
      for (const g of got) {
        if (g.value === null) return null;
        parts.push(g.value);
      }
    }
    return concatBytes(...parts);
  }

  /** Loads every block index entry. */
  async loadIndex(): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    for await (const e of this.kv.list<IndexEntry>({ prefix: ["idx"] })) out.push(e.value);
    return out;
  }

  /** Reads the coins of several outpoints (undefined where absent). */
  async getCoins(outpoints: { txid: string; vout: number }[]): Promise<(Coin | undefined)[]> {
    const out: (Coin | undefined)[] = [];
    for (let i = 0; i < outpoints.length; i += 10) {
      const got = await this.kv.getMany<StoredCoin[]>(
        outpoints.slice(i, i + 10).map((o) => utxoKey(o.txid, o.vout)),
      );
      for (const g of got) out.push(g.value ? coinFromValue(g.value) : undefined);
    }
    return out;
  }

  /** The tip hash, or null on an empty store. */
  async getTip(): Promise<string | null> {
    return (await this.kv.get<string>(["tip"])).value;
  }

  /** The pending operation left by a crash, if any. */
  async getPending(): Promise<PendingOp | null> {
    return (await this.kv.get<PendingOp>(["pending"])).value;
  }
}
