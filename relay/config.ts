/**
 * @module Network configuration: the options of a `NetworkService` and the JSON config file
 * (seeds, peers, limits, advertised URL) read at start.
 */

import type { NodeIdentity } from "./identity.ts";
import type { RelayLimits } from "./limits.ts";
import type { ChainPort } from "./sync.ts";

/** Options of a `NetworkService` (relay/network.ts). */
export interface NetworkOptions {
  /** Open Deno KV (identity, peer table, discouragements). */
  kv: Deno.Kv;
  /** The chain; absent on a chain-less relay (edge). */
  chain?: ChainPort;
  /** Network name when there is no chain (default "dev"). */
  network?: string;
  /** Seed node URLs. */
  seeds?: string[];
  /**
   * JSON config file: `{"seeds": [...], "peers": [...], "limits": {...}, "advertiseUrl": "..."}`.
   * Read at start when given.
   */
  configPath?: string;
  /** URL to advertise to peers (may also be given to `start`). */
  advertiseUrl?: string;
  /** Limits overriding the defaults. */
  limits?: Partial<RelayLimits>;
  /** Identity to use instead of the one stored in KV. */
  identity?: NodeIdentity;
}

/** Config file contents. */
export interface NetworkConfigFile {
  /** Seed URLs. */
  seeds?: string[];
  /** Further peers to keep in the table. */
  peers?: string[];
  /** Limits. */
  limits?: Partial<RelayLimits>;
  /** URL to advertise. */
  advertiseUrl?: string;
}

/** Reads and checks a network config file. Throws `TypeError` for a malformed file. */
export async function readNetworkConfig(path: string): Promise<NetworkConfigFile> {
  const text = await Deno.readTextFile(path);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${path}: expected a JSON object`);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["seeds", "peers", "limits", "advertiseUrl"].includes(k)) {
      throw new TypeError(`${path}: unknown field "${k}"`);
    }
  }
  const strings = (k: string) => {
    const a = o[k];
    if (a === undefined) return undefined;
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) {
      throw new TypeError(`${path}: "${k}" must be an array of URLs`);
    }
    return a as string[];
  };
  if (o.limits !== undefined && (typeof o.limits !== "object" || o.limits === null)) {
    throw new TypeError(`${path}: "limits" must be an object`);
  }
  if (o.advertiseUrl !== undefined && typeof o.advertiseUrl !== "string") {
    throw new TypeError(`${path}: "advertiseUrl" must be a string`);
  }
  return {
    seeds: strings("seeds"),
    peers: strings("peers"),
    limits: o.limits as Partial<RelayLimits> | undefined,
    advertiseUrl: o.advertiseUrl as string | undefined,
  };
}
