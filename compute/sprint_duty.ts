/**
 * @module The compute node's sprint duty: at each sprint's start block it proves the sprint by
 * itself (sprint_threads.ts: the sprint model on WASM kernel threads, optionally throttled), stops
 * when the chain reaches the last blocks of the proof window (or maxNonces proof nonces are found),
 * and publishes the proof transaction, signed and paid by the node's wallet key, so that it can be
 * mined inside the window. Proving pauses while the job worker runs a job. One info line per sprint.
 * See docs/protocol.md, "Compute weight" ("The compute node proves").
 */

import { getLogger } from "@logtape/logtape";
import { equalBytes, fromHex } from "../chain/bytes.ts";
import { addressFromPublicKey, publicKeyOf } from "../chain/keys.ts";
import type { ChainNode } from "../chain/node.ts";
import type { SprintParams } from "../chain/params.ts";
import { parseOutputScript, TEMPLATE_SPRINT_PROOF } from "../chain/script.ts";
import { sprintNodeSeed } from "../chain/sprint.ts";
import { sprintProofTx } from "../chain/sprint_tx.ts";
import type { TxOutput } from "../chain/tx.ts";
import { type SpendLock, walletCoins } from "./jobs/wallet_coins.ts";
import { type SprintRun, type SprintRunResult, startSprintRun } from "./sprint_threads.ts";

const log = getLogger(["camelid", "sprint"]);

/** Sprint reports kept for `/v1/status`. */
const REPORTS_KEPT = 8;
/** How often the duty asks whether a job is running (ms). */
const BUSY_POLL_MS = 100;
/** The proof's fee rate over the pool's current minimum (units a byte). */
const FEE_RATE_MARGIN = 2;
/** Smallest fee of a proof transaction (units). */
const MIN_PROOF_FEE = 1_000n;

/**
 * Blocks of a sprint's window spent proving: the node proves while the tip is at start .. start +
 * provingBlocks - 1 and publishes when the next block arrives, leaving the rest of the window
 * (max(1, ceil(window / 8)) blocks: dev 1 of 4, test 2 of 10, main 2 of 15) to mine the proof.
 */
export function provingBlocks(p: SprintParams): number {
  return p.window - Math.max(1, Math.ceil(p.window / 8));
}

/** What the duty did in one sprint. */
export interface SprintReport {
  /** Sprint index. */
  readonly sprint: number;
  /** Nonces tried. */
  readonly tried: number;
  /** Proof nonces found (published, when a txid is given). */
  readonly found: number;
  /** Milliseconds proving (pauses excluded). */
  readonly provingMs: number;
  /** Milliseconds paused while a job ran. */
  readonly pausedMs: number;
  /** Nonces tried a second while proving. */
  readonly noncesPerSecond: number;
  /** The proof transaction, or null when none was published. */
  readonly txid: string | null;
  /** Why none was published (a code), or null. */
  readonly skipped: string | null;
}

/** Options of {@link SprintDuty}. */
export interface SprintDutyOptions {
  /** The node's chain. */
  chain: ChainNode;
  /** The node wallet's secret key: its public key proves, its coins pay the fee. */
  secretKey: Uint8Array;
  /** One spender at a time with the node's other spenders (the job worker). */
  spendLock: SpendLock;
  /** Proving threads (default 1). */
  threads?: number;
  /** Nonces a second at most, all threads together (default: unthrottled). */
  rate?: number;
  /** Whether a job is running now: proving pauses while it does (default: never). */
  busy?: () => boolean;
}

interface ActiveSprint {
  index: number;
  start: number;
  seed: string;
  run: SprintRun;
  ended: boolean;
  ticker: ReturnType<typeof setInterval> | undefined;
}

