/**
 * @module Placement of a job tree's jobs on compute nodes (client/job_tree.ts): each attempt takes a
 * free node (one that runs no job of the tree right now) that its tree node has not tried, drawn by
 * compute weight among the free untried nodes (the newcomer floor of client/assignment.ts over them,
 * as a single job's draw in phases/choose.ts), or, where a single job would fall back (no weights,
 * no sprint closed, no key, no weight), the least used of them in its layer. While none is free it
 * waits, so no two jobs of a layer share a node while another is idle.
 */

import {
  cryptoUniform,
  drawByWeight,
  WeightedChoice,
  weightedChoiceFor,
  type WeightsLookup,
} from "./phases/choose.ts";
import type { ComputeAd } from "./phases/survey.ts";

/** How a tree places its jobs: by the compute weight of a sprint, or by use (and why). */
export type TreePlacementRule =
  | { by: "weight"; sprint: number }
  | { by: "least-used"; reason: string };

/** Where one attempt went and how it was chosen. */
export interface Placement {
  /** The compute node (envelope key hex). */
  node: string;
  /** Drawn by compute weight, or the least used in its layer (the fallback). */
  by: "weight" | "least-used";
  /** Its weight (`weight` only; 0 for a node with none, which drew at the newcomer floor). */
  weight?: number;
  /** Its chance in the draw among the free untried nodes (`weight` only). */
  share?: number;
  /** How many free untried nodes it was chosen from. */
  among: number;
}

/**
 * The tree's compute nodes, which of them run one of its jobs now, and the rule that places the next
 * attempt: one instance per tree, shared by all its layers.
 */
export class TreePlacement {
  /** By weight (and the sprint) or by use (and why not by weight). */
  readonly rule: TreePlacementRule;
  /** The candidates with a known key (envelope keys hex), in survey order. */
  readonly nodes: readonly string[];
  readonly #weights: Map<string, number> | null;
  readonly #addresses: ReadonlyMap<string, string | null>;
  readonly #random: () => number;
  readonly #busy = new Set<string>();
  readonly #waiting: (() => void)[] = [];

  /**
   * Over the surveyed `candidates` that told their key, by the weights of `lookup` (read as a single
   * job reads them: phases/choose.ts `fetchWeights`), drawing with `random` (uniform in [0, 1)).
   */
  constructor(
    candidates: readonly ComputeAd[],
    lookup: WeightsLookup,
    random: () => number = cryptoUniform,
  ) {
    this.nodes = [...new Set(candidates.flatMap((c) => (c.key ? [c.key] : [])))];
    this.#addresses = new Map(
      candidates.flatMap((c) => c.key ? [[c.key, c.rewardAddress ?? null]] : []),
    );
    this.#random = random;
    const choice = weightedChoiceFor(candidates, lookup);
    if (choice instanceof WeightedChoice) {
      this.rule = { by: "weight", sprint: choice.sprint };
      this.#weights = new Map(choice.weights);
    } else {
      this.rule = { by: "least-used", reason: choice.fallback };
      this.#weights = null;
    }
  }

  /** The nodes running one of the tree's jobs now. */
  get busy(): ReadonlySet<string> {
    return this.#busy;
  }

  /**
   * Takes a free node not in `tried` for one attempt (marks it busy and counts it in `used`, the
   * layer's jobs per node); waits while every untried node is busy; null when every node was tried.
   */
  async take(tried: ReadonlySet<string>, used: Map<string, number>): Promise<Placement | null> {
    for (;;) {
      const open = this.nodes.filter((k) => !tried.has(k));
      if (open.length === 0) return null;
      const free = open.filter((k) => !this.#busy.has(k));
      if (free.length > 0) {
        const placed = this.#choose(free, used);
        this.#busy.add(placed.node);
        used.set(placed.node, (used.get(placed.node) ?? 0) + 1);
        return placed;
      }
      await new Promise<void>((r) => this.#waiting.push(r));
    }
  }

  /** Frees `node` (its attempt ended) and wakes the attempts waiting for a node. */
  release(node: string): void {
    this.#busy.delete(node);
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /**
   * After `node` took a job paid to `rewardAddress`: when that is not the address whose weight
   * drew it (a node advertising another's address to borrow its weight), its weight no longer
   * counts in this tree (it draws at the newcomer floor) and the answer is true.
   */
  paidTo(node: string, rewardAddress: string): boolean {
    const own = this.#addresses.get(node);
    if (!this.#weights || !own || own === rewardAddress || !this.#weights.get(node)) return false;
    this.#weights.set(node, 0);
    return true;
  }

  #choose(free: readonly string[], used: ReadonlyMap<string, number>): Placement {
    if (this.#weights) {
      const pick = drawByWeight(free, this.#weights, this.#random());
      return { ...pick, by: "weight", among: free.length };
    }
    const node = free.reduce((a, b) => ((used.get(b) ?? 0) < (used.get(a) ?? 0) ? b : a));
    return { node, by: "least-used", among: free.length };
  }
}
