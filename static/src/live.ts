/**
 * @module The node's status, followed live: polled every 2 s (the page needs no key for it), with
 * reachability kept as data so every view can say "node unreachable" and recover by itself.
 */

import { useEffect, useState } from "preact/hooks";
import { codeOf, getJson } from "./api.ts";

/** `GET /v1/status` as the page reads it. */
export interface NodeStatus {
  /** Network name. */
  network: string;
  /** Software version. */
  version: string;
  /** Best height. */
  height: number;
  /** Best block hash. */
  tip: string;
  /** Mempool figures. */
  mempool?: { size: number; bytes: number; minFeeRate: number; orphans: { count: number } };
  /** Mining, when the node mines. */
  mining?: { address: string | null; blocksFound: number } | null;
  /** Link counts. */
  peers?: { links: number; known: number };
  /** A compute node's terms. */
  compute?: { models: string[]; minReward: string; rewardAddress: string };
  /** A relay without a chain says so. */
  role?: string;
}

/** What the page knows of its node right now. */
export interface Live {
  /** The last status answered (kept while the node is unreachable). */
  status: NodeStatus | null;
  /** The error code of the last failed poll; null when the last poll answered. */
  error: string | null;
}

const POLL_MS = 2_000;
let current: Live = { status: null, error: null };
const listeners = new Set<(l: Live) => void>();

async function poll(): Promise<void> {
  try {
    current = { status: await getJson<NodeStatus>("/v1/status"), error: null };
  } catch (e) {
    current = { status: current.status, error: codeOf(e) };
  }
  for (const l of listeners) l(current);
}

let started = false;

/** Starts the poll (once). */
function start(): void {
  if (started) return;
  started = true;
  poll();
  setInterval(poll, POLL_MS);
}

/** The live status, re-rendering the caller on every poll. */
export function useLive(): Live {
  const [live, setLive] = useState(current);
  useEffect(() => {
    start();
    listeners.add(setLive);
    return () => void listeners.delete(setLive);
  }, []);
  return live;
}
