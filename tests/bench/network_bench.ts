/**
 * Network benchmarks:
 * - signed envelopes forwarded per second through two relay processes (sender -> relay 1 ->
 *   relay 2 -> receiver, each relay checking the signature once), next to a raw Deno.serve
 *   WebSocket echo process in the same run (the baseline: same frames, no relay work);
 * - propagation time of a block across 5 node processes (measured once at load, printed).
 */

import { encodeEnvelope, type Envelope } from "../../relay/envelope.ts";
import { NodeIdentity } from "../../relay/identity.ts";
import { DEV_MAGIC, freePorts, rawPeer, startTestNet, status, until } from "../network/helpers.ts";

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

globalThis.addEventListener("unload", () => {
  for (const c of [relay1, relay2, echo]) {
    try {
      c.kill("SIGKILL");
    } catch { /* gone */ }
  }
});
