/**
 * @module Every compute node's reputation derived from chain data, the same on every node that holds
 * the same active chain (reputation.ts is the policy; this module feeds it). An **epoch** is a sprint
 * interval: epoch k is heights k * interval .. (k + 1) * interval - 1, so sprint k's seed block opens
 * it and its proof window lies inside it. A node (named by the HASH160 of its key, as stakes name it)
 * is **active** in an epoch when a client paid it for a job there (an escrow PAY spend naming its
 * stake) or its sprint proof for that epoch's sprint earned weight (verifier-wasm/sprint_weights.ts).
 * **Proven fraud** is a stake slashed by a fraud proof or a bad-answer proof, or a held reward
 * forfeited by a fraud proof (docs/protocol.md, "Held rewards") or slashed by a user report that
 * validators holding the weight majority confirmed ("User reports"): it resets the node at once, in the
 * open epoch too. A **statistical flag** does the same: the validation records (0x09) of the
 * distributions of the validation pools of an executor's jobs (chain/pool_rules.ts, the only
 * transaction consensus lets create records; the executor is the pool's node, the epoch the
 * distribution's block), those that count (chain/record_eligibility.ts: the key held weight in the record's sprint, a recent
 * closed one, and its draw was eligible), add their positions and exceeded counts to the executor's
 * margin test (margin_sprt.ts, {@link MARGIN_TEST}) in chain order; the distribution that makes it
 * cross flags the executor. The job volume of an epoch is its number of paid jobs. The last
 * {@link countedEpochs} closed epochs are replayed through an empty {@link ReputationBook}, so the
 * cost is bounded whatever the chain's length; each closed epoch's activity is kept by the hash of
 * its last block (which commits to the whole chain below it), so a new tip reads only the open
 * epoch's new blocks. See docs/protocol.md, "Compute weight".
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import type { Block } from "../../chain/block.ts";
import { CamelidError } from "../../chain/errors.ts";
import { hash160 } from "../../chain/hash.ts";
import {
  parsePay,
  PATH_BAD_ANSWER,
  PATH_HELD_FRAUD,
  PATH_PAY,
  PATH_POOL_DISTRIBUTE,
  PATH_STAKE_FRAUD,
} from "../../chain/job_unlock.ts";
import { addressFromHash, addressFromPublicKey } from "../../chain/keys.ts";
import {
  parseOutputScript,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_JOB_ESCROW,
  TEMPLATE_VALIDATION_POOL,
} from "../../chain/script.ts";
import { type Transaction, txid } from "../../chain/tx.ts";
import type { Coin } from "../../chain/validation.ts";
import {
  TEMPLATE_VALIDATION_RECORD,
  type ValidationRecord,
} from "../../chain/validation_record.ts";
import { isConfirmedReportSpend } from "../../chain/report_rules.ts";
import {
  MAX_RECORD_SPRINT_AGE,
  recordIneligibility,
  recordSprintInRange,
  type SprintWeights,
} from "../../chain/record_eligibility.ts";
import {
  type SprintChainView,
  type SprintWeight,
  sprintWeights,
} from "../../verifier-wasm/sprint_weights.ts";
import { MARGIN_TEST, MarginEvidence } from "./margin_sprt.ts";
import {
  DEFAULT_REPUTATION,
  ReputationBook,
  type ReputationParams,
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

/**
 * A statistical flag: the payment (or pool distribution) whose counted validation records made the
 * margin test cross.
 */
export interface FlagRecord extends FraudRecord {
  /** Jobs (payments or distributions with counted records) of the executor in that epoch up to this one. */
  readonly jobs: number;
  /** Positions the counted records checked, up to this payment. */
  readonly positions: number;
  /** Of those, positions above the margin level. */
  readonly exceeded: number;
}

