/**
 * @module Consensus rules of user reports (issue 16): the client's bond (a report output, template
 * 0x0A) accusing a job's held reward, its resolution on the validators' records (VOTES), the held
 * reward's REPORT path that slashes it to the client on a confirmed report, and the executor's
 * EXPIRE of a bond left unresolved. The weights that decide a majority are the chain-derived weights
 * of the report's sprint, handed in by the node ({@link WeightsOracle}), gathered before the
 * synchronous input checks like the fraud checker's verdicts.
 *
 * - Bond: value >= `reportFee`; the named output is an unspent held reward (0x07) of the
 *   transaction's job; the spend height is before its epoch end; the sprint had closed (window end
 *   below the height) and is at most 2 sprints old; an input spends a pay-to-address coin of the
 *   held reward's client; at most one report output a transaction.
 * - VOTES: signed by the client (an input spending a coin of its own, or the held reward's
 *   REPORT); 1..16 records of distinct keys, each of the report's sprint, none the executor's, each
 *   key holding weight in that sprint, each holding for the job and the held reward's commitment;
 *   their keys hold more than half of the sprint's weight less the executor's; outputs 0..k-1 pay
 *   each record's key floor(bond / k). Fraud votes holding more than half of that weight confirm
 *   the report: the held reward must then be spent beside it on REPORT, while it is unspent.
 * - Held REPORT: the client's signature, beside a confirmed VOTES of a bond naming it, before the
 *   held reward's epoch end + `reportWindow`.
 * - EXPIRE: the executor's key (the held reward's node), from that height on.
 */

import { equalBytes, toHex } from "./bytes.ts";
import { ValidationError } from "./errors.ts";
import { hash160 } from "./hash.ts";
import { addressFromHash, addressFromPublicKey } from "./keys.ts";
import type { NetworkParams } from "./params.ts";
import { parseSigned, PATH_HELD_REPORT } from "./job_unlock.ts";
import {
  parseReportScript,
  parseVotes,
  PATH_REPORT_EXPIRE,
  PATH_REPORT_VOTES,
  type ReportOutput,
  TEMPLATE_REPORT,
} from "./report.ts";
import {
  type OutputScript,
  parseOutputScript,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_PAY_TO_ADDRESS,
} from "./script.ts";
import { epochEnd, newestClosedSprint } from "./sprint.ts";
import type { Transaction } from "./tx.ts";
import { recordFault, type ValidationRecord } from "./validation_record.ts";
import { recordSprintInRange } from "./validation_record.ts";

/**
 * The chain-derived compute weights of one sprint, by address (verifier-wasm/sprint_weights.ts,
 * derived alike by every node from its active chain).
 */
export type WeightsOracle = (sprint: number) => Promise<ReadonlyMap<string, number>>;

/** A coin as the report rules read it. */
interface CoinView {
  /** Value. */
  value: bigint;
  /** Locking script. */
  scriptPubKey: Uint8Array;
  /** Height of its block. */
  height: number;
}

/** A held reward named by a report output or a bond, as gathered. */
export interface HeldView {
  /** The coin while unspent (UTXO set), else undefined. */
  unspent: CoinView | undefined;
  /** Its script, read from its confirmed transaction (also once spent), when a bond names it. */
  script: Uint8Array | undefined;
}

/** How a VOTES spend decided (see {@link reportOutcome}). */
export interface ReportOutcome {
  /** True when the fraud votes hold a majority of the weight. */
  confirmed: boolean;
  /** Weight of the records' keys. */
  voting: number;
  /** Of it, weight voting fraud. */
  fraud: number;
  /** The sprint's weight less the executor's. */
  total: number;
}

/** Facts the report rules need, gathered before the synchronous checks. */
export interface ReportContext {
  /** Weights of the sprints VOTES inputs name; null when the node has no weights oracle. */
  weights: Map<number, ReadonlyMap<string, number>> | null;
  /** Held rewards named by report outputs and by bonds spent, by `txid:vout`. */
  held: Map<string, HeldView>;
  /** Bonds spent on VOTES, by the `txid:vout` of the held reward they name. */
  bonds: Map<string, { index: number; report: ReportOutput; value: bigint }>;
  /** Outcomes of the VOTES inputs decided so far, by input index. */
  outcomes: Map<number, ReportOutcome>;
  /** HASH160s (hex) of the pay-to-address coins the transaction spends (who signed it). */
  payers: Set<string>;
}

function fail(code: string, message: string): never {
  throw new ValidationError(code, message);
}

const heldKey = (o: { txid: string; vout: number }) => `${o.txid}:${o.vout}`;

/** Parses a report script, or null for any other script. */
function reportOf(script: Uint8Array | undefined): ReportOutput | null {
  if (!script || script[0] !== TEMPLATE_REPORT) return null;
  try {
    return parseReportScript(script);
  } catch {
    return null;
  }
}

