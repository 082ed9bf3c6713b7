/** @module Helpers of the multi-process network tests: devnets on free ports, polling, payments. */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../../chain/bytes.ts";
import { unlockKeystore } from "../../chain/keystore.ts";
import { buildPayment } from "../../chain/wallet.ts";
import { readKeystore, walletPath } from "../../relay/wallet_file.ts";
import {
  type Devnet,
  type DevnetOptions,
  freeLoopbackPorts,
  startDevnet,
} from "../../relay/devnet.ts";
import {
  decodeEnvelope,
  decodeHello,
  encodeEnvelope,
  encodeHello,
  type Envelope,
} from "../../relay/envelope.ts";
import type { NodeIdentity } from "../../relay/identity.ts";

/** Dev network magic. */
export const DEV_MAGIC = 0xc4a3e1d2;

/** Limits that make discovery fast enough for tests. */
export const FAST_PEERS_CONFIG = {
  limits: { discoveryIntervalMs: 200, peerExchangeIntervalMs: 1000, pingIntervalMs: 2000 },
};

/** `n` free TCP ports on 127.0.0.1. */
export const freePorts: (n: number) => number[] = freeLoopbackPorts;

/** A test whose relays and node processes leave timers and sockets to wind down after it. */
export function networkTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

/** A devnet in a temp dir, with its options (to restart nodes). */
export interface TestNet extends Devnet {
  /** Options it was started with. */
  options: DevnetOptions;
  /** Temp directory. */
  dir: string;
  /** Stops every node and removes the temp dir. */
  close(): Promise<void>;
}

