/**
 * @module In-process relays for tests: a relay app (with a chain or without) served on a free
 * loopback port, a request entry point that sets the client address, and a wait for a message.
 */

import type { ChainNode } from "../../chain/node.ts";
import type { Envelope } from "../../relay/envelope.ts";
import type { RelayLimits } from "../../relay/limits.ts";
import {
  createRelayApp,
  type MessageEventDetail,
  type NetworkService,
} from "../../relay/network.ts";

/** Limits that make discovery and liveness fast enough for in-process tests. */
export const FAST_LIMITS: Partial<RelayLimits> = {
  discoveryIntervalMs: 100,
  peerExchangeIntervalMs: 300,
  pingIntervalMs: 500,
};

/** Options of {@link startTestRelay}. */
export interface TestRelayOptions {
  /** Seed URLs. */
  seeds?: string[];
  /** Limits over {@link FAST_LIMITS}. */
  limits?: Partial<RelayLimits>;
  /** A chain to sync (opened on the same in-memory KV by `openChain`). */
  openChain?: (kv: Deno.Kv) => Promise<ChainNode>;
  /** Start the network (default true); false leaves it starting, to test that state. */
  start?: boolean;
}

/** A relay served on loopback. */
export interface TestRelay {
  /** Base URL. */
  url: string;
  /** Its network service. */
  network: NetworkService;
  /** Its chain, when opened with one. */
  chain: ChainNode | undefined;
  /** Answers `req` in-process as if it came from address `ip` (default 127.0.0.1). */
  fetch(req: Request, ip?: string): Promise<Response>;
  /** Stops the network and the server, closes KV. */
  close(): Promise<void>;
}

/** Starts a relay (a chain-less one unless `openChain` is given) on a free loopback port. */
export async function startTestRelay(opts: TestRelayOptions = {}): Promise<TestRelay> {
  const kv = await Deno.openKv(":memory:");
  const chain = await opts.openChain?.(kv);
  const { app, network } = createRelayApp({
    kv,
    chain,
    network: "dev",
    seeds: opts.seeds,
    limits: { ...FAST_LIMITS, ...opts.limits },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  if (opts.start !== false) await network.start({ advertiseUrl: url });
  return {
    url,
    network,
    chain,
    fetch: (req, ip = "127.0.0.1") =>
      Promise.resolve(
        app.fetch(req, { remoteAddr: { hostname: ip, port: 1, transport: "tcp" } }),
      ),
    close: async () => {
      await network.stop();
      await server.shutdown();
      kv.close();
    },
  };
}

/** Resolves with the next message `network` delivers locally that satisfies `pred`. */
export function nextMessage(
  network: NetworkService,
  pred: (e: Envelope) => boolean = () => true,
): Promise<Envelope> {
  return new Promise((resolve) => {
    const h: EventListener = (ev) => {
      const env = (ev as CustomEvent<MessageEventDetail>).detail.envelope;
      if (!pred(env)) return;
      network.events.removeEventListener("message", h);
      resolve(env);
    };
    network.events.addEventListener("message", h);
  });
}