/**
 * Gathers the report context of `tx`: the held rewards its report outputs and bond inputs name
 * (their coins through `getCoin`, their scripts through `getOutputScript`, which reads confirmed
 * transactions) and, for each bond spent on VOTES, its sprint's weights through `oracle` (none
 * configured, or a derivation that fails: no weights, and VOTES is refused).
 */
export async function gatherReportContext(
  tx: Transaction,
  coinScripts: (Uint8Array | undefined)[],
  coinValues: (bigint | undefined)[],
  getCoin: (txid: string, vout: number) => Promise<CoinView | undefined>,
  getOutputScript: (txid: string, vout: number) => Promise<Uint8Array | undefined>,
  oracle: WeightsOracle | undefined,
): Promise<ReportContext> {
  const ctx: ReportContext = {
    weights: oracle ? new Map() : null,
    held: new Map(),
    bonds: new Map(),
    outcomes: new Map(),
    payers: new Set(),
  };
  const view = async (o: { txid: string; vout: number }, withScript: boolean) => {
    const key = heldKey(o);
    const seen = ctx.held.get(key);
    const v: HeldView = seen ?? { unspent: await getCoin(o.txid, o.vout), script: undefined };
    if (withScript && !v.script) v.script = await getOutputScript(o.txid, o.vout);
    ctx.held.set(key, v);
  };
  for (const out of tx.outputs) {
    const report = reportOf(out.scriptPubKey);
    if (report) await view(report.held, false);
  }
  for (const [i, script] of coinScripts.entries()) {
    if (script?.[0] === TEMPLATE_PAY_TO_ADDRESS && script.length === 21) {
      ctx.payers.add(toHex(script.subarray(1)));
    }
    const report = reportOf(script);
    if (!report) continue;
    await view(report.held, true);
    if (tx.inputs[i].scriptSig[0] !== PATH_REPORT_VOTES) continue;
    ctx.bonds.set(heldKey(report.held), { index: i, report, value: coinValues[i] ?? 0n });
    if (oracle) await gatherSprintWeights(ctx.weights!, report.sprint, oracle);
  }
  return ctx;
}

/**
 * Adds `sprint`'s weights through `oracle` to `weights` unless there already (once per sprint and
 * transaction); a derivation that fails adds nothing, and the rule that needs them refuses
 * (`report/no-weights`, `job/no-weights`). Shared by user reports and pool distributions
 * (chain/pool_rules.ts).
 */
export async function gatherSprintWeights(
  weights: Map<number, ReadonlyMap<string, number>>,
  sprint: number,
  oracle: WeightsOracle,
): Promise<void> {
  if (weights.has(sprint)) return;
  try {
    weights.set(sprint, await oracle(sprint));
  } catch { /* no weights: the rule refuses */ }
}

/** The held reward named `o` in `ctx`, parsed from its script, or null. */
function heldScriptOf(
  ctx: ReportContext,
  o: { txid: string; vout: number },
): Extract<OutputScript, { type: "held-reward" }> | null {
  const v = ctx.held.get(heldKey(o));
  const script = v?.script ?? v?.unspent?.scriptPubKey;
  if (!script) return null;
  try {
    const s = parseOutputScript(script);
    return s.type === "held-reward" ? s : null;
  } catch {
    return null;
  }
}

/** {@link newestClosedSprint} of the network's sprint parameters. */
export function newestClosedSprintAt(height: number, params: NetworkParams): number {
  return newestClosedSprint(height, params.sprint);
}

/**
 * Checks the report outputs of `tx` at `spendHeight` (the bond rules above; codes
 * `report/several`, `report/bond-too-small`, `report/no-held-reward`, `report/wrong-job`,
 * `report/reward-released`, `report/sprint`, `report/not-authorised`).
 */
export function checkReportOutputs(
  tx: Transaction,
  coins: ({ scriptPubKey: Uint8Array } | undefined)[],
  spendHeight: number,
  params: NetworkParams,
  ctx: ReportContext | undefined,
): void {
  let seen = false;
  for (const [n, out] of tx.outputs.entries()) {
    const report = reportOf(out.scriptPubKey);
    if (!report) continue;
    if (seen) fail("report/several", `output ${n}: one report output per transaction`);
    seen = true;
    if (out.value < params.reportFee) {
      fail("report/bond-too-small", `output ${n}: a report's bond is at least ${params.reportFee}`);
    }
    const coin = ctx?.held.get(heldKey(report.held))?.unspent;
    const held = coin ? parseOutputScript(coin.scriptPubKey) : null;
    if (!coin || held?.type !== "held-reward") {
      fail("report/no-held-reward", `output ${n}: the named output is not an unspent held reward`);
    }
    if (!equalBytes(tx.jobId, held.jobId)) {
      fail("report/wrong-job", `output ${n}: the transaction's job id differs from the reward's`);
    }
    const until = epochEnd(params.sprint, coin.height);
    if (spendHeight >= until) {
      fail("report/reward-released", `output ${n}: the reward was held until height ${until}`);
    }
    const newest = newestClosedSprintAt(spendHeight, params);
    if (!recordSprintInRange(report.sprint, newest)) {
      fail(
        "report/sprint",
        `output ${n}: sprint ${report.sprint} is not one of the closed sprints ${
          newest - 2
        }..${newest}`,
      );
    }
    const funded = coins.some((c) => {
      if (!c) return false;
      const s = parseOutputScript(c.scriptPubKey);
      return s.type === "pay-to-address" && equalBytes(s.pubKeyHash, held.clientHash);
    });
    if (!funded) {
      fail("report/not-authorised", `output ${n}: a report must be funded by the job's client`);
    }
  }
}

