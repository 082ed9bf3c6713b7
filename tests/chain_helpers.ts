/** @module Test helpers for chain tests: temporary KV stores, keys, in-process mining and spends. */

import assert from "node:assert/strict";
import { ChainNode } from "../chain/node.ts";
import { blockSubsidy } from "../chain/validation.ts";
import { networkParams } from "../chain/params.ts";
import { generateSecretKey, publicKeyOf } from "../chain/keys.ts";
import { hash160 } from "../chain/hash.ts";
import { payToHashScript } from "../chain/script.ts";
import { type Block, blockMerkleRoot, decodeBlock, encodeBlock } from "../chain/block.ts";
import { createBlockTemplate, searchNoncesTs } from "../chain/miner.ts";
import { bitsToTarget, targetToBytes } from "../chain/pow.ts";
import { encodeHeader } from "../chain/block.ts";
import {
  encodeTransaction,
  NO_JOB,
  signPayToAddressInput,
  spendInput,
  type Transaction,
  txid,
} from "../chain/tx.ts";
import { ValidationError } from "../chain/errors.ts";

/** A key pair with its pay-to-address script. */
export interface TestKey {
  /** Secret key. */
  secret: Uint8Array;
  /** Locking script paying to it. */
  script: Uint8Array;
}

/** A fresh key. */
export function newKey(): TestKey {
  const secret = generateSecretKey();
  return { secret, script: payToHashScript(hash160(publicKeyOf(secret))) };
}

/** Opens a dev ChainNode on a fresh KV file in a temp dir. */
export async function openDevNode(
  dir?: string,
): Promise<{ node: ChainNode; kv: Deno.Kv; dir: string; close(): void }> {
  const d = dir ?? await Deno.makeTempDir({ prefix: "camelid-chain-" });
  const kv = await Deno.openKv(`${d}/chain.kv`);
  const node = await ChainNode.open({ params: networkParams("dev"), kv });
  return { node, kv, dir: d, close: () => kv.close() };
}

/** Runs `fn` with two fresh dev nodes (each on its own KV file) and closes both after it. */
export async function withTwoDevNodes(
  fn: (
    a: Awaited<ReturnType<typeof openDevNode>>,
    b: Awaited<ReturnType<typeof openDevNode>>,
  ) => Promise<void>,
): Promise<void> {
  const a = await openDevNode();
  const b = await openDevNode();
  try {
    await fn(a, b);
  } finally {
    a.close();
    b.close();
  }
}

/** Hands the blocks `hashes` of node `from` to node `to`, in order. */
export async function relayBlocks(from: ChainNode, to: ChainNode, hashes: string[]): Promise<void> {
  for (const h of hashes) await to.processBlock((await from.getBlockBytes(h))!);
}

/** {@link openDevNode} where a new key, `owner`, holds one mature coinbase output, `coin`. */
export async function openFundedDevNode(): Promise<
  Awaited<ReturnType<typeof openDevNode>> & {
    owner: TestKey;
    coin: { txid: string; vout: number; value: bigint };
  }
> {
  const dev = await openDevNode();
  const owner = newKey();
  const [first] = await mine(dev.node, owner, 1);
  await mine(dev.node, owner, dev.node.params.coinbaseMaturity);
  const value = blockSubsidy(1, dev.node.params);
  return { ...dev, owner, coin: { txid: await coinbaseOf(dev.node, first), vout: 0, value } };
}

/** Re-solves the proof of work of a (modified) block in place and returns its bytes. */
export function solve(block: Block): Uint8Array {
  block.header.merkleRoot = blockMerkleRoot(block.txs).root;
  const nonce = searchNoncesTs(
    encodeHeader(block.header),
    targetToBytes(bitsToTarget(block.header.bits)),
    0,
    1 << 20,
  );
  if (nonce === null) throw new Error("no nonce found");
  block.header.nonce = nonce;
  return encodeBlock(block);
}

/** A block template on the node's tip paying `to`, optionally edited, solved and encoded. */
export function makeBlock(
  node: ChainNode,
  to: TestKey,
  edit?: (b: Block) => void,
  extraNonce = 0,
): Uint8Array {
  const block = createBlockTemplate(node, to.script, extraNonce);
  edit?.(block);
  return solve(block);
}

/** Mines `n` blocks to `to` on the node's tip; returns their hashes. */
export async function mine(node: ChainNode, to: TestKey, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await node.processBlock(makeBlock(node, to));
    if (r.status !== "connected") throw new Error(`mined block not connected: ${r.status}`);
    out.push(r.hash);
  }
  return out;
}

/** Signs a spend of outputs (each with its value) owned by `from`, optionally stamped with a job id. */
export function spend(
  from: TestKey,
  prevouts: { txid: string; vout: number; value: bigint }[],
  outputs: { value: bigint; script: Uint8Array }[],
  jobId: Uint8Array = NO_JOB,
): { tx: Transaction; bytes: Uint8Array; id: string } {
  const tx: Transaction = {
    version: 1,
    inputs: prevouts.map((p) => spendInput(p)),
    outputs: outputs.map((o) => ({ value: o.value, scriptPubKey: o.script })),
    lockTime: 0,
    jobId,
  };
  prevouts.forEach((p, i) =>
    signPayToAddressInput(tx, i, { value: p.value, scriptPubKey: from.script }, from.secret)
  );
  return { tx, bytes: encodeTransaction(tx), id: txid(tx) };
}

/** The coinbase txid of a stored block. */
export async function coinbaseOf(node: ChainNode, hash: string): Promise<string> {
  const block = decodeBlock((await node.getBlockBytes(hash))!);
  return txid(block.txs[0]);
}

/** Asserts conservation: the UTXO set holds exactly the subsidy of every block after genesis. */
export async function assertConserved(chain: ChainNode): Promise<void> {
  let subsidy = 0n;
  for (let h = 1; h <= chain.tip().height; h++) subsidy += blockSubsidy(h, chain.params);
  assert.equal((await chain.utxoTotals()).total, subsidy, "sum of all UTXOs equals total subsidy");
}

/** {@link assertConserved} on the dev chain stored in a (stopped) node's data directory. */
export async function assertConservedOnDisk(dataDir: string): Promise<void> {
  const kv = await Deno.openKv(`${dataDir}/chain.kv`);
  try {
    await assertConserved(await ChainNode.open({ params: networkParams("dev"), kv }));
  } finally {
    kv.close();
  }
}

/** Asserts that `p` rejects with a `ValidationError` whose code is `code`. */
export async function assertRejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${e}`);
    assert.equal(e.code, code);
    return true;
  });
}
