/**
 * @module ChainNode: the full-node state machine over Deno KV. Validates and stores blocks, keeps the
 * most-work chain active (reorgs undo blocks and return their transactions to the mempool), holds
 * orphans briefly, accepts transactions into the mempool, and recovers a half-connected block on
 * restart from a pending marker.
 */

import { getLogger } from "@logtape/logtape";
import { toHex } from "./bytes.ts";
import { sha256 } from "./hash.ts";
import {
  type Block,
  blockHash,
  decodeBlock,
  encodeBlock,
  encodeHeader,
  genesisBlock,
} from "./block.ts";
import { CamelidError, NotFoundError, ValidationError } from "./errors.ts";
import { MEDIAN_TIME_SPAN, type NetworkParams } from "./params.ts";
import { blockWork, retargetBits } from "./pow.ts";
import { parseOutputScript, scriptAddress } from "./script.ts";
import {
  addressKey,
  batchMutations,
  ChainStore,
  chunkMutations,
  coinValue,
  decodeUndo,
  encodeUndo,
  type IndexEntry,
  type Mutation,
  utxoKey,
} from "./store.ts";
import { decodeTransaction, encodeTransaction, isCoinbase, type Transaction, txid } from "./tx.ts";
import {
  blockSubsidy,
  checkBlock,
  checkHeaderContext,
  checkTransaction,
  checkTxInputs,
  type Coin,
  coinbaseHeight,
  isSpendableScript,
  spendsJobTemplate,
} from "./validation.ts";
import { checkNoticeOutputs, type FraudChecker, gatherSpendContext, type Notice } from "./spend.ts";
import { Mempool, type MempoolEntry } from "./mempool.ts";

const log = getLogger(["camelid", "chain"]);

/** Outcome of {@link ChainNode.processBlock}. */
export interface BlockResult {
  /** connected: now on the active chain; side: stored on a weaker branch; orphan: parent unknown. */
  status: "connected" | "side" | "orphan" | "duplicate";
  /** Block hash. */
  hash: string;
}

/** Options of {@link ChainNode.open}. */
export interface ChainNodeOptions {
  /** Network parameters. */
  params: NetworkParams;
  /** Open KV database. */
  kv: Deno.Kv;
  /** Mempool size bound in bytes. */
  mempoolBytes?: number;
  /** Minimum relay fee, base units per byte. */
  minRelayFeeRate?: number;
  /** Clock in Unix seconds (tests). */
  now?: () => number;
  /** Decides stake fraud proofs (needs the model); without one, no fraud proof is accepted. */
  fraudChecker?: FraudChecker;
  /** Fault injection for crash tests: called between the commits of a multi-commit connect. */
  onCommitStep?: (step: string) => void;
}

/** A confirmed or unconfirmed transaction location. */
export interface TxLocation {
  /** Decoded transaction. */
  tx: Transaction;
  /** Encoded bytes. */
  bytes: Uint8Array;
  /** Containing block hash, or null when in the mempool. */
  blockHash: string | null;
  /** Containing block height, or null when in the mempool. */
  height: number | null;
}

/** Secondary index keys of an output: by address (pay-to-address) or by job id (escrow, stake). */
function indexKeys(script: Uint8Array, txidHex: string, vout: number): Deno.KvKey[] {
  const addr = scriptAddress(script);
  if (addr) return [addressKey(addr, txidHex, vout)];
  if ((script[0] === 0x02 || script[0] === 0x03) && script.length >= 33) {
    return [["jobcoin", toHex(script.subarray(1, 33)), txidHex, vout]];
  }
  return [];
}

/** Index keys of a transaction's claim and answer outputs: `notice/<stake>/<claim|answer>/<txid>`. */
function noticeKeys(tx: Transaction, txidHex: string): Deno.KvKey[] {
  const keys: Deno.KvKey[] = [];
  for (const out of tx.outputs) {
    const t = out.scriptPubKey[0];
    if (t !== 0x04 && t !== 0x05) continue;
    try {
      const p = parseOutputScript(out.scriptPubKey);
      if (p.type === "job-claim" || p.type === "job-answer") {
        keys.push([
          "notice",
          `${p.stake.txid}:${p.stake.vout}`,
          p.type === "job-claim" ? "claim" : "answer",
          txidHex,
        ]);
      }
    } catch { /* not a notice */ }
  }
  return keys;
}

const MAX_ORPHANS = 200;
const ORPHAN_TTL_MS = 10 * 60_000;

