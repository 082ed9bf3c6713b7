/**
 * @module A validator's rewards (issue 16): a client pays each due validator whose vote it counted a
 * validator reward output (chain/script.ts `TEMPLATE_VALIDATOR_REWARD`, 0x08) in the DISTRIBUTE of
 * its payment's validation pool (consensus creates 0x08 in no other transaction); held like the
 * executor's reward until the end of the epoch of the block that pays it. The validator's node
 * finds the outputs paying its wallet key's HASH160 in the blocks of its active chain, keeps them in
 * KV, shows them in `/v1/status` (`compute.validatorRewards`) and claims each to its reward address
 * at its epoch's end, dropping those gone (forfeited by a fraud proof, or a distribution that can no
 * longer be mined): the held reward book of held_rewards.ts under its own KV prefix. */

import { equalBytes, toHex } from "../../chain/bytes.ts";
import { hash160 } from "../../chain/hash.ts";
import { parseSigned, PATH_POOL_DISTRIBUTE } from "../../chain/job_unlock.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { parseOutputScript, TEMPLATE_VALIDATOR_REWARD } from "../../chain/script.ts";
import { type Transaction, txid } from "../../chain/tx.ts";
import {
  type HeldReward,
  type HeldRewardOptions,
  HeldRewards,
  type HeldRewardStatus,
} from "./held_rewards.ts";

/** Prefix of the validator reward keys in the node's KV: `[VALIDATOR_REWARD, key hash hex, jobId]`. */
export const VALIDATOR_REWARD = "cvreward";
/** Where the scan of the active chain stands: `[VALIDATOR_SCAN, key hash hex]` -> {@link ScanMark}. */
export const VALIDATOR_SCAN = "cvscan";
/**
 * Blocks scanned again below the last scanned one when that block left the active chain (a reorg):
 * outputs found twice are the same record; those of the old branch are dropped once their payment
 * can no longer be mined.
 */
export const REORG_RESCAN_BLOCKS = 100;

/** The last block scanned. */
interface ScanMark {
  /** Its height. */
  height: number;
  /** Its hash. */
  hash: string;
}

/** Whether `scriptSig` parses as `parse` reads it (a path's layout). */
function parses(scriptSig: Uint8Array, parse: (scriptSig: Uint8Array) => unknown): boolean {
  try {
    parse(scriptSig);
    return true;
  } catch {
    return false;
  }
}

/**
 * The coin a transaction that pays validator rewards spends for them: the validation pool of a
 * distribution (its DISTRIBUTE input); undefined for any other transaction (consensus creates 0x08
 * outputs only in a distribution).
 */
function rewardSource(tx: Transaction): { txid: string; vout: number } | undefined {
  const input = tx.inputs.find((i) =>
    parses(i.scriptSig, (d) => parseSigned(d, PATH_POOL_DISTRIBUTE, "DISTRIBUTE"))
  );
  return input && { txid: toHex(input.prevout.txid), vout: input.prevout.vout };
}

/**
 * The validator rewards a transaction pays to the key hashing to `keyHash`: its outputs of template
 * 0x08 naming that hash, each with the coin the transaction spends for them (the pool of a
 * DISTRIBUTE: gone otherwise, the transaction can no longer be mined).
 */
export function validatorRewardsIn(tx: Transaction, keyHash: Uint8Array): HeldReward[] {
  const found: HeldReward[] = [];
  let source: { txid: string; vout: number } | undefined | null = null;
  for (const [vout, o] of tx.outputs.entries()) {
    if (o.scriptPubKey[0] !== TEMPLATE_VALIDATOR_REWARD) continue;
    const s = parseOutputScript(o.scriptPubKey);
    if (s.type !== "validator-reward" || !equalBytes(s.nodeHash, keyHash)) continue;
    if (source === null) source = rewardSource(tx);
    if (!source) continue;
    found.push({
      jobId: toHex(s.jobId),
      payment: txid(tx),
      vout,
      escrow: source,
      value: o.value,
    });
  }
  return found;
}

/** The validator rewards of the node's wallet key, found in its blocks and claimed as they free. */
export class ValidatorRewards {
  readonly #o: HeldRewardOptions;
  readonly #book: HeldRewards;
  readonly #keyHash: Uint8Array;
  readonly #scanKey: Deno.KvKey;
  #running: Promise<void> = Promise.resolve();

  /** The rewards of the key `options.secretKey`, kept in `options.chain`'s KV. */
  constructor(options: Omit<HeldRewardOptions, "prefix" | "label">) {
    this.#keyHash = hash160(publicKeyOf(options.secretKey));
    const owner = toHex(this.#keyHash);
    this.#o = options;
    this.#book = new HeldRewards({
      ...options,
      prefix: [VALIDATOR_REWARD, owner],
      label: "validator reward",
    });
    this.#scanKey = [VALIDATOR_SCAN, owner];
  }

  /** The validator rewards as last seen (for `/v1/status`). */
  status(): HeldRewardStatus[] {
    return this.#book.status();
  }

  /**
   * Per block: scans the blocks connected since the last scan for rewards paying the key, then
   * notes each payment's height, claims those whose epoch ended and drops the gone. Calls run one
   * after another.
   */
  onBlock(): Promise<void> {
    const run = this.#running.then(() => this.#scan()).then(() => this.#book.onBlock());
    this.#running = run.catch(() => {});
    return run;
  }

  async #scan(): Promise<void> {
    const { chain } = this.#o;
    const kv = chain.store.kv;
    const mark = (await kv.get<ScanMark>(this.#scanKey)).value;
    let from = 1;
    if (mark) {
      from = chain.hashAtHeight(mark.height) === mark.hash
        ? mark.height + 1
        : Math.max(1, mark.height - REORG_RESCAN_BLOCKS);
    }
    const tip = chain.tip();
    for (let h = from; h <= tip.height; h++) {
      const hash = chain.hashAtHeight(h);
      const block = hash ? await chain.getBlock(hash) : null;
      if (!hash || !block) return; // the chain moved under the scan: the next block resumes it
      for (const tx of block.txs.slice(1)) {
        for (const r of validatorRewardsIn(tx, this.#keyHash)) await this.#book.add(r);
      }
      await kv.set(this.#scanKey, { height: h, hash } satisfies ScanMark);
    }
  }
}
