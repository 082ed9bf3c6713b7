/**
 * @module Tests of chain/mempool_expiry.ts: the height from which each height-bounded job spend or
 * output can no longer be mined (dev parameters: epochs of 10 blocks, sprint windows of 4, report
 * window 10); nothing else is bounded. (chain/validation_pool_test.ts shows the chain state
 * evicting a distribution at that height.)
 */

import assert from "node:assert/strict";
import { networkParams } from "./params.ts";
import { invalidFromHeight, sprintAgedOutAt } from "./mempool_expiry.ts";
import {
  heldRewardScript,
  payToHashScript,
  validationPoolScript,
  validatorRewardScript,
} from "./script.ts";
import {
  PATH_HELD_CLAIM,
  PATH_HELD_FRAUD,
  PATH_HELD_REPORT,
  PATH_POOL_DISTRIBUTE,
} from "./job_unlock.ts";
import { reportScript } from "./report.ts";
import type { ReportContext } from "./report_rules.ts";
import { spendInput, type Transaction, type TxOutput } from "./tx.ts";
import { validationRecordScript } from "./validation_record.ts";
import { signedRecord } from "../tests/held_job_helpers.ts";
import { newKey } from "../tests/chain_helpers.ts";

const params = networkParams("dev");
const [jobId, node, client, commitment] = [32, 20, 20, 32].map((n, i) =>
  new Uint8Array(n).fill(i + 1)
);
const TXID = "ab".repeat(32);

/** A transaction spending one coin per `paths` entry (its path byte first), paying `outputs`. */
function txOf(paths: number[], outputs: TxOutput[] = []): Transaction {
  return {
    version: 1,
    inputs: paths.map((p, vout) => spendInput({ txid: TXID, vout }, new Uint8Array([p]))),
    outputs,
    lockTime: 0,
    jobId,
  };
}

Deno.test("mempool expiry: FRAUD of a held reward, validator reward or pool and DISTRIBUTE end at the epoch's end, REPORT a report window later; CLAIM and plain spends are not bounded", () => {
  const coin = (script: Uint8Array) => ({ scriptPubKey: script, height: 23 });
  const held = coin(heldRewardScript(jobId, node, client, commitment));
  const reward = coin(validatorRewardScript(jobId, node, client, commitment));
  const pool = coin(validationPoolScript(jobId, node, client, commitment));
  const wallet = coin(payToHashScript(client));
  assert.equal(invalidFromHeight(txOf([PATH_HELD_FRAUD]), [held], params, undefined), 30);
  assert.equal(invalidFromHeight(txOf([PATH_HELD_FRAUD]), [reward], params, undefined), 30);
  assert.equal(invalidFromHeight(txOf([PATH_HELD_FRAUD]), [pool], params, undefined), 30);
  assert.equal(invalidFromHeight(txOf([PATH_POOL_DISTRIBUTE]), [pool], params, undefined), 30);
  assert.equal(invalidFromHeight(txOf([PATH_HELD_REPORT]), [held], params, undefined), 40);
  assert.equal(invalidFromHeight(txOf([PATH_HELD_CLAIM]), [held], params, undefined), null);
  assert.equal(invalidFromHeight(txOf([PATH_HELD_CLAIM]), [pool], params, undefined), null);
  assert.equal(invalidFromHeight(txOf([0x30]), [wallet], params, undefined), null);
});

Deno.test("mempool expiry: a distribution's records and a bond's sprint age out three sprints on; a bond ends with its held reward's epoch", () => {
  // Sprint 2 is among the three newest closed ones while floor((h - 1 - 4) / 10) <= 4, below 55.
  assert.equal(sprintAgedOutAt(2, params), 55);
  const pool = { scriptPubKey: validationPoolScript(jobId, node, client, commitment), height: 41 };
  const record = (sprint: number) => ({
    value: 0n,
    scriptPubKey: validationRecordScript(signedRecord(newKey(), { jobId, commitment }, sprint)),
  });
  const distribution = txOf([PATH_POOL_DISTRIBUTE], [record(3), record(2)]);
  assert.equal(invalidFromHeight(distribution, [pool], params, undefined), 50);
  const early = { ...pool, height: 51 };
  assert.equal(invalidFromHeight(distribution, [early], params, undefined), 55);

  const bond = {
    value: 10_000n,
    scriptPubKey: reportScript({ held: { txid: TXID, vout: 0 }, sprint: 2 }),
  };
  const wallet = { scriptPubKey: payToHashScript(client), height: 5 };
  const report = (height: number): ReportContext => ({
    weights: null,
    held: new Map([[`${TXID}:0`, {
      unspent: { value: 1n, scriptPubKey: new Uint8Array(0), height },
      script: undefined,
    }]]),
    bonds: new Map(),
    outcomes: new Map(),
    payers: new Set(),
  });
  assert.equal(invalidFromHeight(txOf([0x30], [bond]), [wallet], params, report(41)), 50);
  assert.equal(invalidFromHeight(txOf([0x30], [bond]), [wallet], params, report(52)), 55);
  assert.equal(invalidFromHeight(txOf([0x30], [bond]), [wallet], params, undefined), 55);
});
