/**
 * @module Job trees (concurrent inference, paper 3.2 and 5.4): a root job's completion is split into
 * parts (client/split_rules.ts), each part wrapped with the parent's text into a child job, and the
 * children of one layer run at once on different compute nodes (each offer addressed to one node),
 * layer after layer up to a depth. Every child names its parent job in its contact (bound by its
 * job id), is verified like any job, and is run again on another node when it fails, is declined or
 * is disputed as fraud. A budget in coins bounds what the tree may lock: each attempt reserves its
 * reward and three miner fees before its escrow is published, and nothing starts past the budget.
 */

import { sha256 } from "../chain/hash.ts";
import { CamelidError } from "../chain/errors.ts";
import type { NodeClient } from "../relay/client.ts";
import type { ChatMessage } from "./chat_template.ts";
import { JobFailedError } from "./job_failure.ts";
import { submitJob, type SubmitOptions, type SubmitResult } from "./job_client.ts";
import { fetchWeights } from "./phases/choose.ts";
import { candidatesFor, surveyNetwork } from "./phases/survey.ts";
import { answerText, messagesPrompt, type PromptTokens, textPrompt } from "./prompt.ts";
import { childPrompt, splitCompletion, type SplitRule } from "./split_rules.ts";
import type { Tokenizer } from "./tokenizer/mod.ts";
import { type Placement, TreePlacement, type TreePlacementRule } from "./tree_placement.ts";

/** A job tree that cannot start (`tree/no-node`, `tree/budget`, `tree/bad-option`). */
export class JobTreeError extends CamelidError {}

/** The shape and price of a tree. */
export interface TreeShape {
  /** How the completion becomes parts. */
  split: SplitRule;
  /** The child's prompt: `{part}` and `{parent}` (the parent's text) replaced. */
  template: string;
  /** Child layers below the root (0 = the root alone). */
  depth: number;
  /** Most children per node. */
  fanout: number;
  /** Fewest characters a part needs to become a child. */
  minChars: number;
  /** Most coins (base units) the tree may lock: rewards and fees of every attempt. */
  budget: bigint;
}

/** Everything a tree needs. */
export interface TreeOptions extends TreeShape {
  /** The client's node. */
  node: NodeClient;
  /** The client's secret key. */
  secretKey: Uint8Array;
  /** Model id (hex). */
  modelId: string;
  /** The model's tokenizer (prompts in, answers out). */
  tokenizer: Tokenizer;
  /** The root prompt: plain text, or a chat rendered with the model's template. */
  root: { prompt: string } | { messages: ChatMessage[] };
  /** Output budget of every job. */
  maxTokens: number;
  /** Reward of every job (base units). */
  reward: bigint;
  /** Miner fee per transaction (base units). */
  fee: bigint;
  /** Seed of the root; children's seeds derive from it and their place in the tree. */
  seed: bigint;
  /** Sampler settings of every job. */
  sampler: { temperature: number; topK: number; topP: number };
  /** How every job is verified (and what else `submitJob` takes for every job). */
  job: Pick<
    SubmitOptions,
    | "verifyWith"
    | "positions"
    | "k"
    | "outsource"
    | "spendLock"
    | "timeoutMs"
    | "deliveryTimeoutMs"
    | "expiryBlocks"
    | "push"
  >;
  /** Most attempts per node of the tree (default: one per compute node, at most 3). */
  maxAttempts?: number;
  /** Uniform draws in [0, 1) for placing jobs by compute weight (default: crypto random). */
  random?: () => number;
  /** Reports the tree as it grows. */
  onEvent?: (e: TreeEvent) => void;
}

/** One try of a tree node's job on one compute node. */
export interface TreeAttempt {
  /** The compute node asked (envelope key hex). */
  computeNode: string;
  /**
   * How that node was chosen: drawn by weight (its weight, its chance among the free untried nodes)
   * or the least used of them; `borrowedWeight` when its receipt paid another reward address than
   * the one whose weight drew it (its weight then stops counting in the tree).
   */
  placement: Omit<Placement, "node"> & { borrowedWeight?: true };
  /** Job id hex (when its escrow was published). */
  jobId: string | null;
  /** Its escrow outpoint "txid:vout" (on chain, naming the job id), when published. */
  escrow: string | null;
  /** How it ended: a client state (verified, disputed, ...) or an error code. */
  outcome: string;
  /**
   * When it started (ms since the epoch, fractional: `performance.timeOrigin` plus the monotonic
   * clock that also measures `ms`, so that attempts on one node never seem to overlap).
   */
  startedAt: number;
  /** Milliseconds from offer to the end. */
  ms: number;
  /** The escrow of a failed attempt, which refunds at `expiryHeight` (`job refund`). */
  escrowAtRisk?: { txid: string; vout: number; expiryHeight: number };
  /** Fraud proof txid, when the output was disputed. */
  fraudTxid?: string;
}

