/**
 * Network benchmarks:
 * - signed envelopes forwarded per second through two relay processes (sender -> relay 1 ->
 *   relay 2 -> receiver, each relay checking the signature once), next to a raw Deno.serve
 *   WebSocket echo process in the same run (the baseline: same frames, no relay work);
 * - propagation time of a block across 5 node processes (measured once at load, printed);
 * - valid transactions relayed by a 3-node devnet (node processes on loopback, no miner):
 *   posted to node 0 by 8 concurrent clients and counted when they are in node 2's mempool, next
 *   to the same posts counted when node 0 has admitted them (the baseline: no relay in the
 *   measured time); the node processes' CPU time over the relay runs is printed at the end.
 */

import { encodeEnvelope, type Envelope } from "../../relay/envelope.ts";
import { NodeIdentity } from "../../relay/identity.ts";
import {
  converged,
  DEV_MAGIC,
  freePorts,
  rawPeer,
  startTestNet,
  status,
  until,
} from "../network/helpers.ts";
import { fundPayments } from "./devnet_coins.ts";

const FIXTURE = new URL("./network_fixture.ts", import.meta.url).pathname;
const BATCH = 200;
const ITERATIONS = 15;
const WARMUP = 2;

async function spawnFixture(args: string[]): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fixture ${args.join(" ")} exited`);
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

// --- block propagation across 5 nodes (one miner): measured once at load, printed.
async function measurePropagation(): Promise<number[]> {
  const net = await startTestNet(5, 1);
  const urls = net.nodes.map((n) => n.url);
  const samples: number[] = [];
  try {
    await until("all at height 2", async () => {
      const s = await Promise.all(urls.map(status));
      return s.every((x) => x.height >= 2 && x.tip === s[0].tip);
    }, 30_000);
    let last = (await status(urls[0])).tip;
    while (samples.length < 5) {
      const s0 = await status(urls[0]);
      if (s0.tip === last) continue;
      const t0 = performance.now();
      last = s0.tip;
      const pending = new Set(urls.slice(1));
      while (pending.size) {
        await Promise.all([...pending].map(async (u) => {
          const s = await status(u);
          if (s.tip === last || s.height > s0.height) pending.delete(u);
        }));
        if (performance.now() - t0 > 10_000) throw new Error("block did not propagate");
      }
      samples.push(performance.now() - t0);
    }
  } finally {
    await net.close();
  }
  return samples.sort((a, b) => a - b);
}

const prop = await measurePropagation();
console.log(
  `block propagation: miner's new tip seen -> all 4 other nodes on it (ms, 5 blocks, 5 node ` +
    `processes): median ${prop[2].toFixed(1)}, min ${prop[0].toFixed(1)}, max ${
      prop[4].toFixed(1)
    }`,
);

// --- relay chain: sender -> relay 1 -> relay 2 -> receiver
const [p1, p2, pe] = freePorts(3);
const relay1 = await spawnFixture(["relay", String(p1)]);
const relay2 = await spawnFixture(["relay", String(p2), `http://127.0.0.1:${p1}`]);
const echo = await spawnFixture(["echo", String(pe)]);
const sender = NodeIdentity.generate();
const receiver = NodeIdentity.generate();
const out = await rawPeer(`http://127.0.0.1:${p1}`, sender);
const inbound = await rawPeer(`http://127.0.0.1:${p2}`, receiver);
// Wait until relay 2 has linked to relay 1 (a message then reaches the receiver).
await until("relays linked", async () => {
  const res = await fetch(`http://127.0.0.1:${p2}/v1/peers`);
  return (await res.json()).links.length >= 2;
}, 10_000);

// Pre-sign every envelope (signing is the sender's cost, not the relays').
const payload = new Uint8Array(256);
const pool: Uint8Array[] = [];
for (let i = 0; i < BATCH * (ITERATIONS + WARMUP + 1); i++) {
  const env: Envelope = sender.sign({
    magic: DEV_MAGIC,
    type: "direct",
    to: receiver.publicKey,
    payload,
    hopLimit: 4,
  });
  pool.push(encodeEnvelope(env));
}
const frameSize = pool[0].length;
let next = 0;
let delivered = 0;
let waiter: (() => void) | null = null;
let want = 0;
inbound.ws.addEventListener("message", () => {
  delivered++;
  if (waiter && delivered >= want) {
    const w = waiter;
    waiter = null;
    w();
  }
});

// --- raw echo baseline
const echoWs = new WebSocket(`ws://127.0.0.1:${pe}`);
echoWs.binaryType = "arraybuffer";
await new Promise((r) => echoWs.onopen = r);
let echoed = 0;
let echoWaiter: (() => void) | null = null;
let echoWant = 0;
echoWs.onmessage = () => {
  echoed++;
  if (echoWaiter && echoed >= echoWant) {
    const w = echoWaiter;
    echoWaiter = null;
    w();
  }
};

Deno.bench({
  name: `raw Deno.serve WebSocket echo, ${BATCH} frames of ${frameSize} bytes`,
  group: "forward",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  async fn() {
    echoWant = echoed + BATCH;
    const done = new Promise<void>((r) => echoWaiter = r);
    for (let i = 0; i < BATCH; i++) echoWs.send(pool[i]);
    await done;
  },
});

