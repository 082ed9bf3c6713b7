/**
 * @module Choosing the compute node by compute weight (issue 16, assignment): the client reads the
 * weights in force from its node (`GET /v1/weights`), matches them to the surveyed compute nodes by
 * their reward address (the wallet key that proves a node's sprint work also takes its rewards) and
 * draws the node to offer the job to in proportion to its weight, weightless nodes raised to the
 * newcomer floor of client/assignment.ts. A refused offer draws again among the nodes not yet tried.
 * Without weights (an old node, an error, no sprint closed, no candidate with weight) the choice
 * falls back to offering every node and taking the first that accepts, with the reason.
 */

import { assignmentShares, pickByShare } from "../assignment.ts";
import type { NodeClient, WeightsAnswer } from "../../relay/client.ts";
import type { JobSession } from "../job_session.ts";
import { type ComputeAd, SURVEY_TIMEOUT_MS } from "./survey.ts";

/** How the client chose the compute node, as `job submit` reports it. */
export interface NodeAssignment {
  /**
   * `weight`: drawn by compute weight; `first-accept`: offered to all, the first accept taken;
   * `named`: the caller named the node(s) (`offerTo`, `computeNodes`).
   */
  by: "weight" | "first-accept" | "named";
  /** Why there was no weighted draw (`first-accept` only). */
  reason?: string;
  /** The sprint whose weights were used (null when none). */
  sprint: number | null;
  /** The node that took the job (envelope key hex), once one has. */
  node: string | null;
  /** Its weight in that sprint (`weight` only). */
  weight?: number;
  /** The chance it had in the draw that picked it (`weight` only). */
  share?: number;
  /** Draws made (one more per refusal). */
  draws?: number;
}

/** One draw: the node, its weight and its chance in that draw. */
export interface WeightedPick {
  /** Envelope key (hex). */
  node: string;
  /** Its weight (0 when it has none). */
  weight: number;
  /** Its probability in this draw. */
  share: number;
}

/** The weights in force by reward address, or why they are not known. */
export type WeightsLookup =
  | { sprint: number; byAddress: Map<string, number> }
  | { unavailable: string };

/** A uniform draw in [0, 1) from the platform's cryptographic random source. */
export function cryptoUniform(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}

/**
 * The weights in force from `node`; the reason when it cannot give them, or not within `timeoutMs`
 * (default the survey's: a node deriving a sprint's weights for the first time may take a while,
 * and the job does not wait for it).
 */