/** The chain state machine. */
export class ChainNode {
  /** Network parameters. */
  readonly params: NetworkParams;
  /** Storage. */
  readonly store: ChainStore;
  /** Unconfirmed transactions. */
  readonly mempool: Mempool;
  /** Emits "block" ({hash, height}), "tx" ({txid}) and "reorg" ({from, to, disconnected}). */
  readonly events: EventTarget = new EventTarget();
  /** Minimum relay fee rate (base units per byte). */
  readonly minRelayFeeRate: number;
  readonly #index = new Map<string, IndexEntry>();
  readonly #children = new Map<string, string[]>();
  #active: string[] = [];
  readonly #orphans = new Map<string, { bytes: Uint8Array; prev: string; added: number }>();
  #lock: Promise<unknown> = Promise.resolve();
  readonly #now: () => number;
  readonly #onCommitStep?: (step: string) => void;
  readonly #fraudChecker?: FraudChecker;
  readonly #verifiedTx = new Set<string>();

  private constructor(options: ChainNodeOptions) {
    this.params = options.params;
    this.store = new ChainStore(options.kv);
    this.mempool = new Mempool(options.mempoolBytes);
    this.minRelayFeeRate = options.minRelayFeeRate ?? 1;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#onCommitStep = options.onCommitStep;
    this.#fraudChecker = options.fraudChecker;
  }

  /** Opens (and if needed initialises or recovers) the chain in `kv`. */
  static async open(options: ChainNodeOptions): Promise<ChainNode> {
    const node = new ChainNode(options);
    await node.#load();
    return node;
  }

  async #load(): Promise<void> {
    for (const e of await this.store.loadIndex()) this.#addToIndex(e);
    if (this.#index.size === 0) await this.#storeGenesis();
    const pending = await this.store.getPending();
    if (pending) {
      log.warn("Finishing an interrupted {op} of block {hash}", { ...pending });
      await this.#finishPending(pending.op, pending.hash);
    }
    const tip = await this.store.getTip();
    if (!tip || !this.#index.has(tip)) {
      throw new CamelidError("store/corrupt", "chain tip missing from index");
    }
    this.#active = [];
    for (let e: IndexEntry | undefined = this.#index.get(tip); e; e = this.#index.get(e.prev)) {
      this.#active[e.height] = e.hash;
      if (e.height === 0) break;
    }
    await this.#activateBestChain();
    await this.#restoreMempool();
  }