/** Why a tree node has no children. */
export type StopReason = "depth" | "no-parts" | "budget" | "failed";

/** A node of the tree: its job, its text and its children. */
export interface TreeNode {
  /** Place in the tree: "0" the root, "0.2" its third child, ... */
  path: string;
  /** Depth (0 = the root). */
  depth: number;
  /** The part of the parent's text this node works on (null for the root). */
  part: string | null;
  /** The parent's job id (null for the root). */
  parentJob: string | null;
  /** The job that counted (the verified attempt, else the last one). */
  jobId: string | null;
  /** Compute node of that job. */
  computeNode: string | null;
  /** "verified" when checked honest; else the last attempt's outcome; "skipped" when never run. */
  verdict: string;
  /** The answer's text (verified attempts only). */
  text: string | null;
  /** Every attempt, in order. */
  attempts: TreeAttempt[];
  /** Why it has no children, when it has none. */
  stop: StopReason | null;
  /** Parts left out of its text (too short, beyond the fan-out). */
  dropped: { text: string; reason: string }[];
  /** Its children. */
  children: TreeNode[];
}

/** What the tree reports as it grows. */
export type TreeEvent =
  | ({ kind: "placement" } & TreePlacementRule)
  | { kind: "layer"; depth: number; children: number }
  | (
    & { kind: "attempt"; path: string; computeNode: string; attempt: number }
    & Omit<
      Placement,
      "node"
    >
  )
  | { kind: "done"; path: string; outcome: string; computeNode: string; jobId: string | null }
  | { kind: "layer-done"; depth: number; ms: number; verified: number; children: number }
  | { kind: "stop"; path: string; reason: StopReason };

/** A finished tree: the root, what it locked, its layers' times. */
export interface TreeResult {
  /** The root node. */
  root: TreeNode;
  /** How its jobs were placed: by the compute weight of a sprint, or by use and why. */
  placement: TreePlacementRule;
  /** Coins (base units) reserved by every attempt: rewards and fees. */
  reserved: bigint;
  /** The budget. */
  budget: bigint;
  /** Wall time of each layer (ms), root first. */
  layerMs: number[];
  /** Every job of the tree, in the order they finished. */
  jobs: number;
}

/**
 * What one attempt may cost the wallet, at most: its reward and three fees. The wallet pays the
 * escrow's fee and, when nothing is delivered, a claim's; the payment, a slash and a fraud proof pay
 * their fees from the escrow or the stake. The third fee is margin.
 */
export function attemptCost(reward: bigint, fee: bigint): bigint {
  return reward + 3n * fee;
}

/** The seed of the node at `path`, attempt `attempt`: a u64 from SHA-256 of the root seed and both. */
export function childSeed(root: bigint, path: string, attempt: number): bigint {
  if (path === "0" && attempt === 0) return root;
  const h = sha256(new TextEncoder().encode(`${root}:${path}:${attempt}`));
  return new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0);
}

/** Outcomes after which another node should be asked. */
const RETRY = new Set(["disputed", "slashed", "bad-delivery", "unpaid", "delivered"]);

/**
 * Grows a tree: the root on any node, then each layer's children at once, at most one per compute
 * node while another node is free (drawn by compute weight among the free nodes, or the least used
 * without weights: client/tree_placement.ts), each retried on a node it has not tried after a
 * failure, a decline or a fraud verdict; stops a node at the depth, when its text gives no part, or
 * when the next attempt would pass the budget.
 */
