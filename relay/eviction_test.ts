import assert from "node:assert/strict";
import {
  type EvictionCandidate,
  netGroup,
  PROTECT,
  selectEviction,
  youngestOfLargestGroup,
} from "./eviction.ts";

const KEY = new Uint8Array(32).fill(9);

function candidate(id: number, group: string, more: Partial<EvictionCandidate> = {}) {
  return { id, group, rttMs: -1, lastBlockAt: 0, lastTxAt: 0, openedAt: 1000 + id, ...more };
}

Deno.test("network groups: IPv4 /16, IPv6 /32, mapped IPv4, each loopback address alone", () => {
  assert.equal(netGroup("203.0.113.9"), "203.0.0.0/16");
  assert.equal(netGroup("203.0.200.1"), netGroup("203.0.113.9"));
  assert.notEqual(netGroup("203.1.113.9"), netGroup("203.0.113.9"));
  assert.equal(netGroup("::ffff:203.0.113.9"), "203.0.0.0/16");
  assert.equal(netGroup("2001:db8:1:2::5"), "2001:db8::/32");
  assert.equal(netGroup("127.0.0.2"), "127.0.0.2");
  assert.notEqual(netGroup("127.0.0.2"), netGroup("127.0.0.3"));
  assert.equal(netGroup("::1"), "::1");
});

Deno.test("eviction takes the youngest of the largest group, never a protected peer", () => {
  // 60 idle peers from 4 groups, and one peer with useful work and a low ping from its own.
  const idle = Array.from({ length: 60 }, (_, i) => candidate(i, `g${i % 4}`));
  const honest = candidate(100, "h", { rttMs: 2, lastBlockAt: 5000, openedAt: 5000 });
  for (let round = 0; round < 20; round++) {
    const list = [...idle, honest];
    const id = selectEviction(list, KEY);
    assert.notEqual(id, undefined);
    assert.notEqual(id, honest.id, "the honest peer is protected");
    const victim = list.find((c) => c.id === id)!;
    // Replace the victim with a newer attacker from the same group.
    idle.splice(idle.indexOf(victim), 1, candidate(200 + round, victim.group));
  }
  // Block-relaying peers, low pings and the longest connected are protected; with only those
  // left nothing is evicted (the newcomer is refused).
  const few = Array.from(
    { length: PROTECT.byGroup + PROTECT.byPing },
    (_, i) => candidate(i, `g${i}`, { rttMs: i }),
  );
  assert.equal(selectEviction(few, KEY), undefined);
});

Deno.test("the youngest member of the largest group is chosen, ties to the youngest group", () => {
  const list = [
    { id: 1, group: "a", openedAt: 1 },
    { id: 2, group: "a", openedAt: 5 },
    { id: 3, group: "b", openedAt: 2 },
    { id: 4, group: "b", openedAt: 6 },
    { id: 5, group: "c", openedAt: 9 },
  ];
  assert.equal(youngestOfLargestGroup(list)?.id, 4);
  assert.equal(youngestOfLargestGroup<{ group: string; openedAt: number }>([]), undefined);
});