  /** Re-accepts the transactions saved by {@link saveMempool}, oldest first, then forgets them. */
  async #restoreMempool(): Promise<void> {
    const saved: { key: Deno.KvKey; bytes: Uint8Array }[] = [];
    for await (const e of this.store.kv.list<Uint8Array>({ prefix: ["mempool"] })) {
      saved.push({ key: e.key, bytes: e.value });
    }
    let back = 0;
    for (const { bytes } of saved) {
      try {
        await this.#acceptTx(bytes, false);
        back++;
      } catch { /* confirmed or conflicting meanwhile */ }
    }
    await this.store.apply(saved.map(({ key }) => ({ key, value: null })));
    if (saved.length) {
      log.info("Restored {back} of {n} mempool transactions", { back, n: saved.length });
    }
  }

  /**
   * Saves the mempool (as Bitcoin's mempool.dat) so a restart does not lose unconfirmed
   * transactions; called when the node stops.
   */
  async saveMempool(): Promise<void> {
    const entries = this.mempool.entries().sort((a, b) => a.added - b.added);
    await this.store.apply(entries.map((e, i) => ({ key: ["mempool", i], value: e.bytes })));
  }

  async #storeGenesis(): Promise<void> {
    const genesis = genesisBlock(this.params);
    const bytes = encodeBlock(genesis);
    const hash = blockHash(genesis.header);
    const chunks = chunkMutations(["blk", hash], bytes);
    const entry: IndexEntry = {
      hash,
      prev: "0".repeat(64),
      header: encodeHeader(genesis.header),
      height: 0,
      work: blockWork(genesis.header.bits),
      time: genesis.header.time,
      bits: genesis.header.bits,
      chunks: chunks.length,
      invalid: false,
    };
    await this.store.apply([
      ...chunks,
      { key: ["idx", hash], value: entry },
      { key: ["main", 0], value: hash },
      { key: ["tip"], value: hash },
    ]);
    this.#addToIndex(entry);
  }

  #addToIndex(e: IndexEntry): void {
    this.#index.set(e.hash, e);
    const siblings = this.#children.get(e.prev) ?? [];
    if (!siblings.includes(e.hash)) siblings.push(e.hash);
    this.#children.set(e.prev, siblings);
  }

  /** Runs `fn` exclusively (blocks and transactions are processed one at a time). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** The active tip. */
  tip(): { hash: string; height: number; chainWork: bigint; time: number } {
    const hash = this.#active[this.#active.length - 1];
    const e = this.#index.get(hash)!;
    return { hash, height: e.height, chainWork: e.work, time: e.time };
  }

  /** Genesis hash of this network. */
  genesisHash(): string {
    return this.#active[0];
  }

  /** Active-chain hash at `height`, or undefined. */
  hashAtHeight(height: number): string | undefined {
    return this.#active[height];
  }

  /** Index entry of a known block. */
  entry(hash: string): IndexEntry | undefined {
    return this.#index.get(hash);
  }

  /** True when the block is stored (valid or not). */
  hasBlock(hash: string): Promise<boolean> {
    return Promise.resolve(this.#index.has(hash) || this.#orphans.has(hash));
  }

  /** True when `hash` is on the active chain. */
  isActive(hash: string): boolean {
    const e = this.#index.get(hash);
    return !!e && this.#active[e.height] === hash;
  }

  /** Block locator: tip first, then exponentially spaced back to genesis. */
  locator(): Promise<string[]> {
    const out: string[] = [];
    let step = 1;
    for (let h = this.#active.length - 1; h > 0; h -= step) {
      out.push(this.#active[h]);
      if (out.length >= 10) step *= 2;
    }
    out.push(this.#active[0]);
    return Promise.resolve(out);
  }

  /** Up to `max` encoded headers of the active chain after the first locator hash found on it. */
  getHeaders(locator: string[], max = 2000): Promise<Uint8Array[]> {
    let start = 0;
    for (const h of locator) {
      if (this.isActive(h)) {
        start = this.#index.get(h)!.height + 1;
        break;
      }
    }
    const out: Uint8Array[] = [];
    for (let h = start; h < this.#active.length && out.length < Math.min(max, 2000); h++) {
      out.push(this.#index.get(this.#active[h])!.header);
    }
    return Promise.resolve(out);
  }

  /** Raw bytes of a stored block. */
  async getBlockBytes(hash: string): Promise<Uint8Array | null> {
    const e = this.#index.get(hash);
    if (!e) return null;
    return await this.store.readChunks(["blk", hash], e.chunks);
  }

  /** A stored block, decoded. */
  async getBlock(hash: string): Promise<Block | null> {
    const bytes = await this.getBlockBytes(hash);
    return bytes ? decodeBlock(bytes) : null;
  }

  /** Bytes of a mempool transaction. */
  getMempoolTxBytes(txid: string): Uint8Array | null {
    return this.mempool.get(txid)?.bytes ?? null;
  }

  /** Finds a transaction in the mempool or on the active chain. */
  async getTransaction(id: string): Promise<TxLocation | null> {
    const pooled = this.mempool.get(id);
    if (pooled) return { tx: pooled.tx, bytes: pooled.bytes, blockHash: null, height: null };
    const loc = (await this.store.kv.get<{ block: string; index: number }>(["txi", id])).value;
    if (!loc || !this.isActive(loc.block)) return null;
    const block = await this.getBlock(loc.block);
    if (!block) return null;
    const tx = block.txs[loc.index];
    return {
      tx,
      bytes: encodeTransaction(tx),
      blockHash: loc.block,
      height: this.#index.get(loc.block)!.height,
    };
  }

  /** Unspent outputs paying to `address` on the active chain. */
  async getAddressCoins(address: string): Promise<{ txid: string; vout: number; coin: Coin }[]> {
    const out: { txid: string; vout: number; coin: Coin }[] = [];
    const keys: Deno.KvKey[] = [];
    for await (const e of this.store.kv.list({ prefix: ["addr", address] })) keys.push(e.key);
    const outpoints = keys.map((k) => ({ txid: k[2] as string, vout: k[3] as number }));
    const coins = await this.store.getCoins(outpoints);
    coins.forEach((coin, i) => coin && out.push({ ...outpoints[i], coin }));
    return out;
  }

  /** The script of an output of a transaction confirmed on the active chain (spent or not). */
  async #confirmedOutputScript(txidHex: string, vout: number): Promise<Uint8Array | undefined> {
    const loc = await this.getTransaction(txidHex);
    if (!loc || loc.blockHash === null) return undefined;
    return loc.tx.outputs[vout]?.scriptPubKey;
  }

  /** The latest non-delivery claim and answer heights recorded for a stake (`txid:vout`). */
  async #notice(stakeKey: string): Promise<Notice> {
    const n: Notice = { claimHeight: null, answerHeight: null };
    for await (const e of this.store.kv.list<number>({ prefix: ["notice", stakeKey] })) {
      const field = e.key[2] === "claim" ? "claimHeight" : "answerHeight";
      n[field] = Math.max(n[field] ?? -1, e.value);
    }
    return n;
  }

  /** Non-delivery claim and answer of a stake: heights and the answer's txid. */
  async notices(stakeKey: string): Promise<{ kind: string; txid: string; height: number }[]> {
    const out: { kind: string; txid: string; height: number }[] = [];
    for await (const e of this.store.kv.list<number>({ prefix: ["notice", stakeKey] })) {
      out.push({ kind: e.key[2] as string, txid: e.key[3] as string, height: e.value });
    }
    return out;
  }

  /** Unspent escrow and stake outputs of a job on the active chain. */
  async getJobCoins(jobIdHex: string): Promise<{ txid: string; vout: number; coin: Coin }[]> {
    const outpoints: { txid: string; vout: number }[] = [];
    for await (const e of this.store.kv.list({ prefix: ["jobcoin", jobIdHex] })) {
      outpoints.push({ txid: e.key[2] as string, vout: e.key[3] as number });
    }
    const coins = await this.store.getCoins(outpoints);
    return outpoints.flatMap((o, i) => (coins[i] ? [{ ...o, coin: coins[i]! }] : []));
  }

  /** Sum of every unspent output (for conservation checks) and the number of outputs. */
  async utxoTotals(): Promise<{ total: bigint; count: number; digest: string }> {
    let total = 0n;
    let count = 0;
    const lines: string[] = [];
    for await (
      const e of this.store.kv.list<{ v: bigint; s: Uint8Array; h: number; c: boolean }>({
        prefix: ["utxo"],
      })
    ) {
      total += e.value.v;
      count++;
      lines.push(
        `${String(e.key[1])}:${String(e.key[2])}:${e.value.v}:${
          toHex(e.value.s)
        }:${e.value.h}:${e.value.c}`,
      );
    }
    lines.sort();
    return { total, count, digest: toHex(sha256(new TextEncoder().encode(lines.join("\n")))) };
  }

  /** Compact bits required of a child of `parent`. */
  nextBits(parent: IndexEntry): number {
    const p = this.params;
    if (p.retargetInterval === 0 || (parent.height + 1) % p.retargetInterval !== 0) {
      return parent.bits;
    }
    let first = parent;
    for (let i = 0; i < p.retargetInterval - 1 && first.height > 0; i++) {
      first = this.#index.get(first.prev)!;
    }
    return retargetBits(
      parent.bits,
      parent.time - first.time,
      p.retargetInterval * p.targetSpacing,
      p.powLimitBits,
    );
  }

  /** Median time of the last 11 blocks ending at `entry`. */
  medianTimePast(entry: IndexEntry): number {
    const times: number[] = [];
    for (
      let e: IndexEntry | undefined = entry;
      e && times.length < MEDIAN_TIME_SPAN;
      e = this.#index.get(e.prev)
    ) {
      times.push(e.time);
      if (e.height === 0) break;
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }

  /**
   * Validates and stores a block, switching the active chain when it brings more work. Throws
   * `DecodeError`/`RangeError` for malformed bytes and `ValidationError` for consensus failures.
   */
  processBlock(bytes: Uint8Array): Promise<BlockResult> {
    return this.#exclusive(() => this.#processBlock(bytes));
  }

  async #processBlock(bytes: Uint8Array): Promise<BlockResult> {
    const block = decodeBlock(bytes);
    const hash = blockHash(block.header);
    const known = this.#index.get(hash);
    if (known) {
      if (known.invalid) {
        throw new ValidationError("block/known-invalid", `block ${hash} is known to be invalid`);
      }
      return { status: "duplicate", hash };
    }
    if (this.#orphans.has(hash)) return { status: "duplicate", hash };
    checkBlock(block, this.params);
    const prev = toHex(block.header.prevHash);
    const parent = this.#index.get(prev);
    if (!parent) {
      this.#addOrphan(hash, prev, bytes);
      return { status: "orphan", hash };
    }
    const result = await this.#acceptBlock(block, bytes, hash, parent);
    await this.#connectOrphansOf(hash);
    return result;
  }

  async #acceptBlock(
    block: Block,
    bytes: Uint8Array,
    hash: string,
    parent: IndexEntry,
  ): Promise<BlockResult> {
    if (parent.invalid) {
      throw new ValidationError("block/bad-prevblk", `parent ${parent.hash} is invalid`);
    }
    checkHeaderContext(
      block.header,
      this.nextBits(parent),
      this.medianTimePast(parent),
      this.#now(),
      this.params,
    );
    const height = parent.height + 1;
    if (coinbaseHeight(block.txs[0]) !== height) {
      throw new ValidationError(
        "block/bad-cb-height",
        `coinbase does not commit to height ${height}`,
      );
    }
    const chunks = chunkMutations(["blk", hash], bytes);
    const entry: IndexEntry = {
      hash,
      prev: parent.hash,
      header: encodeHeader(block.header),
      height,
      work: parent.work + blockWork(block.header.bits),
      time: block.header.time,
      bits: block.header.bits,
      chunks: chunks.length,
      invalid: false,
    };
    await this.store.apply([...chunks, { key: ["idx", hash], value: entry }]);
    this.#addToIndex(entry);
    const failures = await this.#activateBestChain();
    if (entry.invalid) {
      throw failures.get(hash) ??
        new ValidationError("block/bad-prevblk", `block ${hash} extends an invalid block`);
    }
    return { status: this.isActive(hash) ? "connected" : "side", hash };
  }

  #addOrphan(hash: string, prev: string, bytes: Uint8Array): void {
    const now = Date.now();
    for (const [h, o] of this.#orphans) if (now - o.added > ORPHAN_TTL_MS) this.#orphans.delete(h);
    if (this.#orphans.size >= MAX_ORPHANS) this.#orphans.delete(this.#orphans.keys().next().value!);
    this.#orphans.set(hash, { bytes, prev, added: now });
    log.debug("Holding orphan block {hash} (parent {prev} unknown)", { hash, prev });
  }

  /** Hashes of orphan blocks held (parents unknown). */
  orphanParents(): string[] {
    return [...new Set([...this.#orphans.values()].map((o) => o.prev))];
  }

  async #connectOrphansOf(parentHash: string): Promise<void> {
    const queue = [parentHash];
    while (queue.length) {
      const p = queue.shift()!;
      for (const [h, o] of [...this.#orphans]) {
        if (o.prev !== p) continue;
        this.#orphans.delete(h);
        try {
          const block = decodeBlock(o.bytes);
          await this.#acceptBlock(block, o.bytes, h, this.#index.get(p)!);
          queue.push(h);
        } catch (e) {
          log.info("Dropped orphan {hash}: {error}", { hash: h, error: (e as Error).message });
        }
      }
    }
  }

  #bestCandidate(): IndexEntry {
    let best = this.#index.get(this.#active[this.#active.length - 1])!;
    for (const e of this.#index.values()) if (!e.invalid && e.work > best.work) best = e;
    return best;
  }

  /** Switches to the most-work valid chain; returns the blocks found invalid on the way. */
  async #activateBestChain(): Promise<Map<string, ValidationError>> {
    const failures = new Map<string, ValidationError>();
    const oldTip = this.tip().hash;
    const disconnectedTxs: Transaction[] = [];
    const connected: string[] = [];
    for (;;) {
      const best = this.#bestCandidate();
      if (best.hash === this.tip().hash) break;
      const path: IndexEntry[] = [];
      let fork: IndexEntry = best;
      while (!this.isActive(fork.hash)) {
        path.unshift(fork);
        fork = this.#index.get(fork.prev)!;
      }
      while (this.tip().hash !== fork.hash) {
        const block = await this.getBlock(this.tip().hash);
        await this.#disconnectTip();
        disconnectedTxs.push(...block!.txs.filter((t) => !isCoinbase(t)));
      }
      for (const e of path) {
        try {
          await this.#connectBlock(e);
          connected.push(e.hash);
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          log.warn("Block {hash} is invalid: {error}", { hash: e.hash, error: err.message });
          failures.set(e.hash, err);
          await this.#markInvalid(e);
          break;
        }
      }
    }
    if (this.tip().hash === oldTip) return failures;
    for (const h of connected) {
      if (!this.isActive(h)) continue;
      this.events.dispatchEvent(
        new CustomEvent("block", { detail: { hash: h, height: this.#index.get(h)!.height } }),
      );
    }
    if (disconnectedTxs.length) {
      this.events.dispatchEvent(
        new CustomEvent("reorg", { detail: { from: oldTip, to: this.tip().hash } }),
      );
      let back = 0;
      for (const tx of disconnectedTxs) {
        try {
          await this.#acceptTx(encodeTransaction(tx), false);
          back++;
        } catch { /* conflicts with the new chain: dropped */ }
      }
      log.info("Reorg to {tip}: {back} of {n} transactions returned to the mempool", {
        tip: this.tip().hash,
        back,
        n: disconnectedTxs.length,
      });
    }
    return failures;
  }

  async #markInvalid(e: IndexEntry): Promise<void> {
    const stack = [e];
    const muts: Mutation[] = [];
    while (stack.length) {
      const cur = stack.pop()!;
      cur.invalid = true;
      muts.push({ key: ["idx", cur.hash], value: cur });
      for (const c of this.#children.get(cur.hash) ?? []) stack.push(this.#index.get(c)!);
    }
    await this.store.apply(muts);
  }

  /** Validates block `e` against the UTXO set and makes it the tip. */
  async #connectBlock(e: IndexEntry): Promise<void> {
    const bytes = await this.store.readChunks(["blk", e.hash], e.chunks);
    const block = decodeBlock(bytes!);
    const created = new Map<string, Coin>();
    const spentInBlock = new Set<string>();
    const undo: Coin[] = [];
    let fees = 0n;
    for (const [i, tx] of block.txs.entries()) {
      const id = txid(tx);
      if (i > 0) {
        if (tx.lockTime !== 0 && tx.lockTime >= e.height) {
          throw new ValidationError(
            "tx/non-final",
            `transaction ${id} is locked until height ${tx.lockTime}`,
          );
        }
        const outpoints = tx.inputs.map((inp) => ({
          txid: toHex(inp.prevout.txid),
          vout: inp.prevout.vout,
        }));
        const stored = await this.store.getCoins(outpoints);
        const coins = outpoints.map((o, j) => {
          const key = `${o.txid}:${o.vout}`;
          if (spentInBlock.has(key)) return undefined;
          return created.get(key) ?? stored[j];
        });
        const ctx = await gatherSpendContext(
          tx,
          coins.map((c) => c?.scriptPubKey),
          async (t, v) => {
            const key = `${t}:${v}`;
            if (spentInBlock.has(key)) return undefined;
            return created.get(key) ?? (await this.store.getCoins([{ txid: t, vout: v }]))[0];
          },
          this.#fraudChecker,
          (key) => this.#notice(key),
          (t, v) => this.#confirmedOutputScript(t, v),
        );
        const full = !this.#verifiedTx.has(id) || spendsJobTemplate(coins);
        fees += checkTxInputs(tx, coins, e.height, this.params, full, ctx);
        checkNoticeOutputs(tx, coins, ctx);
        for (const [j, o] of outpoints.entries()) {
          spentInBlock.add(`${o.txid}:${o.vout}`);
          undo.push(coins[j]!);
        }
      }
      tx.outputs.forEach((out, vout) => {
        if (!isSpendableScript(out.scriptPubKey)) return;
        created.set(`${id}:${vout}`, {
          value: out.value,
          scriptPubKey: out.scriptPubKey,
          height: e.height,
          coinbase: i === 0,
        });
      });
    }
    const coinbaseOut = block.txs[0].outputs.reduce((s, o) => s + o.value, 0n);
    const allowed = blockSubsidy(e.height, this.params) + fees;
    if (coinbaseOut > allowed) {
      throw new ValidationError(
        "block/bad-cb-amount",
        `coinbase pays ${coinbaseOut}, more than subsidy + fees ${allowed}`,
      );
    }
    const undoChunks = chunkMutations(["undo", e.hash], encodeUndo(undo));
    const muts = this.#connectMutations(block, e, undo);
    const finish: Mutation[] = [
      { key: ["main", e.height], value: e.hash },
      { key: ["tip"], value: e.hash },
      { key: ["undon", e.hash], value: undoChunks.length },
    ];
    const whole = [...undoChunks, ...muts, ...finish];
    if (batchMutations(whole).length === 1) {
      await this.store.apply(whole);
    } else {
      await this.store.apply([...undoChunks, { key: ["undon", e.hash], value: undoChunks.length }, {
        key: ["pending"],
        value: { op: "connect", hash: e.hash },
      }]);
      this.#onCommitStep?.("connect:marked");
      for (const batch of batchMutations(muts)) {
        await this.store.apply(batch);
        this.#onCommitStep?.("connect:batch");
      }
      await this.store.apply([...finish, { key: ["pending"], value: null }]);
    }
    for (const tx of block.txs) this.#verifiedTx.delete(txid(tx));
    this.#active[e.height] = e.hash;
    this.#removeConfirmed(block);
  }

  /** Net mutations that connect `block` (idempotent; later entries win). */
  #connectMutations(block: Block, e: IndexEntry, undo: Coin[]): Mutation[] {
    const net = new Map<string, Mutation>();
    const put = (key: Deno.KvKey, value: unknown) => net.set(JSON.stringify(key), { key, value });
    for (const [i, tx] of block.txs.entries()) {
      const id = txid(tx);
      tx.outputs.forEach((out, vout) => {
        if (!isSpendableScript(out.scriptPubKey)) return;
        const coin = {
          value: out.value,
          scriptPubKey: out.scriptPubKey,
          height: e.height,
          coinbase: i === 0,
        };
        put(utxoKey(id, vout), coinValue(coin));
        for (const k of indexKeys(out.scriptPubKey, id, vout)) put(k, true);
      });
      put(["txi", id], { block: e.hash, index: i });
      for (const k of noticeKeys(tx, id)) put(k, e.height);
    }
    // Spends come after creations, so an output created and spent in the same block ends deleted.
    let u = 0;
    for (const [i, tx] of block.txs.entries()) {
      if (i === 0) continue;
      for (const inp of tx.inputs) {
        const ptx = toHex(inp.prevout.txid);
        const coin = undo[u++];
        put(utxoKey(ptx, inp.prevout.vout), null);
        for (const k of indexKeys(coin.scriptPubKey, ptx, inp.prevout.vout)) put(k, null);
      }
    }
    return [...net.values()];
  }

  /** Net mutations that disconnect `block` (restore spent coins, remove created ones). */
  #disconnectMutations(block: Block, undo: Coin[]): Mutation[] {
    const net = new Map<string, Mutation>();
    const put = (key: Deno.KvKey, value: unknown) => net.set(JSON.stringify(key), { key, value });
    for (const tx of block.txs) {
      const id = txid(tx);
      tx.outputs.forEach((out, vout) => {
        if (!isSpendableScript(out.scriptPubKey)) return;
        put(utxoKey(id, vout), null);
        for (const k of indexKeys(out.scriptPubKey, id, vout)) put(k, null);
      });
      put(["txi", id], null);
      for (const k of noticeKeys(tx, id)) put(k, null);
    }
    let u = 0;
    for (const [i, tx] of block.txs.entries()) {
      if (i === 0) continue;
      for (const inp of tx.inputs) {
        const ptx = toHex(inp.prevout.txid);
        const coin = undo[u++];
        put(utxoKey(ptx, inp.prevout.vout), coinValue(coin));
        for (const k of indexKeys(coin.scriptPubKey, ptx, inp.prevout.vout)) put(k, true);
      }
    }
    // Coins created and spent inside the block were never in the set before it: keep them deleted.
    const createdHere = new Set(block.txs.map(txid));
    for (const m of net.values()) {
      if (m.key[0] === "utxo" && createdHere.has(m.key[1] as string)) m.value = null;
      if ((m.key[0] === "addr" || m.key[0] === "jobcoin") && createdHere.has(m.key[2] as string)) {
        m.value = null;
      }
    }
    return [...net.values()];
  }

  async #readUndo(hash: string): Promise<Coin[]> {
    const n = (await this.store.kv.get<number>(["undon", hash])).value;
    if (n === null) throw new CamelidError("store/corrupt", `undo data of ${hash} is missing`);
    return decodeUndo((await this.store.readChunks(["undo", hash], n))!);
  }

  async #disconnectTip(): Promise<void> {
    const e = this.#index.get(this.tip().hash)!;
    if (e.height === 0) throw new CamelidError("chain/genesis", "cannot disconnect genesis");
    const block = (await this.getBlock(e.hash))!;
    const muts = this.#disconnectMutations(block, await this.#readUndo(e.hash));
    const finish: Mutation[] = [{ key: ["main", e.height], value: null }, {
      key: ["tip"],
      value: e.prev,
    }];
    await this.store.apply([{ key: ["pending"], value: { op: "disconnect", hash: e.hash } }]);
    await this.store.apply(muts);
    await this.store.apply([...finish, { key: ["pending"], value: null }]);
    this.#active.length = e.height;
  }

  async #finishPending(op: "connect" | "disconnect", hash: string): Promise<void> {
    const e = this.#index.get(hash)!;
    const block = (await this.getBlock(hash))!;
    const undo = await this.#readUndo(hash);
    if (op === "connect") {
      await this.store.apply(this.#connectMutations(block, e, undo));
      await this.store.apply([
        { key: ["main", e.height], value: e.hash },
        { key: ["tip"], value: e.hash },
        { key: ["pending"], value: null },
      ]);
    } else {
      await this.store.apply(this.#disconnectMutations(block, undo));
      await this.store.apply([
        { key: ["main", e.height], value: null },
        { key: ["tip"], value: e.prev },
        { key: ["pending"], value: null },
      ]);
    }
  }

  #removeConfirmed(block: Block): void {
    for (const tx of block.txs) {
      this.mempool.remove(txid(tx), false);
      for (const inp of tx.inputs) {
        const spender = this.mempool.spender(toHex(inp.prevout.txid), inp.prevout.vout);
        if (spender) this.mempool.remove(spender, true);
      }
    }
  }

  /**
   * Accepts a transaction into the mempool. Throws `DecodeError`/`RangeError` for malformed bytes and
   * `ValidationError` (e.g. `tx/duplicate`, `mempool/conflict`, `tx/missing-inputs`, `tx/bad-signature`,
   * `tx/fee-too-low`) otherwise; nothing changes on failure.
   */
  processTx(bytes: Uint8Array): Promise<{ txid: string }> {
    return this.#exclusive(() => this.#acceptTx(bytes, true));
  }

  async #acceptTx(bytes: Uint8Array, announce: boolean): Promise<{ txid: string }> {
    const tx = decodeTransaction(bytes);
    const id = txid(tx);
    if (this.mempool.has(id)) {
      throw new ValidationError("tx/duplicate", `transaction ${id} is already in the mempool`);
    }
    checkTransaction(tx);
    if (isCoinbase(tx)) {
      throw new ValidationError("tx/coinbase", "a coinbase cannot enter the mempool");
    }
    const confirmed = (await this.store.kv.get<{ block: string }>(["txi", id])).value;
    if (confirmed && this.isActive(confirmed.block)) {
      throw new ValidationError("tx/duplicate", `transaction ${id} is already confirmed`);
    }
    const height = this.tip().height + 1;
    if (tx.lockTime !== 0 && tx.lockTime >= height) {
      throw new ValidationError(
        "tx/non-final",
        `transaction is locked until height ${tx.lockTime}`,
      );
    }
    const outpoints = tx.inputs.map((i) => ({ txid: toHex(i.prevout.txid), vout: i.prevout.vout }));
    for (const o of outpoints) {
      const other = this.mempool.spender(o.txid, o.vout);
      if (other) {
        throw new ValidationError(
          "mempool/conflict",
          `output ${o.txid}:${o.vout} is already spent by ${other}`,
        );
      }
    }
    const stored = await this.store.getCoins(outpoints);
    const coins = outpoints.map((o, j) => stored[j] ?? this.#mempoolCoin(o.txid, o.vout, height));
    const ctx = await gatherSpendContext(
      tx,
      coins.map((c) => c?.scriptPubKey),
      async (t, v) => (await this.store.getCoins([{ txid: t, vout: v }]))[0],
      this.#fraudChecker,
      (key) => this.#notice(key),
      (t, v) => this.#confirmedOutputScript(t, v),
    );
    const fee = checkTxInputs(tx, coins, height, this.params, true, ctx);
    checkNoticeOutputs(tx, coins, ctx);
    const feeRate = Number(fee) / bytes.length;
    if (feeRate < this.minRelayFeeRate) {
      throw new ValidationError(
        "tx/fee-too-low",
        `fee rate ${feeRate.toFixed(2)} is below the minimum ${this.minRelayFeeRate} per byte`,
      );
    }
    const entry: MempoolEntry = {
      txid: id,
      tx,
      bytes: bytes.slice(),
      fee,
      feeRate,
      added: Date.now(),
    };
    this.mempool.add(entry);
    this.#verifiedTx.add(id);
    if (announce) this.events.dispatchEvent(new CustomEvent("tx", { detail: { txid: id } }));
    return { txid: id };
  }

  #mempoolCoin(txidHex: string, vout: number, height: number): Coin | undefined {
    const parent = this.mempool.get(txidHex);
    const out = parent?.tx.outputs[vout];
    if (!out) return undefined;
    return { value: out.value, scriptPubKey: out.scriptPubKey, height, coinbase: false };
  }

  /** Looks up a block by hash or height on the active chain. */
  resolveBlockId(id: string): string {
    if (/^\d{1,10}$/.test(id)) {
      const h = this.#active[Number(id)];
      if (!h) throw new NotFoundError("block/not-found", `no block at height ${id}`);
      return h;
    }
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new RangeError(`block id must be a height or 64 lowercase hex characters`);
    }
    if (!this.#index.has(id)) throw new NotFoundError("block/not-found", `unknown block ${id}`);
    return id;
  }
}
