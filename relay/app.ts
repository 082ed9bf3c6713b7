/**
 * @module The node's HTTP API under `/v1` (Hono): status, blocks, transactions, addresses.
 * Every error is JSON `{"error":{"code","message"}}` with a fitting 4xx.
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ChainNode } from "../chain/node.ts";
import { fromHex, toHex } from "../chain/bytes.ts";
import { decodeAddress } from "../chain/keys.ts";
import { formatCoins } from "../chain/amount.ts";
import { blockHash, decodeBlock } from "../chain/block.ts";
import { isCoinbase, type Transaction, txid } from "../chain/tx.ts";
import { scriptAddress } from "../chain/script.ts";
import { MAX_BLOCK_SIZE, MAX_TX_SIZE } from "../chain/params.ts";
import { NotFoundError } from "../chain/errors.ts";
import { errorResponse, onError } from "./errors.ts";
import { type JobPool, poolEntryJson } from "./jobpool.ts";

/** Software version reported by `/v1/status`. */
export const VERSION = "0.1.0";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The chain to serve. */
  chain: ChainNode;
  /** Models served by `/v1/models` (chunks that peers fetch and check against the model id). */
  models?: ModelSource;
  /** The job pool served by `/v1/jobs`. */
  jobs?: JobPool;
  /** Extra fields merged into `/v1/status` (e.g. peers, mining). */
  status?: () => Record<string, unknown>;
}

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

/** What the node serves of its models. */
export interface ModelSource {
  /** Model ids held. */
  ids(): string[];
  /** Size and chunk count, or null when not held. */
  info(id: string): Promise<{ size: number; chunks: number } | null>;
  /** Leaf hashes (SHA-256 of 0x00 || chunk) of every 1 MiB chunk. */
  leaves(id: string): Promise<Uint8Array[]>;
  /** One chunk's bytes. */
  chunk(id: string, index: number): Promise<Uint8Array>;
}