export async function runJobTree(o: TreeOptions): Promise<TreeResult> {
  if (!Number.isInteger(o.depth) || o.depth < 0) {
    throw new JobTreeError("tree/bad-option", "depth must be a whole number >= 0");
  }
  if (!Number.isInteger(o.fanout) || o.fanout < 1) {
    throw new JobTreeError("tree/bad-option", "fan-out must be a whole number >= 1");
  }
  if (!o.job.verifyWith && !o.job.outsource) {
    throw new JobTreeError(
      "tree/bad-option",
      "a tree verifies every job: give local or outsourced",
    );
  }
  const cost = attemptCost(o.reward, o.fee);
  if (o.budget < cost) {
    throw new JobTreeError(
      "tree/budget",
      `the budget does not cover one job (reward and three fees: ${cost} units); nothing was paid`,
    );
  }
  const rootPrompt = "prompt" in o.root
    ? textPrompt(o.tokenizer, o.root.prompt)
    : messagesPrompt(o.tokenizer, o.root.messages);
  const [survey, weights] = await Promise.all([surveyNetwork(o.node), fetchWeights(o.node)]);
  const placement = new TreePlacement(
    candidatesFor(survey, { ...jobTerms(o, rootPrompt, o.seed), offerTo: undefined }),
    weights,
    o.random,
  );
  if (placement.nodes.length === 0) {
    throw new JobTreeError("tree/no-node", "no compute node with a known key serves the model");
  }
  const maxAttempts = o.maxAttempts ?? Math.min(3, placement.nodes.length);
  let reserved = 0n;
  let jobs = 0;
  const say = o.onEvent ?? (() => {});
  say({ kind: "placement", ...placement.rule });

  const runNode = async (n: TreeNode, prompt: PromptTokens, used: Map<string, number>) => {
    const tried = new Set<string>();
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (reserved + cost > o.budget) {
        n.stop = "budget";
        say({ kind: "stop", path: n.path, reason: "budget" });
        return;
      }
      const placed = await placement.take(tried, used);
      if (placed === null) break;
      const { node: key, ...how } = placed;
      if (reserved + cost > o.budget) { // another attempt reserved while this one waited
        placement.release(key);
        n.stop = "budget";
        say({ kind: "stop", path: n.path, reason: "budget" });
        return;
      }
      reserved += cost;
      tried.add(key);
      say({ kind: "attempt", path: n.path, computeNode: key, attempt, ...how });
      const t0 = performance.now();
      const seed = childSeed(o.seed, n.path, attempt);
      const a: TreeAttempt = {
        computeNode: key,
        placement: how,
        jobId: null,
        escrow: null,
        outcome: "",
        startedAt: performance.timeOrigin + t0, // one clock with `ms`: spans compare exactly
        ms: 0,
      };
      let result: SubmitResult | null = null;
      try {
        result = await submitJob({
          ...o.job,
          ...jobTerms(o, prompt, seed),
          node: o.node,
          secretKey: o.secretKey,
          fee: o.fee,
          offerTo: key,
          parentJob: n.parentJob ?? undefined,
        });
        a.jobId = result.jobId;
        a.escrow = `${result.escrow.txid}:${result.escrow.vout}`;
        a.outcome = result.state;
        if (result.fraudTxid) a.fraudTxid = result.fraudTxid;
        if (result.receipt && placement.paidTo(key, result.receipt.rewardAddress)) {
          a.placement.borrowedWeight = true;
        }
      } catch (e) {
        a.outcome = (e as { code?: string }).code ?? "job/failed";
        if (e instanceof JobFailedError) {
          a.escrow = `${e.atRisk.escrow.txid}:${e.atRisk.escrow.vout}`;
          const { txid, vout } = e.atRisk.escrow;
          a.escrowAtRisk = { txid, vout, expiryHeight: e.atRisk.expiryHeight };
        }
      } finally {
        a.ms = performance.now() - t0; // before the node is free for the next attempt
        placement.release(key);
      }
      n.attempts.push(a);
      jobs++;
      n.jobId = a.jobId;
      n.computeNode = key;
      n.verdict = a.outcome;
      say({ kind: "done", path: n.path, outcome: a.outcome, computeNode: key, jobId: a.jobId });
      if (result && result.state === "verified" && result.outputTokens) {
        n.text = answerText(o.tokenizer, result.outputTokens, prompt.stop);
        return;
      }
      if (result && !RETRY.has(result.state)) return;
    }
    n.stop = "failed";
    say({ kind: "stop", path: n.path, reason: "failed" });
  };

  const root: TreeNode = blankNode("0", 0, null, null);
  const layerMs: number[] = [];
  let t0 = performance.now();
  say({ kind: "layer", depth: 0, children: 1 });
  await runNode(root, rootPrompt, new Map());
  layerMs.push(performance.now() - t0);
  say({
    kind: "layer-done",
    depth: 0,
    ms: layerMs[0],
    verified: root.text === null ? 0 : 1,
    children: 1,
  });
  let layer = [root];
  for (let depth = 1; depth <= o.depth; depth++) {
    const next: { node: TreeNode; prompt: PromptTokens }[] = [];
    for (const parent of layer) {
      if (parent.text === null) continue; // failed or stopped: stop already says why
      const { parts, dropped } = splitCompletion(parent.text, o.split, {
        maxParts: o.fanout,
        minChars: o.minChars,
      });
      parent.dropped = dropped;
      if (parts.length === 0) {
        parent.stop = "no-parts";
        say({ kind: "stop", path: parent.path, reason: "no-parts" });
      }
      parts.forEach((part, i) => {
        const child = blankNode(`${parent.path}.${i}`, depth, part, parent.jobId);
        parent.children.push(child);
        const text = childPrompt(o.template, part, parent.text!);
        next.push({ node: child, prompt: textPrompt(o.tokenizer, text) });
      });
    }
    if (next.length === 0) break;
    say({ kind: "layer", depth, children: next.length });
    t0 = performance.now();
    const used = new Map<string, number>();
    await Promise.all(next.map(({ node, prompt }) => runNode(node, prompt, used)));
    const ms = performance.now() - t0;
    layerMs.push(ms);
    const verified = next.filter(({ node }) => node.text !== null).length;
    say({ kind: "layer-done", depth, ms, verified, children: next.length });
    layer = next.map(({ node }) => node);
  }
  for (const n of layer) {
    if (n.text !== null && n.stop === null && n.depth === o.depth) {
      n.stop = "depth";
      say({ kind: "stop", path: n.path, reason: "depth" });
    }
  }
  return { root, placement: placement.rule, reserved, budget: o.budget, layerMs, jobs };
}