/** An executor's margin evidence from validation records on chain, in one epoch. */
export interface ChainEvidenceRecord {
  /** The epoch. */
  readonly epoch: number;
  /** Jobs (payments or distributions) with at least one counted record. */
  readonly jobs: number;
  /** Positions the counted records checked. */
  readonly positions: number;
  /** Of those, positions above the margin level. */
  readonly exceeded: number;
  /** The test's log-likelihood ratio sum. */
  readonly llr: number;
  /** Whether the test crossed in the epoch (the executor was flagged). */
  readonly flagged: boolean;
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
  /** The node's last statistical flag within the counted epochs, null when none. */
  readonly lastFlag: FlagRecord | null;
  /** Its margin evidence from counted validation records, in the open and the last closed epoch. */
  readonly evidence: {
    readonly currentEpoch: ChainEvidenceRecord | null;
    readonly lastEpoch: ChainEvidenceRecord | null;
  };
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

/**
 * One payment's (or pool distribution's) counted validation records: their summed counts, for the
 * executor (HASH160 hex).
 */
interface PaymentEvidence {
  readonly executor: string;
  readonly txid: string;
  readonly positions: number;
  readonly exceeded: number;
}

/** What one block shows: paid jobs, proven frauds and counted records, by node HASH160 (hex). */
interface BlockActivity {
  readonly paid: string[];
  readonly fraud: { node: string; txid: string }[];
  readonly evidence: PaymentEvidence[];
}

/** What one epoch shows. */
interface EpochActivity {
  readonly active: Set<string>;
  readonly fraud: Map<string, FraudRecord>;
  readonly flags: Map<string, FlagRecord>;
  readonly evidence: Map<string, ChainEvidenceRecord>;
  readonly paid: Map<string, number>;
  readonly volume: number;
}

import { newestClosedSprint } from "../../chain/sprint.ts";

export { newestClosedSprint };

/** Sprints whose weights records of one payment may name (kept beyond the counted epochs'). */
const MAX_RECORD_SPRINTS = MAX_RECORD_SPRINT_AGE + 1;

/** Derivations tried while the chain keeps changing under them. */
const ATTEMPTS = 3;

/** The active chain changed while it was read. */
class ChainMoved extends CamelidError {}

/**
 * Closed epochs a derivation replays: `maturityEpochs + inactiveEpochs`. Within them a node that
 * stayed active reaches the cap and one idle for inactiveEpochs is deleted, whatever came before.
 */
export function countedEpochs(p: ReputationParams): number {
  return p.maturityEpochs + p.inactiveEpochs;
}

/** Derives reputations from a chain, caching per closed epoch and per block of the open one. */
export class ChainReputation {
  readonly #chain: ReputationChainView;
  readonly #p: ReputationParams;
  readonly #blocks = new Map<string, Promise<BlockActivity>>();
  readonly #epochs = new Map<string, Promise<EpochActivity>>();
  readonly #weights = new Map<string, Promise<SprintWeight[]>>();
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
    const epoch = Math.floor(tip.height / interval);
    const first = Math.max(0, epoch - countedEpochs(this.#p));
    const hashes = new Map<number, string | undefined>();
    for (let h = first * interval; h <= tip.height; h++) hashes.set(h, this.#chain.hashAtHeight(h));
    if (hashes.get(tip.height) !== tip.hash || [...hashes.values()].includes(undefined)) {
      throw new ChainMoved("chain/moved", "the active chain changed while it was read");
    }
    const at = (h: number) => hashes.get(h)!;
    const book = new ReputationBook(this.#p);
    const lastFraud = new Map<string, FraudRecord>();
    const lastFlag = new Map<string, FlagRecord>();
    let last: EpochActivity | null = null;
    for (let k = first; k < epoch; k++) {
      last = await this.#closedEpoch(at, k);
      book.endEpoch(k, {
        active: last.active,
        fraud: last.fraud.keys(),
        flagged: last.flags.keys(),
      });
      for (const [node, f] of last.fraud) lastFraud.set(node, f);
      for (const [node, f] of last.flags) lastFlag.set(node, f);
    }
    while (this.#epochs.size > countedEpochs(this.#p) + 2) {
      this.#epochs.delete(this.#epochs.keys().next().value!);
    }
    const open = await this.#epochActivity(at, epoch, tip.height, true);
    for (const [node, f] of open.fraud) {
      book.reset(node, epoch);
      lastFraud.set(node, f);
    }
    for (const [node, f] of open.flags) {
      book.reset(node, epoch);
      lastFlag.set(node, f);
    }
    while (this.#blocks.size > interval) this.#blocks.delete(this.#blocks.keys().next().value!);
    while (this.#weights.size > countedEpochs(this.#p) + 2 + MAX_RECORD_SPRINTS) {
      this.#weights.delete(this.#weights.keys().next().value!);
    }
    const volume = { lastEpoch: last?.volume ?? 0, currentEpoch: open.volume };
    const floor = validationFloor(this.#p, volume.lastEpoch, volume.currentEpoch);
    const p = this.#p;
    const records = book.toJSON();
    const lastPaid = last?.paid ?? new Map<string, number>();
    return {
      tip: { hash: tip.hash, height: tip.height },
      epoch,
      epochsCounted: epoch - first,
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
          lastFlag: lastFlag.get(id) ?? null,
          evidence: {
            currentEpoch: open.evidence.get(id) ?? null,
            lastEpoch: last?.evidence.get(id) ?? null,
          },
          validationProbability: validationProbability(p, r?.reputation ?? 0, floor),
          jobs: { lastEpoch: lastPaid.get(id) ?? 0, currentEpoch: open.paid.get(id) ?? 0 },
        };
      },
    };
  }

  /** A closed epoch's activity, kept by the hash of its last block (which commits to the chain). */
  #closedEpoch(at: (height: number) => string, k: number): Promise<EpochActivity> {
    const lastBlock = at((k + 1) * this.#chain.params.sprint.interval - 1);
    let hit = this.#epochs.get(lastBlock);
    if (!hit) {
      hit = this.#epochActivity(at, k, (k + 1) * this.#chain.params.sprint.interval - 1, false);
      this.#epochs.set(lastBlock, hit);
      hit.catch(() => this.#epochs.delete(lastBlock));
    }
    return hit;
  }

  /**
   * What epoch `k` shows up to height `last`: paid jobs and frauds of its blocks, the margin test of
   * each executor over its payments' counted records in chain order (from the epoch's first block
   * every time, so the result does not depend on which tips were asked before), and, for a closed
   * epoch, the nodes whose sprint k proof earned weight. The open epoch's blocks are kept one by
   * one (the next tip reads them again); a closed epoch is kept whole.
   */
  async #epochActivity(
    at: (height: number) => string,
    k: number,
    last: number,
    open: boolean,
  ): Promise<EpochActivity> {
    const active = new Set<string>();
    const fraud = new Map<string, FraudRecord>();
    const flags = new Map<string, FlagRecord>();
    const paid = new Map<string, number>();
    const test = new MarginEvidence(MARGIN_TEST);
    const jobs = new Map<string, number>();
    let volume = 0;
    for (let h = k * this.#chain.params.sprint.interval; h <= last; h++) {
      const b = await (open
        ? this.#keptBlockActivity(at(h), h)
        : this.#blocks.get(at(h)) ?? this.#blockActivity(at(h), h));
      for (const node of b.paid) {
        active.add(node);
        paid.set(node, (paid.get(node) ?? 0) + 1);
        volume++;
      }
      for (const f of b.fraud) {
        fraud.set(f.node, { height: h, txid: f.txid, epoch: k });
      }
      for (const e of b.evidence) {
        jobs.set(e.executor, (jobs.get(e.executor) ?? 0) + 1);
        if (test.observeCounts(e.executor, e.positions, e.exceeded)) {
          const { positions, exceeded } = test.evidence(e.executor)!;
          const n = jobs.get(e.executor)!;
          flags.set(e.executor, {
            height: h,
            txid: e.txid,
            epoch: k,
            jobs: n,
            positions,
            exceeded,
          });
        }
      }
    }
    const evidence = new Map<string, ChainEvidenceRecord>();
    for (const [node, n] of jobs) {
      const { positions, exceeded, llr, flagged } = test.evidence(node)!;
      evidence.set(node, { epoch: k, jobs: n, positions, exceeded, llr, flagged });
    }
    if (!open && k >= 1) {
      for (const w of await this.#sprintWeights(k)) {
        if (w.weight > 0) active.add(toHex(hash160(fromHex(w.nodeKey, 33))));
      }
    }
    return { active, fraud, flags, evidence, paid, volume };
  }

  /**
   * The weights of closed sprint `k`, kept by the hash of its window's last block (which commits to
   * every proof that can count).
   */
  #sprintWeights(k: number): Promise<SprintWeight[]> {
    const p = this.#chain.params.sprint;
    const end = k * p.interval + p.window;
    const endHash = this.#chain.hashAtHeight(end);
    if (endHash === undefined) {
      return Promise.reject(new ChainMoved("chain/moved", `sprint ${k} has not closed`));
    }
    const key = `${k}:${endHash}`;
    let hit = this.#weights.get(key);
    if (!hit) {
      hit = sprintWeights(this.#chain, k).then((w) => {
        if (this.#chain.hashAtHeight(end) !== endHash) {
          throw new ChainMoved("chain/moved", `sprint ${k}'s window changed while it was read`);
        }
        return w;
      });
      this.#weights.set(key, hit);
      hit.catch(() => this.#weights.delete(key));
    }
    return hit;
  }

  /** The weights of closed sprint `k` by address, positive weights only (record eligibility). */
  async #weightsByAddress(k: number): Promise<SprintWeights> {
    const byAddress = new Map<string, number>();
    for (const w of await this.#sprintWeights(k)) {
      if (w.weight > 0) byAddress.set(addressFromPublicKey(fromHex(w.nodeKey, 33)), w.weight);
    }
    return { sprint: k, byAddress };
  }

  /**
   * The counted validation records of a distribution at `height` for the executor
   * `executorHash`: each whose sprint is a recent closed one there and that is eligible under that
   * sprint's weights (chain/record_eligibility.ts, the rule consensus applies to a distribution);
   * their positions and exceeded counts summed, null when none
   * counts.
   */
  async #countedRecords(
    height: number,
    executorHash: Uint8Array,
    records: readonly ValidationRecord[],
  ): Promise<{ positions: number; exceeded: number } | null> {
    const newest = newestClosedSprint(height, this.#chain.params.sprint);
    const executor = addressFromHash(executorHash);
    let positions = 0, exceeded = 0, counted = 0;
    for (const r of records) {
      if (!recordSprintInRange(r.sprint, newest)) continue;
      if (recordIneligibility(r, await this.#weightsByAddress(r.sprint), executor) !== null) {
        continue;
      }
      positions += r.positions;
      exceeded += r.exceeded;
      counted++;
    }
    return counted === 0 ? null : { positions, exceeded };
  }

  #keptBlockActivity(hash: string, height: number): Promise<BlockActivity> {
    let hit = this.#blocks.get(hash);
    if (!hit) {
      hit = this.#blockActivity(hash, height);
      this.#blocks.set(hash, hit);
      hit.catch(() => this.#blocks.delete(hash));
    }
    return hit;
  }

  /**
   * Paid jobs, proven frauds and the counted validation records of the pool distributions in the
   * block `hash` at `height` of the active chain.
   */
  async #blockActivity(hash: string, height: number): Promise<BlockActivity> {
    const block = await this.#chain.getBlock(hash);
    if (!block) throw new ChainMoved("chain/moved", `block ${hash} is not stored`);
    const paid: string[] = [];
    const fraud: { node: string; txid: string }[] = [];
    const evidence: PaymentEvidence[] = [];
    if (block.txs.length === 1) return { paid, fraud, evidence };
    const spent = await this.#chain.store.readUndo(hash);
    let u = 0;
    let readRecords = false;
    for (const tx of block.txs.slice(1)) {
      let distributed: Uint8Array | null = null;
      for (const input of tx.inputs) {
        const coin = spent[u++];
        const path = input.scriptSig[0];
        if (coin.scriptPubKey[0] === TEMPLATE_JOB_ESCROW && path === PATH_PAY) {
          paid.push(await this.#stakeNode(parsePay(input.scriptSig).stake));
        } else if (
          coin.scriptPubKey[0] === TEMPLATE_VALIDATION_POOL && path === PATH_POOL_DISTRIBUTE
        ) {
          const s = parseOutputScript(coin.scriptPubKey);
          if (s.type === "validation-pool") distributed = s.nodeHash;
        } else if (
          (coin.scriptPubKey[0] === TEMPLATE_COMPUTE_STAKE &&
            (path === PATH_STAKE_FRAUD || path === PATH_BAD_ANSWER)) ||
          (coin.scriptPubKey[0] === TEMPLATE_HELD_REWARD && path === PATH_HELD_FRAUD) ||
          isConfirmedReportSpend(coin.scriptPubKey, input.scriptSig)
        ) {
          const s = parseOutputScript(coin.scriptPubKey);
          if (s.type === "compute-stake" || s.type === "held-reward") {
            fraud.push({ node: toHex(s.nodeHash), txid: txid(tx) });
          }
        }
      }
      // A distribution's records count once, whatever inputs it spends; no other transaction
      // creates records (chain/spend.ts checkHeldOutputs).
      if (distributed && tx.outputs.length > 1) {
        readRecords = true;
        const counted = await this.#recordEvidence(height, tx, distributed);
        if (counted) evidence.push(counted);
      }
    }
    if (readRecords && this.#chain.hashAtHeight(height) !== hash) {
      // The weights it read were another chain's: not kept.
      throw new ChainMoved("chain/moved", `block ${hash} left the active chain while it was read`);
    }
    return { paid, fraud, evidence };
  }

  /**
   * The counted records of a distribution `tx` for its executor `executorHash`, null
   * when none counts.
   */
  async #recordEvidence(
    height: number,
    tx: Transaction,
    executorHash: Uint8Array,
  ): Promise<PaymentEvidence | null> {
    const records: ValidationRecord[] = [];
    for (const o of tx.outputs.slice(1)) {
      if (o.scriptPubKey[0] !== TEMPLATE_VALIDATION_RECORD) continue;
      const s = parseOutputScript(o.scriptPubKey);
      if (s.type === "validation-record") records.push(s.record);
    }
    if (records.length === 0) return null;
    const counted = await this.#countedRecords(height, executorHash, records);
    return counted && { executor: toHex(executorHash), txid: txid(tx), ...counted };
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