/** Proves every sprint of the node's chain while started. */
export class SprintDuty {
  /** Emits "sprint" (a CustomEvent whose detail is a {@link SprintReport}) after each sprint. */
  readonly events: EventTarget = new EventTarget();
  readonly #o: SprintDutyOptions;
  readonly #key: Uint8Array;
  readonly #nodeSeed: Uint8Array;
  readonly #address: string;
  readonly #begun = new Set<string>();
  readonly #reports: SprintReport[] = [];
  #active: ActiveSprint | null = null;
  #checks: Promise<void> = Promise.resolve();
  #stopped = true;
  readonly #onBlock = () => {
    this.#checks = this.#checks.then(() => this.#check()).catch((e) =>
      log.warn("Sprint duty failed: {error}", { error: (e as Error).message })
    );
  };

  /** A duty over `options.chain` for the key of `options.secretKey` (not started). */
  constructor(options: SprintDutyOptions) {
    this.#o = options;
    this.#key = publicKeyOf(options.secretKey);
    this.#nodeSeed = sprintNodeSeed(this.#key);
    this.#address = addressFromPublicKey(this.#key);
  }

  /** Follows the chain's blocks from now on (and proves at once when a sprint is open). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#o.chain.events.addEventListener("block", this.#onBlock);
    this.#onBlock();
  }

  /** Stops following the chain and ends a sprint in progress without publishing it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#o.chain.events.removeEventListener("block", this.#onBlock);
    await this.#checks;
    const a = this.#active;
    if (a) this.#end(a, "sprint/stopped");
  }

  /** The last sprints' reports, oldest first. */
  get reports(): readonly SprintReport[] {
    return this.#reports;
  }

  /** The sprint being proved and its nonces tried and proof nonces found so far, or null. */
  proving(): { sprint: number; tried: number; found: number } | null {
    const a = this.#active;
    return a ? { sprint: a.index, ...a.run.progress() } : null;
  }

  /** The duty in `/v1/status`: settings, the sprint being proved, the last reports. */
  status(): Record<string, unknown> {
    return {
      threads: this.#o.threads ?? 1,
      rate: this.#o.rate ?? null,
      proving: this.proving(),
      last: this.#reports,
    };
  }

  /** Per block: end the sprint being proved when its proving blocks are over, begin a new one. */
  async #check(): Promise<void> {
    if (this.#stopped) return;
    const { chain } = this.#o;
    const p = chain.params.sprint;
    const tip = chain.tip();
    const a = this.#active;
    if (a) {
      const reorged = chain.hashAtHeight(a.start) !== a.seed;
      if (reorged) this.#end(a, "sprint/reorged");
      else if (tip.height >= a.start + provingBlocks(p)) this.#end(a, null);
    }
    if (this.#active) return;
    const index = Math.floor(tip.height / p.interval);
    const start = index * p.interval;
    if (index < 1 || tip.height - start >= provingBlocks(p)) return;
    // A tip older than a window is a node catching up: that sprint is over.
    if (Date.now() / 1000 - tip.time > p.window * chain.params.targetSpacing) return;
    const seed = chain.hashAtHeight(start)!;
    const id = `${index}:${seed}`;
    if (this.#begun.has(id)) return;
    this.#begun.clear(); // only the open sprint's seeds matter
    this.#begun.add(id);
    if (await this.#provedAlready(index)) {
      return log.debug("Sprint {sprint}: proved already", { sprint: index });
    }
    this.#begin(index, start, seed);
  }

  #begin(index: number, start: number, seed: string): void {
    const run = startSprintRun({
      params: this.#o.chain.params.sprint,
      sprintSeed: fromHex(seed, 32),
      nodeSeed: this.#nodeSeed,
      threads: this.#o.threads,
      rate: this.#o.rate,
    });
    const busy = this.#o.busy;
    const a: ActiveSprint = {
      index,
      start,
      seed,
      run,
      ended: false,
      ticker: busy ? setInterval(() => run.pause(busy()), BUSY_POLL_MS) : undefined,
    };
    this.#active = a;
    log.debug("Sprint {sprint}: proving", { sprint: index });
    // maxNonces found before the proving blocks are over: publish at once.
    run.done.then(() => this.#end(a, null), () => this.#end(a, null));
  }

  /** Ends sprint `a` once: stops its threads, then publishes its proof unless `skip` says why not. */
  #end(a: ActiveSprint, skip: string | null): void {
    if (a.ended) return;
    a.ended = true;
    if (this.#active === a) this.#active = null;
    clearInterval(a.ticker);
    a.run.stop();
    this.#finish(a, skip).catch((e) =>
      log.warn("Sprint {sprint} failed: {error}", { sprint: a.index, error: (e as Error).message })
    );
  }

  async #finish(a: ActiveSprint, skip: string | null): Promise<void> {
    let result: SprintRunResult;
    try {
      result = await a.run.done;
    } catch (e) {
      result = { nonces: [], tried: 0, provingMs: 0, pausedMs: 0 };
      skip ??= "sprint/thread-failed";
      log.warn("Sprint {sprint}: proving failed: {error}", {
        sprint: a.index,
        error: (e as Error).message,
      });
    }
    const { chain } = this.#o;
    let txid: string | null = null;
    let why = "";
    if (!skip && result.nonces.length === 0) skip = "sprint/no-proof";
    if (!skip && chain.hashAtHeight(a.start) !== a.seed) skip = "sprint/reorged";
    if (!skip && chain.tip().height >= a.start + chain.params.sprint.window) {
      skip = "sprint/window-closed";
    }
    if (!skip) {
      try {
        txid = await this.#publish(a.index, result.nonces);
      } catch (e) {
        skip = (e as { code?: string }).code ?? "sprint/not-published";
        why = `: ${(e as Error).message}`;
      }
    }
    const report: SprintReport = {
      sprint: a.index,
      tried: result.tried,
      found: result.nonces.length,
      provingMs: Math.round(result.provingMs),
      pausedMs: Math.round(result.pausedMs),
      noncesPerSecond: result.provingMs > 0
        ? Math.round(result.tried / (result.provingMs / 1000))
        : 0,
      txid,
      skipped: skip,
    };
    this.#reports.push(report);
    if (this.#reports.length > REPORTS_KEPT) this.#reports.shift();
    log.info(
      "Sprint {sprint}: {tried} nonces in {seconds} s ({speed}/s), {found} proof nonces, {outcome}",
      {
        sprint: a.index,
        tried: report.tried,
        seconds: (report.provingMs / 1000).toFixed(1),
        speed: report.noncesPerSecond,
        found: report.found,
        outcome: txid ? `proof ${txid}` : `not published (${skip}${why})`,
      },
    );
    this.events.dispatchEvent(new CustomEvent("sprint", { detail: report }));
  }

  /** Builds, signs and submits the proof transaction; its txid. Fee: twice the pool's minimum rate. */
  async #publish(index: number, nonces: number[]): Promise<string> {
    const { chain, secretKey } = this.#o;
    return await this.#o.spendLock(async () => {
      const utxos = await walletCoins(chain, this.#address);
      const rate = Math.max(chain.minRelayFeeRate, chain.mempool.minFeeRate()) * FEE_RATE_MARGIN;
      const build = (fee: bigint) => sprintProofTx(index, nonces, { utxos, secretKey, fee });
      let { bytes } = build(MIN_PROOF_FEE);
      const fee = BigInt(Math.ceil((bytes.length + 8) * rate)); // + 8: a change output may appear
      if (fee > MIN_PROOF_FEE) ({ bytes } = build(fee));
      return (await chain.processTx(bytes)).txid;
    });
  }

  /** Whether a proof of this node for sprint `index` is on chain or in the mempool already. */
  async #provedAlready(index: number): Promise<boolean> {
    const ours = (o: Pick<TxOutput, "scriptPubKey">) => {
      if (o.scriptPubKey[0] !== TEMPLATE_SPRINT_PROOF) return false;
      const s = parseOutputScript(o.scriptPubKey);
      return s.type === "sprint-proof" && s.sprint === index && equalBytes(s.nodeKey, this.#key);
    };
    const { chain } = this.#o;
    if (chain.mempool.entries().some((e) => e.tx.outputs.some(ours))) return true;
    const window = chain.params.sprint.window;
    const start = index * chain.params.sprint.interval;
    return (await chain.store.sprintProofs(index)).some((r) =>
      r.height > start && r.height <= start + window && ours({ scriptPubKey: r.script })
    );
  }
}
