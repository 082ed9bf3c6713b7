/**
 * @module Every compute node's reputation derived from chain data, the same on every node that holds
 * the same active chain (reputation.ts is the policy; this module feeds it). An **epoch** is a sprint
 * interval: epoch k is heights k * interval .. (k + 1) * interval - 1, so sprint k's seed block opens
 * it and its proof window lies inside it. A node (named by the HASH160 of its key, as stakes name it)
 * is **active** in an epoch when a client paid it for a job there (an escrow PAY spend naming its
 * stake) or its sprint proof for that epoch's sprint earned weight (verifier-wasm/sprint_weights.ts).
 * **Proven fraud** is a stake slashed by a fraud proof or a bad-answer proof: it resets the node at
 * once, in the open epoch too. The job volume of an epoch is its number of paid jobs. Closed epochs
 * are replayed through a {@link ReputationBook}; the book after each closed epoch is kept (a few,
 * keyed by the hash of the epoch's last block, which commits to the whole chain below it), so a new
 * block replays at most the epochs after the newest kept one. See docs/protocol.md, "Compute weight".
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import type { Block } from "../../chain/block.ts";
import { CamelidError } from "../../chain/errors.ts";
import { hash160 } from "../../chain/hash.ts";
import { parsePay, PATH_BAD_ANSWER, PATH_PAY, PATH_STAKE_FRAUD } from "../../chain/job_unlock.ts";
import {
  parseOutputScript,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_JOB_ESCROW,
} from "../../chain/script.ts";
import { type Transaction, txid } from "../../chain/tx.ts";
import type { Coin } from "../../chain/validation.ts";
import { type SprintChainView, sprintWeights } from "../../verifier-wasm/sprint_weights.ts";
import {
  DEFAULT_REPUTATION,
  ReputationBook,
  type ReputationParams,
  type ReputationRecord,
  validationFloor,
  validationProbability,
} from "./reputation.ts";

/**
 * Reputation parameters per network. Dev epochs last 20 s and a devnet serves a few jobs an epoch,
 * so dev matures in 4 epochs, forgets after 6 idle ones and aims at 1 check an epoch (the defaults
 * would keep every dev floor at 1.0 and take 400 s to mature).
 */
export function reputationParamsFor(network: string): ReputationParams {
  return network === "dev"
    ? { maturityEpochs: 4, inactiveEpochs: 6, targetChecks: 1, minFloor: 0.02 }
    : DEFAULT_REPUTATION;
}

/** What the derivation reads of a chain (a ChainNode fits). */
export interface ReputationChainView extends SprintChainView {
  /** The active tip. */
  tip(): { hash: string; height: number };
  /** A stored block, decoded. */
  getBlock(hash: string): Promise<Block | null>;
  /** A transaction on the active chain (or in the mempool). */
  getTransaction(id: string): Promise<{ tx: Transaction } | null>;
  /** The store's sprint proofs and undo data. */
  readonly store: SprintChainView["store"] & { readUndo(hash: string): Promise<Coin[]> };
}

/** A fraud proof (or bad-answer proof) that slashed a node's stake. */
export interface FraudRecord {
  /** Height of the block holding it. */
  readonly height: number;
  /** Its txid. */
  readonly txid: string;
  /** The epoch of that height. */
  readonly epoch: number;
}

/** One node's reputation at the tip. */
export interface NodeReputation {
  /** Whether the node has a record (active within the last inactiveEpochs epochs, or reset). */
  readonly known: boolean;
  /** Reputation: closed epochs of activity without proven fraud, capped at maturityEpochs. */
  readonly reputation: number;
  /** Last epoch the node was active (or reset), null when unknown. */
  readonly lastActiveEpoch: number | null;
  /** The node's last proven fraud on the active chain, null when none. */
  readonly lastFraud: FraudRecord | null;
  /** Probability that a job of the node is validated. */
  readonly validationProbability: number;
  /** Jobs the node was paid for in the last closed and in the open epoch. */
  readonly jobs: { readonly lastEpoch: number; readonly currentEpoch: number };
}

/** The network's reputation state at one tip. */
export interface ReputationSnapshot {
  /** Tip the state was derived at. */
  readonly tip: { readonly hash: string; readonly height: number };
  /** The open epoch (the tip's). */
  readonly epoch: number;
  /** Closed epochs replayed (epochs 0 .. epoch - 1). */
  readonly epochsCounted: number;
  /** Paid jobs in the last closed and in the open epoch. */
  readonly volume: { readonly lastEpoch: number; readonly currentEpoch: number };
  /** Validation floor at that volume. */
  readonly floor: number;
  /** The parameters. */
  readonly params: ReputationParams;
  /** One node's reputation (`node` = HASH160 of its key). */
  node(nodeHash: Uint8Array): NodeReputation;
}