/** Builds the Hono app with the chain routes mounted under `/v1`. */
export function createApp(options: AppOptions): Hono {
  const { chain } = options;
  const app = new Hono();
  app.onError(onError);
  app.notFound((c) =>
    errorResponse(c, 404, "route/not-found", `no route ${c.req.method} ${c.req.path}`)
  );

  app.get("/v1/status", (c) => {
    const tip = chain.tip();
    return c.json({
      network: chain.params.name,
      version: VERSION,
      height: tip.height,
      tip: tip.hash,
      chainWork: tip.chainWork.toString(),
      genesis: chain.genesisHash(),
      mempool: { size: chain.mempool.size, bytes: chain.mempool.bytes },
      ...options.status?.(),
    });
  });

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
    const id = c.req.param("txid");
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new RangeError("txid must be 64 lowercase hex characters");
    }
    const loc = await chain.getTransaction(id);
    if (!loc) throw new NotFoundError("tx/not-found", `unknown transaction ${id}`);
    return c.json({
      ...txJson(loc.tx),
      hex: toHex(loc.bytes),
      blockHash: loc.blockHash,
      height: loc.height,
      confirmations: loc.height === null ? 0 : chain.tip().height - loc.height + 1,
    });
  });

  app.post(
    "/v1/txs",
    bodyLimit({
      maxSize: MAX_TX_SIZE * 2 + 1024,
      onError: (c) =>
        errorResponse(c, 413, "request/too-large", `body over ${MAX_TX_SIZE * 2 + 1024} bytes`),
    }),
    async (c) => {
      const type = c.req.header("content-type") ?? "";
      let hex: unknown;
      if (type.includes("application/json")) hex = (await c.req.json().catch(() => ({})))?.hex;
      else hex = (await c.req.text()).trim();
      if (typeof hex !== "string" || hex.length === 0) {
        return errorResponse(
          c,
          400,
          "request/malformed",
          'expected raw transaction hex (text body or {"hex": "..."})',
        );
      }
      const { txid } = await chain.processTx(fromHex(hex));
      return c.json({ txid }, 202);
    },
  );

  app.post(
    "/v1/blocks",
    bodyLimit({
      maxSize: MAX_BLOCK_SIZE * 2 + 1024,
      onError: (c) =>
        errorResponse(c, 413, "request/too-large", `body over ${MAX_BLOCK_SIZE * 2 + 1024} bytes`),
    }),
    async (c) => {
      const hex = (await c.req.text()).trim();
      if (hex.length === 0) {
        return errorResponse(c, 400, "request/malformed", "expected raw block hex");
      }
      const result = await chain.processBlock(fromHex(hex));
      return c.json(result, result.status === "duplicate" ? 200 : 202);
    },
  );

  app.get("/v1/models", async (c) => {
    const models = options.models;
    const list = models
      ? await Promise.all(models.ids().map(async (id) => ({ id, ...(await models.info(id)) })))
      : [];
    return c.json({ models: list });
  });

  const heldModel = async (id: string) => {
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new RangeError("model id must be 64 lowercase hex characters");
    }
    const info = await options.models?.info(id);
    if (!info) throw new NotFoundError("model/not-found", `model ${id} is not held here`);
    return info;
  };

  app.get("/v1/models/:id", async (c) => {
    const id = c.req.param("id");
    const info = await heldModel(id);
    const leaves = await options.models!.leaves(id);
    return c.json({ id, ...info, chunkSize: 1 << 20, leaves: leaves.map(toHex) });
  });

  app.get("/v1/models/:id/chunks/:index", async (c) => {
    const id = c.req.param("id");
    const info = await heldModel(id);
    const raw = c.req.param("index");
    const index = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(index)) {
      throw new RangeError("chunk index must be a non-negative integer");
    }
    if (index >= info.chunks) {
      throw new NotFoundError("model/no-chunk", `model ${id} has ${info.chunks} chunks`);
    }
    const bytes = await options.models!.chunk(id, index);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
    });
  });

  app.get("/v1/jobs", async (c) => {
    if (!options.jobs) return c.json({ jobs: [] });
    return c.json({ jobs: (await options.jobs.list()).map(poolEntryJson) });
  });

  app.get("/v1/jobs/:id", async (c) => {
    const id = c.req.param("id");
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new RangeError("job id must be 64 lowercase hex characters");
    }
    const entry = await options.jobs?.get(id);
    if (!entry) throw new NotFoundError("job/not-found", `unknown job ${id}`);
    const coins = await chain.getJobCoins(id);
    const notices = entry.stake
      ? await chain.notices(`${entry.stake.txid}:${entry.stake.vout}`)
      : [];
    return c.json({
      ...poolEntryJson(entry),
      notices,
      unspent: coins.map(({ txid, vout, coin }) => ({
        txid,
        vout,
        units: coin.value.toString(),
        height: coin.height,
      })),
    });
  });

  app.get("/v1/addresses/:address", async (c) => {
    const address = c.req.param("address");
    decodeAddress(address);
    const height = chain.tip().height;
    const coins = await chain.getAddressCoins(address);
    let balance = 0n;
    let spendable = 0n;
    const utxos = coins.map(({ txid, vout, coin }) => {
      const mature = !coin.coinbase || height + 1 - coin.height >= chain.params.coinbaseMaturity;
      const spentBy = chain.mempool.spender(txid, vout) ?? null;
      balance += coin.value;
      if (mature && !spentBy) spendable += coin.value;
      return {
        txid,
        vout,
        value: formatCoins(coin.value),
        units: coin.value.toString(),
        height: coin.height,
        coinbase: coin.coinbase,
        mature,
        spentInMempool: spentBy,
        scriptPubKey: toHex(coin.scriptPubKey),
      };
    });
    const pending = chain.mempool.entries().flatMap((e) =>
      e.tx.outputs.flatMap((o, vout) =>
        scriptAddress(o.scriptPubKey) === address && !chain.mempool.spender(e.txid, vout)
          ? [{
            txid: e.txid,
            vout,
            value: formatCoins(o.value),
            units: o.value.toString(),
            scriptPubKey: toHex(o.scriptPubKey),
          }]
          : []
      )
    );
    return c.json({
      address,
      balance: formatCoins(balance),
      balanceUnits: balance.toString(),
      spendable: formatCoins(spendable),
      spendableUnits: spendable.toString(),
      utxos,
      unconfirmed: pending,
    });
  });

  return app;
}
