/**
 * @module Starts a full node: Deno KV chain state, the HTTP API, and optionally the miner.
 * Used by `main.ts node` and by tests that need a node in-process.
 */

import { getLogger } from "@logtape/logtape";
import { ChainNode } from "../chain/node.ts";
import { networkParams } from "../chain/params.ts";
import { payToAddressScript } from "../chain/script.ts";
import { type MiningLoop, type NonceSearcher, startMining } from "../chain/miner.ts";
import { createApp } from "./app.ts";
import type { ModelSource } from "./routes/models.ts";
import { createProgress } from "../cli/progress.ts";
import { ensureNodeWallet } from "./wallet_file.ts";
import { type MessageEventDetail, NetworkService } from "./network.ts";
import { JobPool } from "./jobpool.ts";
import type { FraudChecker } from "../chain/spend.ts";
import { chainWeightsOracle } from "../verifier-wasm/weights_oracle.ts";
import { decodeJobMessage, isJobPayload } from "../client/job_messages.ts";
import { fromHex } from "../chain/bytes.ts"; // network wiring (relay/network.ts)
import { lockDataDir } from "./data_dir_lock.ts";
import { type HttpServer, listenHttp } from "./http_listen.ts";

const log = getLogger(["camelid", "node"]);

/**
 * Crash-test hook: with `CAMELID_FAULT=<step>` on the dev network (e.g. `connect:batch`), the process
 * kills itself with SIGKILL when the chain reaches that step of a multi-commit block connection.
 */
function faultInjection(): ((step: string) => void) | undefined {
  const fault = Deno.env.get("CAMELID_FAULT");
  if (!fault) return undefined;
  return (step) => {
    if (step === fault) Deno.kill(Deno.pid, "SIGKILL");
  };
}

/** Options of {@link startNode}. */
export interface NodeOptions {
  /** Network name: main, test or dev. */
  network: string;
  /** Data directory (KV file, keystore). */
  dataDir: string;
  /** TCP port (0 picks a free one). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  hostname?: string;
  /** Mine blocks. */
  mine: boolean;
  /** Address to mine to; defaults to the node wallet in the data directory. */
  mineTo?: string;
  /** Nonce search implementation for the miner. */
  searcher?: NonceSearcher;
  /** Seed node URLs (network). */
  seeds?: string[];
  /** Peer configuration file (network). */
  peersConfig?: string;
  /** Decides stake fraud proofs (needs the models); without it no fraud proof is accepted. */
  fraudChecker?: FraudChecker;
  /** Models served to peers under `/v1/models`. */
  models?: ModelSource;
}

/** A running node. */
export interface RunningNode {
  /** Base URL of the HTTP API. */
  url: string;
  /** The chain. */
  chain: ChainNode;
  /** The miner, when mining. */
  miner: MiningLoop | null;
  /** Links, peers and chain sync (relay/network.ts). */
  network: NetworkService;
  /** The public job pool. */
  jobs: JobPool;
  /** Adds a section to `/v1/status` (e.g. a compute node's models and speed). */
  addStatus(name: string, section: () => unknown): void;
  /** Stops mining and serving, closes KV. */
  close(): Promise<void>;
}

/** Opens the chain in `dataDir`, serves the API and starts mining if asked. */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const params = networkParams(options.network);
  const dataDirLock = await lockDataDir(options.dataDir); // one process per data directory
  const kv = await Deno.openKv(`${options.dataDir}/chain.kv`);
  const chain = await ChainNode.open({
    params,
    kv,
    onCommitStep: faultInjection(),
    fraudChecker: options.fraudChecker,
    weightsOracle: chainWeightsOracle, // user reports' votes are judged by the chain's weights
  });
  const jobs = new JobPool(kv, chain);
  const statusExtras = new Map<string, () => unknown>();
  let miner: MiningLoop | null = null;
  let mineTo: string | null = null;
  // -- network wiring (relay/network.ts): links, peers, messages, chain sync --
  const network = new NetworkService({
    kv,
    chain,
    seeds: options.seeds,
    configPath: options.peersConfig,
  });
  network.events.addEventListener("message", (e) => {
    const env = (e as CustomEvent<MessageEventDetail>).detail.envelope;
    if (env.type !== "direct" || !isJobPayload(env.payload)) return;
    try {
      const m = decodeJobMessage(env.payload);
      if (m.t === "offer") jobs.observeOffer(fromHex(m.job), m.escrow).catch(() => {});
    } catch { /* malformed offers are ignored */ }
  });
  const app = createApp({
    chain,
    jobs,
    guards: network.requestGuards(),
    models: options.models,
    status: () => ({
      ...Object.fromEntries([...statusExtras].map(([k, f]) => [k, f()])),
      mining: miner ? { address: mineTo, blocksFound: miner.found } : null,
      peers: { links: [...network.openLinks()].length, known: network.table.size },
      // HTTP answers before the relay has started (its key, links and gossip come with it).
      relay: network.started ? "started" : "starting",
    }),
  });
  network.mount(app);
  // -- end network wiring --
  let server: HttpServer;
  try {
    server = await listenHttp(
      {
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port,
        maxFramePayload: () => network.limits.maxEnvelopeBytes,
      },
      app.fetch,
    );
  } catch (e) {
    kv.close();
    dataDirLock.release();
    throw e;
  }
  const addr = server.addr;
  const url = `http://${addr.hostname}:${addr.port}`;
  log.info("CamelidCoin node on {network}: height {height}, tip {tip}", {
    network: params.name,
    height: chain.tip().height,
    tip: chain.tip().hash,
  });
  log.info("HTTP API listening on {url}/v1/status", { url });
  await network.start({ advertiseUrl: url }); // network wiring
  chain.events.addEventListener("block", (e) => {
    const { hash, height } = (e as CustomEvent).detail;
    log.info("Block {height} {hash}", { height, hash });
  });
  if (options.mine) {
    mineTo = options.mineTo ?? (await ensureNodeWallet(options.dataDir, params.name)).address;
    log.info("Mining to {address}", { address: mineTo });
    const pace = params.retargetInterval === 0;
    const progress = pace ? null : createProgress({ label: "mining", unit: "hashes" });
    const started = Date.now();
    miner = startMining(chain, payToAddressScript(mineTo), {
      searcher: options.searcher,
      pace,
      onProgress: progress
        ? (hashes) =>
          progress.update(
            hashes,
            `${Math.round(hashes / Math.max(0.001, (Date.now() - started) / 1000))} H/s`,
          )
        : undefined,
      onBlock: () => progress?.done(),
    });
  }
  return {
    url,
    chain,
    get miner() {
      return miner;
    },
    network,
    jobs,
    addStatus: (name, section) => void statusExtras.set(name, section),
    close: async () => {
      await miner?.stop();
      await network.stop(); // network wiring
      await chain.saveMempool();
      await server.shutdown();
      kv.close();
      dataDirLock.release();
    },
  };
}