/** What one block shows: paid jobs and proven frauds, by node HASH160 (hex). */
interface BlockActivity {
  readonly paid: string[];
  readonly fraud: { node: string; txid: string }[];
}

/** What one epoch shows. */
interface EpochActivity {
  readonly active: Set<string>;
  readonly fraud: Map<string, FraudRecord>;
  readonly paid: Map<string, number>;
  readonly volume: number;
}

/** The state after a closed epoch. */
interface ClosedState {
  readonly epoch: number;
  readonly book: Record<string, ReputationRecord>;
  readonly lastFraud: ReadonlyMap<string, FraudRecord>;
  readonly paid: ReadonlyMap<string, number>;
  readonly volume: number;
}

/** States after closed epochs kept (the newest). */
const KEPT_STATES = 8;
/** Block activities kept (the newest). */
const KEPT_BLOCKS = 4096;
/** Derivations tried while the chain keeps changing under them. */
const ATTEMPTS = 3;

/** The active chain changed while it was read. */
class ChainMoved extends CamelidError {}

/** Derives reputations from a chain, caching per block and per closed epoch. */
export class ChainReputation {
  readonly #chain: ReputationChainView;
  readonly #p: ReputationParams;
  readonly #blocks = new Map<string, Promise<BlockActivity>>();
  readonly #closed = new Map<string, ClosedState>();
  #latest: { hash: string; state: Promise<ReputationSnapshot> } | null = null;

  /** Reputations over `chain` with parameters `p` (default: the network's). */
  constructor(chain: ReputationChainView, p?: ReputationParams) {
    this.#chain = chain;
    this.#p = p ?? reputationParamsFor(chain.params.name);
  }

  /** The state at the current tip (derived once per tip). */
  snapshot(): Promise<ReputationSnapshot> {
    const hash = this.#chain.tip().hash;
    if (this.#latest?.hash !== hash) {
      const state = this.#deriveRetrying();
      this.#latest = { hash, state };
      state.catch(() => {
        if (this.#latest?.state === state) this.#latest = null;
      });
    }
    return this.#latest!.state;
  }

  async #deriveRetrying(): Promise<ReputationSnapshot> {
    for (let attempt = 1;; attempt++) {
      const tip = this.#chain.tip();
      try {
        return await this.#derive(tip);
      } catch (e) {
        const moved = e instanceof ChainMoved || this.#chain.tip().hash !== tip.hash;
        if (!moved || attempt >= ATTEMPTS) throw e;
      }
    }
  }

