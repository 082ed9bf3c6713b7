/**
 * @module Chain storage in Deno KV, after Bitcoin Core's CCoinsViewDB and block files: the one place
 * that names a KV key. Block bytes and undo data in chunks, the block index, the active chain, the
 * UTXO set with address and job indexes, a tx index, non-delivery notices and the saved mempool;
 * the write builders that connect and disconnect a block; and the queries over them.
 */

import { ByteReader, ByteWriter, concatBytes, toHex } from "./bytes.ts";
import type { Block } from "./block.ts";
import type { IndexEntry } from "./block_index.ts";
import { CamelidError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { batchMutations, chunkMutations, type Mutation, NetMutations } from "./kv_batch.ts";
import {
  parseOutputScript,
  scriptAddress,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_JOB_ANSWER,
  TEMPLATE_JOB_CLAIM,
  TEMPLATE_JOB_ESCROW,
  TEMPLATE_VALIDATION_POOL,
  TEMPLATE_VALIDATOR_REWARD,
} from "./script.ts";
import { parseReportScript, REPORT_SCRIPT_LENGTH, TEMPLATE_REPORT } from "./report.ts";
import { sprintProofOutputs, type StoredSprintProof } from "./sprint_record.ts";
import type { Notice } from "./spend.ts";
import { type Transaction, txid } from "./tx.ts";
import { type Coin, isSpendableScript } from "./validation.ts";

/** `[BLOCK, hash, n]`: chunk n of a block's bytes. */
export const BLOCK = "blk";
/** `[INDEX, hash]`: the block's {@link IndexEntry}. */
export const INDEX = "idx";
/** `[ACTIVE, height]`: hash of the active block at a height. */
export const ACTIVE = "main";
/** The active tip hash. */
export const TIP_KEY: Deno.KvKey = ["tip"];
/** The {@link PendingOp} of a connect or disconnect in progress (absent when none). */
export const PENDING_KEY: Deno.KvKey = ["pending"];
/** `[UNDO, hash, n]`: chunk n of a block's undo data. */
export const UNDO = "undo";
/** `[UNDO_CHUNKS, hash]`: number of undo chunks of a connected block. */
export const UNDO_CHUNKS = "undon";
/** `[UTXO, txid, vout]`: an unspent output ({@link StoredCoin}). */
export const UTXO = "utxo";
/** `[ADDRESS, address, txid, vout]`: an unspent pay-to-address output (value true). */
export const ADDRESS = "addr";
/**
 * `[JOB_COIN, jobId, txid, vout]`: an unspent escrow, stake, held reward or validator reward output
 * (value true).
 */
export const JOB_COIN = "jobcoin";
/**
 * `[REPORT_BOND, held reward "txid:vout", txid, vout]`: an unspent user report bond naming that held
 * reward (value true); the held reward's CLAIM waits while one is open (chain/report_rules.ts).
 */
export const REPORT_BOND = "bond";
/** `[TX_INDEX, txid]`: `{block, index}` of a transaction on a stored chain. */
export const TX_INDEX = "txi";
/** `[NOTICE, stake txid:vout, "claim" | "answer", txid]`: height of a claim or answer. */
export const NOTICE = "notice";
/**
 * `[SPRINT_PROOF, sprint index, txid, vout]`: a sprint proof output on the active chain
 * ({@link StoredSprintProof}); the weight derivation reads them (verifier-wasm/sprint_weights.ts).
 */
export const SPRINT_PROOF = "sprint";
/** `[MEMPOOL, n]`: transaction bytes saved when the node stopped, oldest first. */
export const MEMPOOL = "mempool";
/** Prefix of the saved mempool. */
export const MEMPOOL_PREFIX: Deno.KvKey = [MEMPOOL];

/** Key of a UTXO. */
export function utxoKey(txid: string, vout: number): Deno.KvKey {
  return [UTXO, txid, vout];
}

/** Key of an address index entry. */
export function addressKey(address: string, txid: string, vout: number): Deno.KvKey {
  return [ADDRESS, address, txid, vout];
}

/** Key of the index entry of a block. */
function indexKey(hash: string): Deno.KvKey {
  return [INDEX, hash];
}

/** A pending multi-commit operation, recorded so a crash can be finished on restart. */
export interface PendingOp {
  /** Which operation. */
  op: "connect" | "disconnect";
  /** Block hash. */
  hash: string;
}

/** An output named by its transaction and index. */
export interface Outpoint {
  /** Txid (hex). */
  txid: string;
  /** Output index. */
  vout: number;
}

/** Stored form of a coin. */
interface StoredCoin {
  v: bigint;
  s: Uint8Array;
  h: number;
  c: boolean;
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

/**
 * Secondary index keys of an output: by address (pay-to-address) or by job id (escrow, stake, held
 * reward, validator reward, validation pool).
 */
function outputIndexKeys(script: Uint8Array, txidHex: string, vout: number): Deno.KvKey[] {
  const addr = scriptAddress(script);
  if (addr) return [addressKey(addr, txidHex, vout)];
  const t = script[0];
  if (t === TEMPLATE_REPORT && script.length === REPORT_SCRIPT_LENGTH) {
    const held = parseReportScript(script).held;
    return [[REPORT_BOND, `${held.txid}:${held.vout}`, txidHex, vout]];
  }
  if (
    (t === TEMPLATE_JOB_ESCROW || t === TEMPLATE_COMPUTE_STAKE || t === TEMPLATE_HELD_REWARD ||
      t === TEMPLATE_VALIDATOR_REWARD || t === TEMPLATE_VALIDATION_POOL) && script.length >= 33
  ) {
    return [[JOB_COIN, toHex(script.subarray(1, 33)), txidHex, vout]];
  }
  return [];
}

/** Index keys of a transaction's claim and answer outputs. */
function noticeKeys(tx: Transaction, txidHex: string): Deno.KvKey[] {
  const keys: Deno.KvKey[] = [];
  for (const out of tx.outputs) {
    const t = out.scriptPubKey[0];
    if (t !== TEMPLATE_JOB_CLAIM && t !== TEMPLATE_JOB_ANSWER) continue;
    try {
      const p = parseOutputScript(out.scriptPubKey);
      if (p.type === "job-claim" || p.type === "job-answer") {
        const kind = p.type === "job-claim" ? "claim" : "answer";
        keys.push([NOTICE, `${p.stake.txid}:${p.stake.vout}`, kind, txidHex]);
      }
    } catch { /* not a notice */ }
  }
  return keys;
}

/** Writes that store a block's bytes and its index entry. */
export function blockWrites(entry: IndexEntry, bytes: Uint8Array): Mutation[] {
  return [...chunkMutations([BLOCK, entry.hash], bytes), indexWrite(entry)];
}

/** Write of a (changed) index entry. */
export function indexWrite(entry: IndexEntry): Mutation {
  return { key: indexKey(entry.hash), value: entry };
}

/** Writes that store a block's undo data (the coins it spent). */
export function undoWrites(hash: string, coins: Coin[]): Mutation[] {
  const chunks = chunkMutations([UNDO, hash], encodeUndo(coins));
  return [...chunks, { key: [UNDO_CHUNKS, hash], value: chunks.length }];
}

/** Writes that make `e` the active tip, or (`connected` false) its parent. */
export function activeTipWrites(e: IndexEntry, connected: boolean): Mutation[] {
  return [
    { key: [ACTIVE, e.height], value: connected ? e.hash : null },
    { key: TIP_KEY, value: connected ? e.hash : e.prev },
  ];
}

/** Write that records (or, with null, clears) the multi-commit operation in progress. */
export function pendingWrite(op: PendingOp | null): Mutation {
  return { key: PENDING_KEY, value: op };
}

/**
 * Net mutations that connect `block` as `at` or, with `at` null, disconnect it: outputs it creates
 * and spends (with their address and job indexes), its tx index and its notices. Idempotent (later
 * writes to a key win), so recovery after a crash may apply them again. `ids` are the block's
 * txids when the caller has them.
 */
export function coinMutations(
  block: Block,
  undo: Coin[],
  at: IndexEntry | null,
  ids: string[] = block.txs.map(txid),
): Mutation[] {
  const net = new NetMutations();
  const writeCoin = (txidHex: string, vout: number, coin: Coin, live: boolean) => {
    net.put(utxoKey(txidHex, vout), live ? coinValue(coin) : null);
    for (const k of outputIndexKeys(coin.scriptPubKey, txidHex, vout)) net.put(k, live || null);
  };
  for (const [i, tx] of block.txs.entries()) {
    tx.outputs.forEach((out, vout) => {
      if (!isSpendableScript(out.scriptPubKey)) return;
      const height = at?.height ?? 0;
      const coin = { value: out.value, scriptPubKey: out.scriptPubKey, height, coinbase: i === 0 };
      writeCoin(ids[i], vout, coin, at !== null);
    });
    net.put([TX_INDEX, ids[i]], at && { block: at.hash, index: i });
    for (const k of noticeKeys(tx, ids[i])) net.put(k, at && at.height);
    for (const { sprint, vout, script } of sprintProofOutputs(tx)) {
      net.put(
        [SPRINT_PROOF, sprint, ids[i], vout],
        at && { block: at.hash, height: at.height, position: i, script },
      );
    }
  }
  // Spends come after creations, so an output created and spent in the same block ends deleted;
  // disconnecting, such an output was never in the set before the block, so it stays deleted.
  const createdHere = new Set(ids);
  let u = 0;
  for (const tx of block.txs.slice(1)) {
    for (const inp of tx.inputs) {
      const prev = toHex(inp.prevout.txid);
      writeCoin(prev, inp.prevout.vout, undo[u++], at === null && !createdHere.has(prev));
    }
  }
  return net.list();
}

/** Typed layer over Deno KV for the chain. */
export class ChainStore {
  /** The KV database. */
  readonly kv: Deno.Kv;

  /** Wraps an open KV database. */
  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /** Applies mutations in atomic batches (see {@link batchMutations}), in order. */
  async apply(mutations: Mutation[]): Promise<void> {
    for (const batch of batchMutations(mutations)) await this.commit(batch);
  }

  /** Applies one batch from {@link batchMutations} as one atomic commit. */
  async commit(batch: Mutation[]): Promise<void> {
    const op = this.kv.atomic();
    for (const m of batch) {
      if (m.value === null) op.delete(m.key);
      else op.set(m.key, m.value);
    }
    const res = await op.commit();
    if (!res.ok) throw new CamelidError("store/commit-failed", "KV atomic commit failed");
  }

  /** Reads chunked bytes stored under `prefix` (`count` chunks). */
  async #readChunks(prefix: Deno.KvKey, count: number): Promise<Uint8Array | null> {
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

  /** Raw bytes of a stored block (its index entry gives the chunk count). */
  readBlock(e: IndexEntry): Promise<Uint8Array | null> {
    return this.#readChunks([BLOCK, e.hash], e.chunks);
  }

  /** The coins a connected block spent; `store/corrupt` when missing. */
  async readUndo(hash: string): Promise<Coin[]> {
    const n = (await this.kv.get<number>([UNDO_CHUNKS, hash])).value;
    if (n === null) throw new CamelidError("store/corrupt", `undo data of ${hash} is missing`);
    return decodeUndo((await this.#readChunks([UNDO, hash], n))!);
  }

  /** Loads every block index entry. */
  async loadIndex(): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    for await (const e of this.kv.list<IndexEntry>({ prefix: [INDEX] })) out.push(e.value);
    return out;
  }

  /** Reads the coins of several outpoints (undefined where absent). */
  async getCoins(outpoints: Outpoint[]): Promise<(Coin | undefined)[]> {
    const out: (Coin | undefined)[] = [];
    for (let i = 0; i < outpoints.length; i += 10) {
      const got = await this.kv.getMany<StoredCoin[]>(
        outpoints.slice(i, i + 10).map((o) => utxoKey(o.txid, o.vout)),
      );
      for (const g of got) out.push(g.value ? coinFromValue(g.value) : undefined);
    }
    return out;
  }

  /** The coin of one outpoint, or undefined. */
  async getCoin(txidHex: string, vout: number): Promise<Coin | undefined> {
    return (await this.getCoins([{ txid: txidHex, vout }]))[0];
  }

  /** The tip hash, or null on an empty store. */
  async getTip(): Promise<string | null> {
    return (await this.kv.get<string>(TIP_KEY)).value;
  }

  /** The pending operation left by a crash, if any. */
  async getPending(): Promise<PendingOp | null> {
    return (await this.kv.get<PendingOp>(PENDING_KEY)).value;
  }

  /** Where a transaction was stored by a connected block (check that block is active). */
  async txLocation(id: string): Promise<{ block: string; index: number } | null> {
    return (await this.kv.get<{ block: string; index: number }>([TX_INDEX, id])).value;
  }

  /** Unspent outputs paying to `address`, with their coins. */
  addressCoins(address: string): Promise<{ txid: string; vout: number; coin: Coin }[]> {
    return this.#indexedCoins([ADDRESS, address]);
  }

  /** Unspent escrow and stake outputs of a job, with their coins. */
  jobCoins(jobIdHex: string): Promise<{ txid: string; vout: number; coin: Coin }[]> {
    return this.#indexedCoins([JOB_COIN, jobIdHex]);
  }

  /** The unspent user report bonds naming the held reward `heldTxid:heldVout`. */
  reportBonds(
    heldTxid: string,
    heldVout: number,
  ): Promise<{ txid: string; vout: number; coin: Coin }[]> {
    return this.#indexedCoins([REPORT_BOND, `${heldTxid}:${heldVout}`]);
  }

  /** Coins listed under an index prefix `[name, value]` whose keys end in txid and vout. */
  async #indexedCoins(prefix: Deno.KvKey): Promise<{ txid: string; vout: number; coin: Coin }[]> {
    const outpoints: Outpoint[] = [];
    for await (const e of this.kv.list({ prefix })) {
      outpoints.push({ txid: e.key[2] as string, vout: e.key[3] as number });
    }
    const coins = await this.getCoins(outpoints);
    return outpoints.flatMap((o, i) => (coins[i] ? [{ ...o, coin: coins[i]! }] : []));
  }

  /** The sprint proofs recorded for sprint `index` on the active chain. */
  async sprintProofs(index: number): Promise<StoredSprintProof[]> {
    const out: StoredSprintProof[] = [];
    for await (const e of this.kv.list<StoredSprintProof>({ prefix: [SPRINT_PROOF, index] })) {
      out.push({ ...e.value, txid: e.key[2] as string, vout: e.key[3] as number });
    }
    return out;
  }

  /** Non-delivery claims and answers of a stake (`txid:vout`): kind, txid and height. */
  async notices(stakeKey: string): Promise<{ kind: string; txid: string; height: number }[]> {
    const out: { kind: string; txid: string; height: number }[] = [];
    for await (const e of this.kv.list<number>({ prefix: [NOTICE, stakeKey] })) {
      out.push({ kind: e.key[2] as string, txid: e.key[3] as string, height: e.value });
    }
    return out;
  }

  /** The latest non-delivery claim and answer heights recorded for a stake (`txid:vout`). */
  async notice(stakeKey: string): Promise<Notice> {
    const n: Notice = { claimHeight: null, answerHeight: null };
    for (const { kind, height } of await this.notices(stakeKey)) {
      const field = kind === "claim" ? "claimHeight" : "answerHeight";
      n[field] = Math.max(n[field] ?? -1, height);
    }
    return n;
  }

  /** Sum of every unspent output (for conservation checks), their number and a digest of the set. */
  async utxoTotals(): Promise<{ total: bigint; count: number; digest: string }> {
    let total = 0n;
    let count = 0;
    const lines: string[] = [];
    for await (const e of this.kv.list<StoredCoin>({ prefix: [UTXO] })) {
      const c = e.value;
      total += c.v;
      count++;
      lines.push(`${String(e.key[1])}:${String(e.key[2])}:${c.v}:${toHex(c.s)}:${c.h}:${c.c}`);
    }
    lines.sort();
    return { total, count, digest: toHex(sha256(new TextEncoder().encode(lines.join("\n")))) };
  }

  /**
   * One pass over the UTXO set: the sum and number of coins, and the outpoints (with heights) of
   * the coinbase outputs among them.
   */
  async scanCoins(): Promise<
    { total: bigint; count: number; coinbase: (Outpoint & { height: number })[] }
  > {
    let total = 0n;
    let count = 0;
    const coinbase: (Outpoint & { height: number })[] = [];
    for await (const e of this.kv.list<StoredCoin>({ prefix: [UTXO] })) {
      total += e.value.v;
      count++;
      if (e.value.c) {
        coinbase.push({ txid: e.key[1] as string, vout: e.key[2] as number, height: e.value.h });
      }
    }
    return { total, count, coinbase };
  }

  /** Where each of several transactions was stored by a connected block (null where unknown). */
  async txLocations(ids: string[]): Promise<({ block: string; index: number } | null)[]> {
    const out: ({ block: string; index: number } | null)[] = [];
    for (let i = 0; i < ids.length; i += 10) {
      const got = await this.kv.getMany<{ block: string; index: number }[]>(
        ids.slice(i, i + 10).map((id) => [TX_INDEX, id]),
      );
      for (const g of got) out.push(g.value);
    }
    return out;
  }

  /** Saves mempool transactions (oldest first) to be restored on the next start, replacing any. */
  async saveMempool(txs: Uint8Array[]): Promise<void> {
    const old: Mutation[] = [];
    for await (const e of this.kv.list({ prefix: MEMPOOL_PREFIX })) {
      if (typeof e.key[1] !== "number" || e.key[1] >= txs.length) {
        old.push({ key: e.key, value: null });
      }
    }
    await this.apply([...old, ...txs.map((bytes, i) => ({ key: [MEMPOOL, i], value: bytes }))]);
  }

  /**
   * Deletes blocks that are not on the active chain (pruned side blocks): their bytes, index
   * entries and any undo data left from a time they were connected.
   */
  async deleteBlocks(entries: IndexEntry[]): Promise<void> {
    const muts: Mutation[] = [];
    for (const e of entries) {
      for (let i = 0; i < e.chunks; i++) muts.push({ key: [BLOCK, e.hash, i], value: null });
      muts.push({ key: indexKey(e.hash), value: null });
      const undo = (await this.kv.get<number>([UNDO_CHUNKS, e.hash])).value;
      for (let i = 0; i < (undo ?? 0); i++) muts.push({ key: [UNDO, e.hash, i], value: null });
      if (undo !== null) muts.push({ key: [UNDO_CHUNKS, e.hash], value: null });
    }
    await this.apply(muts);
  }

  /** Bytes of block data stored (every chunk under the block prefix) and the number of blocks. */
  async storedBlockBytes(): Promise<{ bytes: number; blocks: number }> {
    let bytes = 0;
    const blocks = new Set<string>();
    for await (const e of this.kv.list<Uint8Array>({ prefix: [BLOCK] })) {
      bytes += e.value.length;
      blocks.add(e.key[1] as string);
    }
    return { bytes, blocks: blocks.size };
  }

  /** The saved mempool, oldest first, and a function that forgets exactly what was read. */
  async savedMempool(): Promise<{ txs: Uint8Array[]; forget(): Promise<void> }> {
    const keys: Deno.KvKey[] = [];
    const txs: Uint8Array[] = [];
    for await (const e of this.kv.list<Uint8Array>({ prefix: MEMPOOL_PREFIX })) {
      keys.push(e.key);
      txs.push(e.value);
    }
    return { txs, forget: () => this.apply(keys.map((key) => ({ key, value: null }))) };
  }
}
