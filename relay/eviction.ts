/**
 * @module Inbound eviction as Bitcoin Core's `AttemptToEvictConnection`: when every inbound slot
 * is taken, protect peers by network group, latency, recent useful work (transactions, blocks) and
 * longevity, then evict the youngest peer of the network group with the most peers left. Also the
 * network group of an address, and the same choice among links still in the handshake.
 */

import { sha256d } from "../chain/hash.ts";

/** What eviction knows of an inbound link. */
export interface EvictionCandidate {
  /** Link id. */
  id: number;
  /** Network group ({@link netGroup}). */
  group: string;
  /** Round-trip time of the last ping, ms (-1: not measured). */
  rttMs: number;
  /** Last novel block from the peer, ms (0: never). */
  lastBlockAt: number;
  /** Last novel transaction from the peer, ms (0: never). */
  lastTxAt: number;
  /** When the link opened, ms. */
  openedAt: number;
}

/** Peers protected by keyed network group, lowest ping, recent txs and recent blocks (Core's). */
export const PROTECT = { byGroup: 4, byPing: 8, byTx: 4, byBlock: 4 } as const;

/**
 * The network group of an address: IPv4 /16, IPv6 /32 (IPv4-mapped IPv6 as IPv4), a host name as
 * itself. Each loopback address is its own group: only processes on this host can use them, so
 * they stand for separate local peers (devnets, tests), never for a remote attacker's range.
 */
export function netGroup(ip: string): string {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  const m = v4.match(/^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/);
  if (m) return m[1] === "127" ? v4 : `${m[1]}.${m[2]}.0.0/16`;
  if (ip === "::1") return ip;
  if (ip.includes(":")) {
    const [a = "0", b = "0"] = ip.split(":");
    return `${a}:${b}::/32`;
  }
  return ip;
}

/** Removes from `list` (in place) the `k` elements that `better` ranks highest. */
function protect<T>(list: T[], k: number, better: (a: T, b: T) => number): void {
  list.sort(better);
  list.splice(0, k);
}

/** Youngest first. */
const younger = (a: { openedAt: number }, b: { openedAt: number }) => b.openedAt - a.openedAt;

/**
 * The id of the inbound link to evict among `candidates`, or undefined when every one of them is
 * protected (then the newcomer is refused). `groupKey` keys the group ranking, so that outsiders
 * cannot predict which groups are protected.
 */
export function selectEviction(
  candidates: readonly EvictionCandidate[],
  groupKey: Uint8Array,
): number | undefined {
  const list = [...candidates];
  const keyed = new Map<string, string>();
  const keyOf = (g: string) => {
    let k = keyed.get(g);
    if (k === undefined) {
      const bytes = new TextEncoder().encode(g);
      const input = new Uint8Array(groupKey.length + bytes.length);
      input.set(groupKey);
      input.set(bytes, groupKey.length);
      k = Array.from(sha256d(input).subarray(0, 8), (x) => x.toString(16).padStart(2, "0"))
        .join("");
      keyed.set(g, k);
    }
    return k;
  };
  const rtt = (c: EvictionCandidate) => (c.rttMs < 0 ? Infinity : c.rttMs);
  // Ties go to the longer-connected peer, as in Core.
  const older = (a: EvictionCandidate, b: EvictionCandidate) => a.openedAt - b.openedAt;
  protect(list, PROTECT.byGroup, (a, b) => (keyOf(a.group) < keyOf(b.group) ? 1 : -1));
  protect(list, PROTECT.byPing, (a, b) => rtt(a) - rtt(b) || older(a, b));
  protect(list, PROTECT.byTx, (a, b) => b.lastTxAt - a.lastTxAt || older(a, b));
  protect(list, PROTECT.byBlock, (a, b) => b.lastBlockAt - a.lastBlockAt || older(a, b));
  // Half of the rest by longevity.
  protect(list, Math.floor(list.length / 2), older);
  return youngestOfLargestGroup(list)?.id;
}

/**
 * The youngest member of the group with the most members in `list` (ties: the group whose
 * youngest member is youngest), as Core picks its victim.
 */
export function youngestOfLargestGroup<T extends { group: string; openedAt: number }>(
  list: readonly T[],
): T | undefined {
  const groups = new Map<string, T[]>();
  for (const c of list) {
    const g = groups.get(c.group);
    if (g) g.push(c);
    else groups.set(c.group, [c]);
  }
  let best: T[] | undefined;
  for (const g of groups.values()) {
    g.sort(younger);
    if (
      !best || g.length > best.length ||
      (g.length === best.length && g[0].openedAt > best[0].openedAt)
    ) best = g;
  }
  return best?.[0];
}