export async function fetchWeights(
  node: NodeClient,
  timeoutMs = SURVEY_TIMEOUT_MS,
): Promise<WeightsLookup> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<WeightsLookup>((r) =>
    timer = setTimeout(
      () => r({ unavailable: `the node gave no weights within ${timeoutMs} ms` }),
      timeoutMs,
    )
  );
  try {
    return await Promise.race([readWeights(node), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The positive weights of `w` summed by reward address. */
export function weightsByAddress(w: WeightsAnswer): Map<string, number> {
  const byAddress = new Map<string, number>();
  for (const e of w.weights) {
    if (typeof e.address === "string" && Number.isFinite(e.weight) && e.weight > 0) {
      byAddress.set(e.address, (byAddress.get(e.address) ?? 0) + e.weight);
    }
  }
  return byAddress;
}

async function readWeights(node: NodeClient): Promise<WeightsLookup> {
  try {
    const w = await node.weights();
    if (!Number.isInteger(w.sprint)) return { unavailable: "the node's weights carry no sprint" };
    return { sprint: w.sprint, byAddress: weightsByAddress(w) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "sprint/none-closed") return { unavailable: "no sprint has closed yet" };
    return { unavailable: `the node gave no weights (${code ?? (e as Error).message})` };
  }
}

/**
 * Draws one of `among` (envelope keys hex, not empty) with `u` uniform in [0, 1), each with
 * probability effective weight / sum, the newcomer floor over `among` (client/assignment.ts).
 */
export function drawByWeight(
  among: readonly string[],
  weights: ReadonlyMap<string, number>,
  u: number,
): WeightedPick {
  const shares = assignmentShares(among, weights);
  const node = pickByShare(shares, u);
  return { node, weight: weights.get(node) ?? 0, share: shares.get(node)! };
}

/** Draws compute nodes by weight, each at most once (until {@link retry} lets it back). */
export class WeightedChoice {
  /** The sprint the weights come from. */
  readonly sprint: number;
  /** Draws made. */
  draws = 0;
  readonly #weights: Map<string, number>;
  readonly #addresses: ReadonlyMap<string, string | null>;
  readonly #random: () => number;
  readonly #tried = new Set<string>();
  readonly #picks = new Map<string, WeightedPick>();

  /**
   * Over `candidates` (envelope key hex to reward address, or null when unknown: weight 0), with
   * the weights by reward address from `sprint`, drawing with `random` (uniform in [0, 1)).
   */
  constructor(
    candidates: ReadonlyMap<string, string | null>,
    byAddress: ReadonlyMap<string, number>,
    sprint: number,
    random: () => number = cryptoUniform,
  ) {
    this.sprint = sprint;
    this.#random = random;
    this.#addresses = candidates;
    this.#weights = new Map(
      [...candidates].map(([key, address]) => [key, address ? byAddress.get(address) ?? 0 : 0]),
    );
  }

  /** Weight of each candidate (envelope key hex). */
  get weights(): ReadonlyMap<string, number> {
    return this.#weights;
  }

  /** Draws one of the untried candidates by weight and marks it tried; null when all are tried. */
  next(): WeightedPick | null {
    const untried = [...this.#weights.keys()].filter((k) => !this.#tried.has(k));
    if (untried.length === 0) return null;
    const pick = drawByWeight(untried, this.#weights, this.#random());
    this.#tried.add(pick.node);
    this.draws++;
    this.#picks.set(pick.node, pick);
    return pick;
  }

  /** The reward address whose weight `node` was drawn by (null when it told none). */
  addressOf(node: string): string | null {
    return this.#addresses.get(node) ?? null;
  }

  /** The latest draw that picked `node`, if any did. */
  pickOf(node: string): WeightedPick | undefined {
    return this.#picks.get(node);
  }

  /** Lets `keys` be drawn again (nodes that were only busy). */
  retry(keys: Iterable<string>): void {
    for (const k of keys) this.#tried.delete(k);
  }
}

/**
 * A weighted choice over the addressable `candidates` (those with a known key), or the reason to
 * fall back to the first accept: the weights are unknown, or no candidate has weight (nothing to be
 * proportional to; the first accept then takes an idle node at once).
 */
export function weightedChoiceFor(
  candidates: readonly ComputeAd[],
  lookup: WeightsLookup,
  random?: () => number,
): WeightedChoice | { fallback: string } {
  if ("unavailable" in lookup) return { fallback: lookup.unavailable };
  const keyed = new Map<string, string | null>();
  for (const c of candidates) if (c.key) keyed.set(c.key, c.rewardAddress ?? null);
  if (keyed.size === 0) return { fallback: "no compute node told its key" };
  const choice = new WeightedChoice(keyed, lookup.byAddress, lookup.sprint, random);
  if (![...choice.weights.values()].some((w) => w > 0)) {
    return { fallback: `no compute node serving the job has weight in sprint ${lookup.sprint}` };
  }
  return choice;
}

/** Reports a draw as the `chosen` state (with what led to it, e.g. the refusal before it). */
export function sayPick(
  s: JobSession,
  choice: WeightedChoice,
  pick: WeightedPick,
  after?: string,
): void {
  s.say("chosen", {
    by: "weight",
    node: pick.node,
    weight: pick.weight,
    share: Number(pick.share.toFixed(4)),
    sprint: choice.sprint,
    draw: choice.draws,
    ...(after ? { after } : {}),
  });
}

/**
 * Starts the choice of the compute node for a job among `candidates`: with `lookup` (the weights,
 * or null when the caller named the node) a weighted draw whose first pick is returned to be
 * offered to, else the first accept; reports it as the `chosen` state.
 */
export function beginChoice(
  s: JobSession,
  candidates: readonly ComputeAd[],
  lookup: WeightsLookup | null,
  random?: () => number,
): { choice: WeightedChoice | null; first: WeightedPick | null; assignment: NodeAssignment } {
  if (lookup === null) {
    return { choice: null, first: null, assignment: { by: "named", sprint: null, node: null } };
  }
  const choice = weightedChoiceFor(candidates, lookup, random);
  if (!(choice instanceof WeightedChoice)) {
    s.say("chosen", { by: "first-accept", reason: choice.fallback });
    return {
      choice: null,
      first: null,
      assignment: { by: "first-accept", reason: choice.fallback, sprint: null, node: null },
    };
  }
  const first = choice.next()!;
  sayPick(s, choice, first);
  return { choice, first, assignment: { by: "weight", sprint: choice.sprint, node: null } };
}

/** The assignment as it ended: the node that took the job (and its draw, when drawn). */
export function finalAssignment(
  started: NodeAssignment,
  choice: WeightedChoice | null,
  node: string,
): NodeAssignment {
  const pick = choice?.pickOf(node);
  return pick
    ? { ...started, node, weight: pick.weight, share: pick.share, draws: choice!.draws }
    : { ...started, node };
}

/** One line for people: the node that took the job and how it was chosen. */
export function describeAssignment(a: NodeAssignment): string {
  const node = a.node ? `${a.node.slice(0, 12)}…` : "none";
  if (a.by === "named") return `compute node ${node}: named by the caller`;
  if (a.by === "first-accept") return `compute node ${node}: the first to accept (${a.reason})`;
  if (a.weight === undefined) return `compute node ${node}: accepted outside the weighted draw`;
  return `compute node ${node}: drawn by compute weight ${a.weight} of sprint ${a.sprint} (${
    ((a.share ?? 0) * 100).toFixed(1)
  }% chance in its draw; ${a.draws} draw(s))`;
}