/**
 * Decides the VOTES spend of bond input `index` (memoised in `ctx.outcomes`): checks its records,
 * the majority and the validators' outputs (codes `report/bad-votes`, `report/no-held-reward`,
 * `report/no-weights`, `report/wrong-sprint`, `report/self-validation`,
 * `report/duplicate-validator`, `report/no-weight`, `report/no-majority`, `report/validator-pay`,
 * `job/bad-ticket`, `job/bad-attestation`) and returns whether fraud was confirmed.
 */
export function reportOutcome(
  tx: Transaction,
  index: number,
  report: ReportOutput,
  bondValue: bigint,
  ctx: ReportContext,
): ReportOutcome {
  const known = ctx.outcomes.get(index);
  if (known) return known;
  const records = parseVotes(tx.inputs[index].scriptSig);
  const held = heldScriptOf(ctx, report.held);
  if (!held) fail("report/no-held-reward", `input ${index}: the named held reward is unknown`);
  const weights = ctx.weights?.get(report.sprint);
  if (!weights) {
    fail(
      "report/no-weights",
      `input ${index}: this node has no weights of sprint ${report.sprint}`,
    );
  }
  const outcome = tallyVotes(
    records,
    report.sprint,
    weights,
    addressFromHash(held.nodeHash),
    index,
  );
  const each = bondValue / BigInt(records.length);
  for (const [j, r] of records.entries()) {
    const out = tx.outputs[j];
    const s = out ? parseOutputScript(out.scriptPubKey) : null;
    if (
      !out || s?.type !== "pay-to-address" || !equalBytes(s.pubKeyHash, hash160(r.validatorKey)) ||
      out.value !== each
    ) {
      fail("report/validator-pay", `input ${index}: output ${j} pays ${each} to record ${j}'s key`);
    }
  }
  for (const [j, r] of records.entries()) {
    const fault = recordFault(held.jobId, held.commitment, r);
    if (fault) fail(fault, `input ${index}: record ${j} does not hold for this job and output`);
  }
  ctx.outcomes.set(index, outcome);
  return outcome;
}

/**
 * The weight tally of a report's records under `weights` (its sprint's, by address), the executor
 * at `executor` left out of the total and of the voters; throws for a record that cannot vote or a
 * minority of voters. Exported for the reputation derivation (a confirmed report is proven
 * misbehaviour).
 */
export function tallyVotes(
  records: readonly ValidationRecord[],
  sprint: number,
  weights: ReadonlyMap<string, number>,
  executor: string,
  index = 0,
): ReportOutcome {
  let total = 0;
  for (const [address, w] of weights) if (address !== executor && w > 0) total += w;
  let voting = 0;
  let fraud = 0;
  const keys = new Set<string>();
  for (const [j, r] of records.entries()) {
    if (r.sprint !== sprint) {
      fail("report/wrong-sprint", `input ${index}: record ${j} draws under sprint ${r.sprint}`);
    }
    const address = addressFromPublicKey(r.validatorKey);
    if (address === executor) {
      fail("report/self-validation", `input ${index}: record ${j} is the executor's own`);
    }
    const key = toHex(r.validatorKey);
    if (keys.has(key)) fail("report/duplicate-validator", `input ${index}: ${key} votes twice`);
    keys.add(key);
    const w = weights.get(address) ?? 0;
    if (!(w > 0)) {
      fail("report/no-weight", `input ${index}: record ${j}'s key holds no weight in ${sprint}`);
    }
    voting += w;
    if (r.verdict === "fraud") fraud += w;
  }
  if (!(2 * voting > total)) {
    fail(
      "report/no-majority",
      `input ${index}: the records' keys hold ${voting} of ${total}, not a majority`,
    );
  }
  return { confirmed: 2 * fraud > total, voting, fraud, total };
}

