/**
 * @module Chain routes: `GET /v1/blocks/:id` (hash or height; `?format=hex`), `GET /v1/txs/:txid`
 * (mempool or chain), and `POST /v1/txs`, `POST /v1/blocks` (raw hex) to submit.
 */

import { Hono } from "hono";
import type { ChainNode } from "../../chain/node.ts";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { formatCoins } from "../../chain/amount.ts";
import { blockHash, decodeBlock } from "../../chain/block.ts";
import { NotFoundError, ValidationError } from "../../chain/errors.ts";
import { MAX_BLOCK_SIZE, MAX_TX_SIZE } from "../../chain/params.ts";
import { scriptAddress } from "../../chain/script.ts";
import { isCoinbase, type Transaction, txid } from "../../chain/tx.ts";
import { Misbehaviour, RequestError } from "../errors.ts";
import { BucketMap } from "../limits.ts";
import { limitBody } from "../middleware/body_limit.ts";
import { remoteIp } from "../middleware/remote_ip.ts";
import { hex32Param } from "./params.ts";

/** JSON form of a transaction. */
export function txJson(tx: Transaction): Record<string, unknown> {
  const coinbase = isCoinbase(tx);
  return {
    txid: txid(tx),
    version: tx.version,
    coinbase,
    inputs: tx.inputs.map((i) => ({
      txid: toHex(i.prevout.txid),
      vout: i.prevout.vout,
      scriptSig: toHex(i.scriptSig),
      sequence: i.sequence,
    })),
    outputs: tx.outputs.map((o, n) => ({
      n,
      value: formatCoins(o.value),
      units: o.value.toString(),
      address: scriptAddress(o.scriptPubKey),
      scriptPubKey: toHex(o.scriptPubKey),
    })),
    lockTime: tx.lockTime,
    jobId: toHex(tx.jobId),
  };
}

/**
 * The 404 of a transaction neither in the mempool nor on the active chain: `tx/orphan` (held until
 * its parents arrive), `tx/evicted` (left a full mempool), `tx/conflicted` (a block spent its
 * inputs), else `tx/not-found`.
 */
function missingTx(chain: ChainNode, id: string): NotFoundError {
  const w = chain.txWhereabouts(id);
  if (!w) return new NotFoundError("tx/not-found", `unknown transaction ${id}`);
  const when = new Date(w.at).toISOString();
  if (w.reason === "orphan") {
    return new NotFoundError(
      "tx/orphan",
      `${id} is held as an orphan since ${when}, waiting for ${w.missingParents.join(", ")}`,
    );
  }
  const why = w.reason === "evicted"
    ? `evicted from the full mempool at ${when} (fee rate ${w.feeRate.toFixed(2)} per byte; the ` +
      `minimum is now ${chain.mempool.minFeeRate().toFixed(2)}): send it again with a higher fee`
    : `dropped at ${when}: a block spent its inputs`;
  return new NotFoundError(`tx/${w.reason}`, `${id} was ${why}`);
}

/** A body limit for an object posted as hex of at most `maxBytes` bytes (plus some slack). */
function hexBodyLimit(maxBytes: number) {
  return limitBody(
    maxBytes * 2 + 1024,
    (max) => new RequestError("request/too-large", `body over ${max} bytes`),
  );
}

/** Block bytes one client address may submit per second over HTTP (burst: 8 full blocks). */
export const BLOCK_BYTES_PER_SECOND = 1_000_000;

/** The chain routes over `chain`. */
export function chainRoutes(chain: ChainNode): Hono {
  const app = new Hono();
  const blockBytes = new BucketMap(BLOCK_BYTES_PER_SECOND, 8 * MAX_BLOCK_SIZE);

  app.get("/v1/blocks/:id", async (c) => {
    const hash = chain.resolveBlockId(c.req.param("id"));
    const bytes = (await chain.getBlockBytes(hash))!;
    if (c.req.query("format") === "hex") return c.json({ hash, hex: toHex(bytes) });
    const block = decodeBlock(bytes);
    const entry = chain.entry(hash)!;
    const active = chain.isActive(hash);
    return c.json({
      hash: blockHash(block.header),
      height: entry.height,
      active,
      confirmations: active ? chain.tip().height - entry.height + 1 : 0,
      version: block.header.version,
      prevHash: toHex(block.header.prevHash),
      merkleRoot: toHex(block.header.merkleRoot),
      time: block.header.time,
      bits: block.header.bits.toString(16).padStart(8, "0"),
      nonce: block.header.nonce,
      size: bytes.length,
      txs: block.txs.map(txJson),
    });
  });

  app.get("/v1/txs/:txid", async (c) => {
    const id = hex32Param(c.req.param("txid"), "txid");
    const loc = await chain.getTransaction(id);
    if (!loc) throw missingTx(chain, id);
    return c.json({
      ...txJson(loc.tx),
      hex: toHex(loc.bytes),
      blockHash: loc.blockHash,
      height: loc.height,
      confirmations: loc.height === null ? 0 : chain.tip().height - loc.height + 1,
    });
  });

  app.post("/v1/txs", hexBodyLimit(MAX_TX_SIZE), async (c) => {
    const type = c.req.header("content-type") ?? "";
    let hex: unknown;
    if (type.includes("application/json")) hex = (await c.req.json().catch(() => ({})))?.hex;
    else hex = (await c.req.text()).trim();
    if (typeof hex !== "string" || hex.length === 0) {
      throw new RequestError(
        "request/malformed",
        'expected raw transaction hex (text body or {"hex": "..."})',
      );
    }
    return c.json(await chain.processTx(fromHex(hex), `http:${remoteIp(c)}`), 202);
  });

  app.post("/v1/blocks", hexBodyLimit(MAX_BLOCK_SIZE), async (c) => {
    const hex = (await c.req.text()).trim();
    if (hex.length === 0) throw new RequestError("request/malformed", "expected raw block hex");
    if (!blockBytes.take(remoteIp(c), hex.length / 2)) {
      throw new Misbehaviour(
        "rate/limited",
        "too many block bytes from this address; slow down",
        1,
      );
    }
    const result = await chain.processBlock(fromHex(hex));
    if (result.status === "ignored") {
      throw new ValidationError(
        result.reason!,
        `block ${result.hash} not stored: its branch is too far behind`,
      );
    }
    return c.json(result, result.status === "duplicate" ? 200 : 202);
  });

  return app;
}