function blankNode(path: string, depth: number, part: string | null, parentJob: string | null) {
  return {
    path,
    depth,
    part,
    parentJob,
    jobId: null,
    computeNode: null,
    verdict: "skipped",
    text: null,
    attempts: [],
    stop: null,
    dropped: [],
    children: [],
  } as TreeNode;
}

function jobTerms(o: TreeOptions, prompt: PromptTokens, seed: bigint) {
  return {
    modelId: o.modelId,
    promptTokens: prompt.tokens,
    maxTokens: o.maxTokens,
    seed,
    ...o.sampler,
    reward: o.reward,
    expiryBlocks: o.job.expiryBlocks,
  };
}

/** Every node of the tree, depth first. */
export function treeNodes(root: TreeNode): TreeNode[] {
  return [root, ...root.children.flatMap(treeNodes)];
}

/** The tree as an indented outline: one line per node (path, verdict, node, job, text). */
export function treeOutline(root: TreeNode, width = 60): string {
  return treeNodes(root).map((n) => {
    const text = (n.text ?? n.part ?? "").replace(/\s+/g, " ").slice(0, width);
    const where = n.computeNode ? ` @${n.computeNode.slice(0, 10)}` : "";
    const job = n.jobId ? ` job ${n.jobId.slice(0, 12)}` : "";
    const retries = n.attempts.length > 1 ? ` (${n.attempts.length} attempts)` : "";
    const stop = n.stop && n.stop !== "depth" ? ` [stop: ${n.stop}]` : "";
    return `${"  ".repeat(n.depth)}${n.path} ${n.verdict}${where}${job}${retries}${stop}: ${
      JSON.stringify(text)
    }`;
  }).join("\n");
}

/** The tree as JSON-ready data (bigints as strings). */
export function treeJson(r: TreeResult): Record<string, unknown> {
  return {
    placement: r.placement,
    reserved: r.reserved.toString(),
    budget: r.budget.toString(),
    jobs: r.jobs,
    layerMs: r.layerMs.map((m) => Math.round(m)),
    root: r.root,
  };
}
