/**
 * @module The height from which a pool transaction can no longer be mined. A few job rules hold
 * only below a height: a pool's DISTRIBUTE and a held reward's, validator reward's or pool's FRAUD
 * before the epoch end of its payment; a held reward's REPORT before that end + `reportWindow`; a
 * report's bond before its held reward's epoch end; a record's or a bond's sprint while it is one of
 * the three newest closed sprints. A transaction admitted below such a height and not mined by then
 * would make every block template that includes it invalid (a miner would fail on it again and
 * again), so the chain state evicts it once the next block's height reaches it.
 */

import type { NetworkParams } from "./params.ts";
import { parseReportScript, TEMPLATE_REPORT } from "./report.ts";
import type { ReportContext } from "./report_rules.ts";
import {
  TEMPLATE_HELD_REWARD,
  TEMPLATE_VALIDATION_POOL,
  TEMPLATE_VALIDATION_RECORD,
  TEMPLATE_VALIDATOR_REWARD,
} from "./script.ts";
import { PATH_HELD_FRAUD, PATH_HELD_REPORT, PATH_POOL_DISTRIBUTE } from "./job_unlock.ts";
import { epochEnd } from "./sprint.ts";
import type { Transaction } from "./tx.ts";
import { MAX_RECORD_SPRINT_AGE, parseValidationRecord } from "./validation_record.ts";

/** The first height at which sprint `sprint` is older than the newest closed sprints a rule takes. */
export function sprintAgedOutAt(sprint: number, params: NetworkParams): number {
  const { interval, window } = params.sprint;
  // newestClosed(h) = floor((h - 1 - window) / interval) > sprint + MAX_RECORD_SPRINT_AGE
  return (sprint + MAX_RECORD_SPRINT_AGE + 1) * interval + window + 1;
}

/**
 * The first height at which `tx`, valid in the next block with `coins` (each input's coin and its
 * height) and the report context gathered for it, breaks one of the height-bounded rules above; null
 * when no rule bounds it.
 */
export function invalidFromHeight(
  tx: Transaction,
  coins: readonly ({ scriptPubKey: Uint8Array; height: number } | undefined)[],
  params: NetworkParams,
  report: ReportContext | undefined,
): number | null {
  let from = Infinity;
  const bound = (h: number) => from = Math.min(from, h);
  let distributes = false;
  for (const [i, coin] of coins.entries()) {
    if (!coin) continue;
    const t = coin.scriptPubKey[0];
    const path = tx.inputs[i].scriptSig[0];
    const held = t === TEMPLATE_HELD_REWARD || t === TEMPLATE_VALIDATOR_REWARD ||
      t === TEMPLATE_VALIDATION_POOL;
    if (held && path === PATH_HELD_FRAUD) bound(epochEnd(params.sprint, coin.height));
    if (t === TEMPLATE_VALIDATION_POOL && path === PATH_POOL_DISTRIBUTE) {
      distributes = true;
      bound(epochEnd(params.sprint, coin.height));
    }
    if (t === TEMPLATE_HELD_REWARD && path === PATH_HELD_REPORT) {
      bound(epochEnd(params.sprint, coin.height) + params.reportWindow);
    }
  }
  for (const out of tx.outputs) {
    const t = out.scriptPubKey[0];
    try {
      if (t === TEMPLATE_VALIDATION_RECORD && distributes) {
        bound(sprintAgedOutAt(parseValidationRecord(out.scriptPubKey).sprint, params));
      }
      if (t === TEMPLATE_REPORT) {
        const bond = parseReportScript(out.scriptPubKey);
        bound(sprintAgedOutAt(bond.sprint, params));
        const heldCoin = report?.held.get(`${bond.held.txid}:${bond.held.vout}`)?.unspent;
        if (heldCoin) bound(epochEnd(params.sprint, heldCoin.height));
      }
    } catch { /* refused by the output checks */ }
  }
  return from === Infinity ? null : from;
}