Deno.bench({
  name: `${BATCH} signed envelopes forwarded through two relays`,
  group: "forward",
  n: ITERATIONS,
  warmup: WARMUP,
  async fn() {
    want = delivered + BATCH;
    const done = new Promise<void>((r) => waiter = r);
    for (let i = 0; i < BATCH; i++) out.ws.send(pool[next++]);
    await done;
  },
});

// --- devnet tx relay: 3 node processes, payments posted to node 0, counted in node 2's mempool
const TX_BATCH = 1000;
const TX_ITERATIONS = 3;
const TX_WARMUP = 1;
const TX_CLIENTS = 8;
const devnet = await startTestNet(3, 0);
const nodeUrls = devnet.nodes.map((n) => n.url);
await until("node 2 linked to both others", async () => {
  const res = await fetch(`${nodeUrls[2]}/v1/peers`);
  return (await res.json()).links.length >= 2;
}, 30_000);
// Deno may run a bench once more than n + warmup (calibration): two batches to spare per bench.
const payments = await fundPayments(nodeUrls[0], 2 * TX_BATCH * (TX_ITERATIONS + TX_WARMUP + 2));
await converged(nodeUrls, (await status(nodeUrls[0])).height, 60_000);
let posted = 0;

/** Posts the next `n` payments to node 0 with {@link TX_CLIENTS} concurrent clients. */
async function postPayments(n: number): Promise<void> {
  const todo = payments.hex.slice(posted, posted + n);
  if (todo.length < n) throw new Error(`only ${todo.length} funded payments left, ${n} wanted`);
  posted += n;
  let i = 0;
  await Promise.all(Array.from({ length: TX_CLIENTS }, async () => {
    while (i < todo.length) {
      const body = todo[i++];
      const res = await fetch(`${nodeUrls[0]}/v1/txs`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body,
      });
      if (res.status !== 202) throw new Error(`POST /v1/txs: ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    }
  }));
}

/** Waits until node `i`'s mempool holds every payment posted so far. */
function mempoolHoldsAll(i: number): Promise<void> {
  return until(`node ${i} holds ${posted} payments`, async () => {
    return (await status(nodeUrls[i])).mempool.size >= posted;
  }, 120_000);
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in 1/100 s
}

const relayCpu = { wall: 0, txs: 0, cpu: [0, 0, 0], load: [] as string[] };

Deno.bench({
  name: `${TX_BATCH} payments admitted by node 0 (POST /v1/txs, ${TX_CLIENTS} clients)`,
  group: "devnet tx relay",
  baseline: true,
  n: TX_ITERATIONS,
  warmup: TX_WARMUP,
  async fn(b) {
    await mempoolHoldsAll(2); // the previous run's relaying is over
    b.start();
    await postPayments(TX_BATCH);
    b.end();
  },
});

Deno.bench({
  name: `${TX_BATCH} payments posted to node 0, until all are in node 2's mempool`,
  group: "devnet tx relay",
  n: TX_ITERATIONS,
  warmup: TX_WARMUP,
  async fn(b) {
    await mempoolHoldsAll(2);
    const pids = devnet.nodes.map((n) => n.child.pid);
    const before = pids.map(cpuSeconds);
    const t0 = performance.now();
    b.start();
    await postPayments(TX_BATCH);
    await mempoolHoldsAll(2);
    b.end();
    relayCpu.wall += (performance.now() - t0) / 1000;
    relayCpu.txs += TX_BATCH;
    pids.forEach((pid, i) => relayCpu.cpu[i] += cpuSeconds(pid) - before[i]);
    relayCpu.load.push(Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" "));
  },
});

globalThis.addEventListener("unload", () => {
  if (relayCpu.wall > 0) {
    const share = (s: number) => `${(100 * s / relayCpu.wall).toFixed(0)}%`;
    const perTx = (s: number) => `${(1000 * s / relayCpu.txs).toFixed(2)} ms`;
    const all = relayCpu.cpu.reduce((a, c) => a + c, 0);
    console.log(
      `devnet tx relay (warmup included): ${relayCpu.txs} payments to node 2 in ${
        relayCpu.wall.toFixed(2)
      } s (${(relayCpu.txs / relayCpu.wall).toFixed(0)} tx/s); CPU time per payment: ${
        relayCpu.cpu.map((c, i) => `node ${i} ${perTx(c)}`).join(", ")
      }, all ${perTx(all)}; CPU of one core: ${
        relayCpu.cpu.map((c, i) => `node ${i} ${share(c)}`).join(", ")
      }, all ${share(all)} of ${navigator.hardwareConcurrency * 100}%; load average after each ` +
        `run: ${relayCpu.load.join(" | ")}`,
    );
  }
  for (const c of [relay1, relay2, echo, ...devnet.nodes.map((n) => n.child)]) {
    try {
      c.kill("SIGKILL");
    } catch { /* gone */ }
  }
  try {
    Deno.removeSync(devnet.dir, { recursive: true });
  } catch { /* gone */ }
});