/** Starts `nodes` node processes (the first `mineNodes` mine) with fast discovery and `limits`. */
export async function startTestNet(
  nodes: number,
  mineNodes: number,
  limits: Record<string, number | boolean> = {},
): Promise<TestNet> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-net-" });
  const peersConfig = `${dir}/peers.json`;
  await Deno.writeTextFile(
    peersConfig,
    JSON.stringify({ limits: { ...FAST_PEERS_CONFIG.limits, ...limits } }),
  );
  const options: DevnetOptions = {
    nodes,
    mineNodes,
    basePort: 0,
    ports: freePorts(nodes),
    dataDir: dir,
    peersConfig,
    env: { CAMELID_PASSPHRASE: "" },
  };
  const net = await startDevnet(options);
  return {
    ...net,
    options,
    dir,
    close: async () => {
      await net.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** GET a JSON document. */
export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body as T;
}

/** A node's `/v1/status`. */
export interface Status {
  /** Height. */
  height: number;
  /** Tip hash. */
  tip: string;
  /** Mempool. */
  mempool: { size: number };
}

/** `/v1/status` of a node. */
export function status(url: string): Promise<Status> {
  return getJson<Status>(`${url}/v1/status`);
}

/** Polls `cond` every 100 ms until it holds, failing after `ms`. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${ms} ms waiting for: ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}

/** Waits until every node reports the same tip at a height of at least `minHeight`. */
export async function converged(urls: string[], minHeight = 0, ms = 30_000): Promise<Status> {
  let agreed: Status | undefined;
  await until(`nodes agree on one tip at height >= ${minHeight}`, async () => {
    const all = await Promise.all(urls.map(status));
    if (all.every((s) => s.tip === all[0].tip && s.height >= minHeight)) {
      agreed = all[0];
      return true;
    }
    return false;
  }, ms);
  return agreed!;
}

/** Where a node sees a transaction: in its mempool, in a block of its active chain, or nowhere. */
export async function txState(
  url: string,
  txid: string,
): Promise<{ blockHash: string | null; height: number | null } | null> {
  const res = await fetch(`${url}/v1/txs/${txid}`);
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}/v1/txs/${txid}: ${res.status} ${JSON.stringify(body)}`);
  return { blockHash: body.blockHash, height: body.height };
}

/** The node wallet's address in `dataDir`. */
export async function walletAddress(dataDir: string): Promise<string> {
  let address = "";
  // A mining node writes its wallet just after it starts listening.
  await until(`wallet in ${dataDir}`, async () => {
    address = (await readKeystore(walletPath(dataDir))).address;
    return true;
  }, 10_000);
  return address;
}

interface AddressAnswer {
  utxos: {
    txid: string;
    vout: number;
    units: string;
    mature: boolean;
    height: number;
    spentInMempool: string | null;
    scriptPubKey: string;
  }[];
}

/**
 * Pays `amount` base units from the node wallet in `dataDir` (dev: empty passphrase) to `to`,
 * using the mature coins `nodeUrl` reports, and posts the tx there. Returns the txid.
 */
export async function pay(
  dataDir: string,
  nodeUrl: string,
  to: string,
  amount: bigint,
  pick?: (u: AddressAnswer["utxos"][number]) => boolean,
): Promise<string> {
  const ks = await readKeystore(walletPath(dataDir));
  const secretKey = await unlockKeystore(ks, "");
  const a = await getJson<AddressAnswer>(`${nodeUrl}/v1/addresses/${ks.address}`);
  const utxos = a.utxos
    .filter((u) => u.mature && !u.spentInMempool && (!pick || pick(u)))
    .sort((x, y) => Number(BigInt(y.units) - BigInt(x.units)))
    .slice(0, 1)
    .map((u) => ({
      txid: u.txid,
      vout: u.vout,
      value: BigInt(u.units),
      scriptPubKey: fromHex(u.scriptPubKey),
    }));
  assert.ok(utxos.length > 0, `no mature coins for ${ks.address} at ${nodeUrl}`);
  const { bytes } = buildPayment({ utxos, secretKey, to, amount, fee: 10_000n });
  const res = await fetch(`${nodeUrl}/v1/txs`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: toHex(bytes),
  });
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.txid;
}

/** `/v1/peers` of a node. */
export interface PeersAnswer {
  /** This node. */
  self: { key: string | null; url: string };
  /** Open links. */
  links: { key: string; url: string; direction: string }[];
  /** The peer table. */
  table: { url: string; key: string | null }[];
  /** Discouragements. */
  discouraged: { kind: string; value: string }[];
}

/** `/v1/peers` of a node. */
export function peers(url: string): Promise<PeersAnswer> {
  return getJson<PeersAnswer>(`${url}/v1/peers`);
}

/**
 * The encoded hello a test peer `id` answers the server `to` with: it echoes the server's
 * `challenge`, sends a zero challenge of its own and no listen URL.
 */
export function helloAnswer(
  id: NodeIdentity,
  magic: number,
  to: Uint8Array,
  challenge: Uint8Array,
  userAgent: string,
): Uint8Array {
  return encodeEnvelope(id.sign({
    magic,
    type: "hello",
    to,
    payload: encodeHello({
      echo: challenge,
      challenge: new Uint8Array(32),
      services: 2,
      listenUrl: "",
      height: 0,
      userAgent,
    }),
  }));
}

/**
 * A hand-driven link client that speaks the real handshake (for abuse tests): connects to
 * `/v1/ws`, checks the server's hello echoes our challenge, answers with its own hello.
 */
export async function rawPeer(url: string, id: NodeIdentity, magic = DEV_MAGIC) {
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const ws = new WebSocket(`${url.replace("http", "ws")}/v1/ws?challenge=${toHex(challenge)}`);
  ws.binaryType = "arraybuffer";
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", (e) => r(e)));
  const received: Envelope[] = [];
  let serverKey: Uint8Array | null = null;
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (ev) => {
      const env = decodeEnvelope(new Uint8Array(ev.data as ArrayBuffer));
      received.push(env);
      if (env.type === "hello" && !serverKey) {
        const h = decodeHello(env.payload);
        assert.deepEqual(h.echo, challenge);
        serverKey = env.from;
        ws.send(helloAnswer(id, magic, env.from, h.challenge, "test"));
        resolve();
      }
    };
    ws.onerror = () => reject(new Error("ws error"));
    closed.then(() => reject(new Error("closed before hello")));
  });
  return {
    ws,
    closed,
    received,
    serverKey: serverKey! as Uint8Array,
    send: (env: Envelope) => ws.send(encodeEnvelope(env)),
  };
}