  async #derive(tip: { hash: string; height: number }): Promise<ReputationSnapshot> {
    const interval = this.#chain.params.sprint.interval;
    const hashes = Array.from({ length: tip.height + 1 }, (_, h) => this.#chain.hashAtHeight(h));
    if (hashes[tip.height] !== tip.hash || hashes.some((h) => h === undefined)) {
      throw new ChainMoved("chain/moved", "the active chain changed while it was read");
    }
    const at = (h: number) => hashes[h]!;
    const epoch = Math.floor(tip.height / interval);
    let start = 0;
    let state: ClosedState | null = null;
    for (let k = epoch - 1; k >= 0; k--) {
      const kept = this.#closed.get(at((k + 1) * interval - 1));
      if (kept) {
        state = kept;
        start = k + 1;
        break;
      }
    }
    for (let k = start; k < epoch; k++) {
      const a = await this.#epochActivity(at, k, (k + 1) * interval - 1, true);
      const book = new ReputationBook(this.#p, state?.book);
      book.endEpoch(k, { active: a.active, fraud: a.fraud.keys() });
      state = {
        epoch: k,
        book: book.toJSON(),
        lastFraud: new Map([...state?.lastFraud ?? [], ...a.fraud]),
        paid: a.paid,
        volume: a.volume,
      };
      this.#closed.set(at((k + 1) * interval - 1), state);
      while (this.#closed.size > KEPT_STATES) {
        this.#closed.delete(this.#closed.keys().next().value!);
      }
    }
    const open = await this.#epochActivity(at, epoch, tip.height, false);
    const book = new ReputationBook(this.#p, state?.book);
    for (const node of open.fraud.keys()) book.reset(node, epoch);
    const lastFraud = new Map([...state?.lastFraud ?? [], ...open.fraud]);
    const volume = { lastEpoch: state?.volume ?? 0, currentEpoch: open.volume };
    const floor = validationFloor(this.#p, volume.lastEpoch, volume.currentEpoch);
    const p = this.#p;
    const records = book.toJSON();
    const lastPaid = state?.paid ?? new Map<string, number>();
    return {
      tip: { hash: tip.hash, height: tip.height },
      epoch,
      epochsCounted: epoch,
      volume,
      floor,
      params: p,
      node(nodeHash: Uint8Array): NodeReputation {
        const id = toHex(nodeHash);
        const r = records[id];
        return {
          known: r !== undefined,
          reputation: r?.reputation ?? 0,
          lastActiveEpoch: r?.lastActive ?? null,
          lastFraud: lastFraud.get(id) ?? null,
          validationProbability: validationProbability(p, r?.reputation ?? 0, floor),
          jobs: { lastEpoch: lastPaid.get(id) ?? 0, currentEpoch: open.paid.get(id) ?? 0 },
        };
      },
    };
  }

  /**
   * What epoch `k` shows up to height `last`: paid jobs and frauds of its blocks, and, for a closed
   * epoch, the nodes whose sprint k proof earned weight.
   */
  async #epochActivity(
    at: (height: number) => string,
    k: number,
    last: number,
    closed: boolean,
  ): Promise<EpochActivity> {
    const active = new Set<string>();
    const fraud = new Map<string, FraudRecord>();
    const paid = new Map<string, number>();
    let volume = 0;
    for (let h = k * this.#chain.params.sprint.interval; h <= last; h++) {
      const b = await this.#blockActivity(at(h));
      for (const node of b.paid) {
        active.add(node);
        paid.set(node, (paid.get(node) ?? 0) + 1);
        volume++;
      }
      for (const f of b.fraud) fraud.set(f.node, { height: h, txid: f.txid, epoch: k });
    }
    if (closed && k >= 1) {
      for (const w of await sprintWeights(this.#chain, k)) {
        if (w.weight > 0) active.add(toHex(hash160(fromHex(w.nodeKey, 33))));
      }
    }
    return { active, fraud, paid, volume };
  }

  #blockActivity(hash: string): Promise<BlockActivity> {
    let hit = this.#blocks.get(hash);
    if (!hit) {
      hit = this.#readBlockActivity(hash);
      this.#blocks.set(hash, hit);
      hit.catch(() => this.#blocks.delete(hash));
      while (this.#blocks.size > KEPT_BLOCKS) {
        this.#blocks.delete(this.#blocks.keys().next().value!);
      }
    }
    return hit;
  }

  async #readBlockActivity(hash: string): Promise<BlockActivity> {
    const block = await this.#chain.getBlock(hash);
    if (!block) throw new ChainMoved("chain/moved", `block ${hash} is not stored`);
    const paid: string[] = [];
    const fraud: { node: string; txid: string }[] = [];
    if (block.txs.length === 1) return { paid, fraud };
    const spent = await this.#chain.store.readUndo(hash);
    let u = 0;
    for (const tx of block.txs.slice(1)) {
      for (const input of tx.inputs) {
        const coin = spent[u++];
        const path = input.scriptSig[0];
        if (coin.scriptPubKey[0] === TEMPLATE_JOB_ESCROW && path === PATH_PAY) {
          paid.push(await this.#stakeNode(parsePay(input.scriptSig).stake));
        } else if (
          coin.scriptPubKey[0] === TEMPLATE_COMPUTE_STAKE &&
          (path === PATH_STAKE_FRAUD || path === PATH_BAD_ANSWER)
        ) {
          const s = parseOutputScript(coin.scriptPubKey);
          if (s.type === "compute-stake") fraud.push({ node: toHex(s.nodeHash), txid: txid(tx) });
        }
      }
    }
    return { paid, fraud };
  }

  /** The node HASH160 (hex) of the stake a payment names (consensus made it a stake of the job). */
  async #stakeNode(stake: { txid: string; vout: number }): Promise<string> {
    const found = await this.#chain.getTransaction(stake.txid);
    const script = found?.tx.outputs[stake.vout]?.scriptPubKey;
    const s = script && parseOutputScript(script);
    if (!s || s.type !== "compute-stake") {
      throw new ChainMoved("chain/moved", `stake ${stake.txid}:${stake.vout} is not on the chain`);
    }
    return toHex(s.nodeHash);
  }
}
