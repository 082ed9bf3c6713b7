/**
 * @module Sprint weights on a devnet: three compute node processes (all mining, so each pays its
 * own proof fees) proving at throttles of 1x, 2x and 4x a base rate (`--sprint-rate`), for a few
 * sprints. Per node: the nonces it tried and its proving time (its `/v1/status` sprint reports),
 * so its measured speed, beside the weights `GET /v1/weights?sprint=k` gives it; the weight shares
 * against the speed shares. Prints the load average before and after.
 * Usage: deno run -A tests/bench/sprint_devnet.ts [baseRate=250] [sprints=5]
 */

import { networkParams } from "../../chain/params.ts";
import { getJson, type NodeProcess, spawnNode, waitFor } from "../process_helpers.ts";

const base = Number(Deno.args[0] ?? 250);
const sprints = Number(Deno.args[1] ?? 5);
const factors = [1, 2, 4];
const p = networkParams("dev").sprint;
const loadavg = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

interface Report {
  sprint: number;
  tried: number;
  found: number;
  provingMs: number;
  txid: string | null;
  skipped: string | null;
}
interface Status {
  height: number;
  compute: { rewardAddress: string };
  sprint: { last: Report[] };
}
interface Weights {
  weights: { address: string; weight: number; accepted: boolean }[];
}

const dir = await Deno.makeTempDir({ prefix: "camelid-sprint-devnet-" });
const loadBefore = loadavg();
const nodes: NodeProcess[] = [];
const reports = new Map<string, Map<number, Report>>(); // reward address -> sprint -> report
try {
  for (const [i, f] of factors.entries()) {
    nodes.push(
      await spawnNode(
        [
          ...["--data-dir", `${dir}/node-${i}`, "--threads", "1"],
          ...["--sprint-rate", String(base * f)],
          ...(i > 0 ? ["--seed", nodes[0].url] : []),
        ],
        {},
        "compute",
      ),
    );
  }
  const status = async (n: NodeProcess) => (await getJson<Status>(`${n.url}/v1/status`)).body;
  const addresses: string[] = [];
  for (const n of nodes) {
    const s = await waitFor("a compute node's sprint duty", async () => {
      const s = await status(n);
      return s.compute && s.sprint ? s : null;
    }, 60_000);
    addresses.push(s.compute.rewardAddress);
  }
  const lastHeight = sprints * p.interval + p.window;
  for (;;) {
    const all = await Promise.all(nodes.map(status));
    all.forEach((s, i) => {
      const m = reports.get(addresses[i]) ?? new Map<number, Report>();
      for (const r of s.sprint.last) m.set(r.sprint, r);
      reports.set(addresses[i], m);
    });
    const low = Math.min(...all.map((s) => s.height));
    console.error(`height ${low} of ${lastHeight}, load ${loadavg()}`);
    if (low >= lastHeight) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const rows: { sprint: number; weights: Weights["weights"] }[] = [];
  for (let k = 1; k <= sprints; k++) {
    const w = (await getJson<Weights>(`${nodes[0].url}/v1/weights?sprint=${k}`)).body;
    rows.push({ sprint: k, weights: w.weights });
  }
  const totals = addresses.map((a, i) => {
    let tried = 0, ms = 0, weight = 0, found = 0, published = 0;
    for (const { sprint, weights } of rows) {
      const r = reports.get(a)?.get(sprint);
      const w = weights.find((x) => x.address === a);
      // Only sprints whose proof counted: a node without mature coins yet publishes nothing.
      if (!r || !w) continue;
      tried += r.tried;
      ms += r.provingMs;
      found += r.found;
      weight += w.weight;
      published++;
    }
    return { node: i, rate: base * factors[i], sprints: published, tried, ms, found, weight };
  });
  const speed = totals.map((t) => t.tried / (t.ms / 1000));
  const speedSum = speed.reduce((s, x) => s + x, 0);
  const weightSum = totals.reduce((s, t) => s + t.weight, 0);
  console.log(JSON.stringify({ base, sprints, perSprint: rows }));
  console.log(
    "| node | throttle | sprints counted | nonces tried | proving s | nonces/s measured | speed share | weight | weight share | weight share / speed share |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  totals.forEach((t, i) => {
    const ss = speed[i] / speedSum;
    const ws = t.weight / weightSum;
    console.log(
      `| ${i} | ${t.rate}/s (${factors[i]}x) | ${t.sprints} | ${t.tried} | ${
        (t.ms / 1000).toFixed(1)
      } | ${speed[i].toFixed(0)} | ${(100 * ss).toFixed(1)}% | ${t.weight} | ${
        (100 * ws).toFixed(1)
      }% | ${(ws / ss).toFixed(3)} |`,
    );
  });
  console.log(`load average before: ${loadBefore}; after: ${loadavg()}`);
  for (const n of nodes) {
    for (const line of n.output().split("\n").filter((l) => / Sprint \d+:/.test(l))) {
      console.error(line);
    }
  }
} finally {
  for (const n of nodes) await n.stop();
}