/**
 * Applies the rules of a bond input (`coin`: its value and block height): VOTES (signed by the
 * client: `report/not-authorised`; see {@link reportOutcome}; a confirmed report needs the held
 * reward spent beside it on REPORT while it is unspent: `report/held-missing`) or EXPIRE (the executor's key, from the held reward's epoch
 * end + `reportWindow`: `report/not-expired` before).
 */
export function checkReportSpend(
  tx: Transaction,
  index: number,
  report: ReportOutput,
  coin: { value: bigint; height: number },
  spendHeight: number,
  params: NetworkParams,
  ctx: ReportContext | undefined,
  checkSig: (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array) => void,
): void {
  const held = ctx ? heldScriptOf(ctx, report.held) : null;
  if (!ctx || !held) fail("report/no-held-reward", `input ${index}: the held reward is unknown`);
  if (!equalBytes(tx.jobId, held.jobId)) {
    fail("job/wrong-job-id", `input ${index}: the transaction's job id differs from the report's`);
  }
  const sig = tx.inputs[index].scriptSig;
  switch (sig[0]) {
    case PATH_REPORT_VOTES: {
      const spent = tx.inputs.some((inp) =>
        toHex(inp.prevout.txid) === report.held.txid && inp.prevout.vout === report.held.vout &&
        inp.scriptSig[0] === PATH_HELD_REPORT
      );
      if (!spent && !ctx.payers.has(toHex(held.clientHash))) {
        fail(
          "report/not-authorised",
          `input ${index}: the client signs a report's resolution (a coin of its own, or the REPORT)`,
        );
      }
      const { confirmed } = reportOutcome(tx, index, report, coin.value, ctx);
      if (!confirmed) return;
      if (!spent && ctx.held.get(heldKey(report.held))?.unspent) {
        fail(
          "report/held-missing",
          `input ${index}: a confirmed report spends the held reward on REPORT beside it`,
        );
      }
      return;
    }
    case PATH_REPORT_EXPIRE: {
      const expire = parseSigned(sig, PATH_REPORT_EXPIRE, "report EXPIRE");
      checkSig(expire.sig, expire.pubkey, held.nodeHash);
      // The bond was mined in its held reward's epoch (the bond rule), so both end alike.
      const from = epochEnd(params.sprint, coin.height) + params.reportWindow;
      if (spendHeight < from) {
        fail(
          "report/not-expired",
          `input ${index}: the client may resolve until height ${from - 1}`,
        );
      }
      return;
    }
    default:
      fail(
        "tx/bad-script-sig",
        `input ${index}: unknown report spend path 0x${(sig[0] ?? 0).toString(16)}`,
      );
  }
}

/**
 * True when an input spending `spentScript` with `scriptSig` slashes an executor's held reward on
 * its REPORT path: consensus takes that path only beside a report confirmed by a fraud majority of
 * the weight, so a mined one is proven misbehaviour of the reward's node, as a fraud proof is.
 */
export function isConfirmedReportSpend(spentScript: Uint8Array, scriptSig: Uint8Array): boolean {
  return spentScript[0] === TEMPLATE_HELD_REWARD && scriptSig[0] === PATH_HELD_REPORT;
}

/**
 * Applies the REPORT path of a held reward input (the executor's 0x07 only; `heights`: of its
 * block and of the spend): the client's
 * signature, a bond naming this reward spent on VOTES in the same transaction whose fraud votes
 * hold the majority (`report/not-confirmed`), before the reward's epoch end + `reportWindow`
 * (`report/window-closed`).
 */
export function checkHeldReportSpend(
  tx: Transaction,
  index: number,
  script: Extract<OutputScript, { type: "held-reward" | "validator-reward" }>,
  heights: { coin: number; spend: number },
  params: NetworkParams,
  ctx: ReportContext | undefined,
  checkSig: (sig: Uint8Array, pubkey: Uint8Array, keyHash: Uint8Array) => void,
): void {
  if (script.type !== "held-reward") {
    fail("tx/bad-script-sig", `input ${index}: only an executor's held reward has a REPORT path`);
  }
  const signed = parseSigned(tx.inputs[index].scriptSig, PATH_HELD_REPORT, "held reward REPORT");
  checkSig(signed.sig, signed.pubkey, script.clientHash);
  const until = epochEnd(params.sprint, heights.coin) + params.reportWindow;
  if (heights.spend >= until) {
    fail("report/window-closed", `input ${index}: reports on this reward closed at ${until}`);
  }
  const prev = tx.inputs[index].prevout;
  const bond = ctx?.bonds.get(`${toHex(prev.txid)}:${prev.vout}`);
  if (!ctx || !bond || !reportOutcome(tx, bond.index, bond.report, bond.value, ctx).confirmed) {
    fail(
      "report/not-confirmed",
      `input ${index}: no report confirmed by a fraud majority accuses this reward here`,
    );
  }
}
