/**
 * @module Mempool admission benchmark (`mempool admission over HTTP`): 400 one-input payments posted
 * to `POST /v1/txs` of a dev node process by 8 concurrent HTTP clients, beside the same kind of
 * transactions posted to the node's HTTP app alone (no relay network) on the node's server stack
 * and on a bare `Deno.serve`, submitted to `ChainNode.processTx` in-process by 8 concurrent
 * submitters, the bare `node:crypto` verifies of their signatures, and two HTTP floors: the same
 * bodies posted to a trivial route on the node's own server stack (relay/http_listen.ts, Hono) and
 * to a bare `Deno.serve`, answered without admission. Each round spends fresh coins; every node
 * holds the same chain. At the end it prints the CPU each row used per transaction (from /proc: the
 * server process, all threads and its main thread, and this process, where the clients run).
 */

import crypto from "node:crypto";
import process from "node:process";
import { toHex } from "../../chain/bytes.ts";
import { ChainNode } from "../../chain/node.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { SPKI_PREFIX } from "../../chain/secp/backends.ts";
import { signatureHashPreimage } from "../../chain/tx.ts";
import { coinbaseOf, mine, newKey, openDevNode, spend } from "../chain_helpers.ts";

const TXS = 400;
const CLIENTS = 8;
const WARMUP = 1;
const RUNS = 5;
// Deno runs a bench's fn more often than warmup + n (11 times for n 5, warmup 1): one round each.
const ROUNDS = 16;
const COIN_VALUE = 10_000_000n;
const FIXTURE = new URL("./admission_fixture.ts", import.meta.url).pathname;

// One chain for every node: ROUNDS mature coinbases, each fanned out to TXS coins, then per round
// TXS signed one-input payments of those coins (nothing admitted yet).
const setup = await openDevNode();
const owner = newKey();
const bases = await mine(setup.node, owner, ROUNDS);
await mine(setup.node, owner, setup.node.params.coinbaseMaturity);
const rounds: Uint8Array[][] = [];
const preimages: { sig: Uint8Array; preimage: Uint8Array }[] = [];
for (const base of bases) {
  const fan = spend(owner, [{
    txid: await coinbaseOf(setup.node, base),
    vout: 0,
    value: 50n * COIN,
  }], [
    ...Array.from({ length: TXS }, () => ({ value: COIN_VALUE, script: owner.script })),
  ]);
  await setup.node.processTx(fan.bytes);
  const round = Array.from(
    { length: TXS },
    (_, vout) =>
      spend(owner, [{ txid: fan.id, vout, value: COIN_VALUE }], [{
        value: COIN_VALUE - 10_000n,
        script: owner.script,
      }]),
  );
  rounds.push(round.map((s) => s.bytes));
  if (preimages.length === 0) {
    for (const s of round) {
      const spent = { value: COIN_VALUE, scriptPubKey: owner.script };
      preimages.push({
        sig: s.tx.inputs[0].scriptSig,
        preimage: signatureHashPreimage(s.tx, 0, spent),
      });
    }
  }
}
await mine(setup.node, owner, 1);
const prefix: Uint8Array[] = [];
for (let h = 1; h <= setup.node.tip().height; h++) {
  prefix.push((await setup.node.getBlockBytes(setup.node.hashAtHeight(h)!))!);
}
setup.close();

/** A dev chain in a new data directory holding the prefix (the node process opens it). */
async function dataDirAtPrefix(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-admission-" });
  const kv = await Deno.openKv(`${dir}/chain.kv`);
  const node = await ChainNode.open({ params: networkParams("dev"), kv });
  for (const p of prefix) await node.processBlock(p);
  kv.close();
  return dir;
}

/** Spawns the fixture (see admission_fixture.ts for its modes) and returns its URL and process. */
async function spawnFixture(args: string[]): Promise<{ url: string; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/ready \S+\n/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fixture ${args.join(" ")} exited before it was ready`);
    out += value;
  }
  reader.releaseLock();
  return { url: out.match(/ready (\S+)\n/)![1], child };
}

/** Runs `submit` over `items` from {@link CLIENTS} concurrent loops. */
async function concurrently<T>(items: T[], submit: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < items.length) await submit(items[next++]);
  }));
}

/** Posts one transaction's hex; anything but 202 fails the bench. */
async function post(url: string, hex: string): Promise<void> {
  const res = await fetch(`${url}/v1/txs`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: hex,
  });
  const body = await res.text();
  if (res.status !== 202) throw new Error(`POST /v1/txs: ${res.status} ${body}`);
}

/** Round `i` of `all`; a bench that runs out of fresh coins fails rather than repeating. */
function nextRound<T>(all: T[][], i: number): T[] {
  if (i >= all.length) throw new Error(`only ${all.length} rounds of fresh coins were prepared`);
  return all[i];
}

/** CPU time a process has used (all its threads, and its main thread), ms, from /proc. */
function processCpuMs(pid: number): { all: number; main: number } {
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, at 100 ticks a second
  };
  return {
    all: ticks(Deno.readTextFileSync(`/proc/${pid}/stat`)),
    main: ticks(Deno.readTextFileSync(`/proc/${pid}/task/${pid}/stat`)),
  };
}

/** CPU this bench process has used, ms. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU used per transaction in the timed parts of one row: server (all, main thread), clients. */
const cpu = new Map<string, { server: number; main: number; clients: number; txs: number }>();

/** Runs `timed` between b.start and b.end and adds its CPU (that of `pid`, if any) to `row`. */
async function measured(
  b: Deno.BenchContext,
  row: string,
  pid: number | undefined,
  txs: number,
  timed: () => Promise<void>,
): Promise<void> {
  const server0 = pid ? processCpuMs(pid) : { all: 0, main: 0 };
  const own0 = ownCpuMs();
  b.start();
  await timed();
  b.end();
  const own = ownCpuMs() - own0;
  const server = pid ? processCpuMs(pid) : { all: 0, main: 0 };
  const e = cpu.get(row) ?? { server: 0, main: 0, clients: 0, txs: 0 };
  e.server += server.all - server0.all;
  e.main += server.main - server0.main;
  e.clients += own;
  e.txs += txs;
  cpu.set(row, e);
}

const hexRounds = rounds.map((r) => r.map(toHex));
const fixtures = {
  node: await spawnFixture(["node", await dataDirAtPrefix()]),
  appListen: await spawnFixture(["app-listen", await dataDirAtPrefix()]),
  appServe: await spawnFixture(["app-serve", await dataDirAtPrefix()]),
  floor: await spawnFixture(["floor"]),
  serve: await spawnFixture(["serve"]),
};
const local = await openDevNode();
for (const p of prefix) await local.node.processBlock(p);

const GROUP = "mempool admission over HTTP";
const HTTP_ROWS = [
  {
    name: `POST /v1/txs: ${TXS} txs from ${CLIENTS} concurrent HTTP clients (node process)`,
    fixture: fixtures.node,
    fresh: true,
  },
  {
    name: `POST /v1/txs: the node's app without the relay network, on the node's server stack`,
    fixture: fixtures.appListen,
    fresh: true,
  },
  {
    name: `POST /v1/txs: the node's app without the relay network, on a bare Deno.serve`,
    fixture: fixtures.appServe,
    fresh: true,
  },
  {
    name: `HTTP floor: the same bodies to the node's server stack, answered 202 unchecked`,
    fixture: fixtures.floor,
    fresh: false,
  },
  {
    name: `HTTP floor: the same bodies to a bare Deno.serve, answered 202 unchecked`,
    fixture: fixtures.serve,
    fresh: false,
  },
];
for (const row of HTTP_ROWS) {
  let used = 0;
  Deno.bench({
    name: row.name,
    group: GROUP,
    n: RUNS,
    warmup: WARMUP,
    async fn(b) {
      const round = row.fresh ? nextRound(hexRounds, used++) : hexRounds[used++ % ROUNDS];
      await measured(
        b,
        row.name,
        row.fixture.child.pid,
        TXS,
        () => concurrently(round, (hex) => post(row.fixture.url, hex)),
      );
    },
  });
}
const IN_PROCESS =
  `ChainNode.processTx in-process: ${TXS} txs from ${CLIENTS} concurrent submitters`;
let localRounds = 0;
Deno.bench({
  name: IN_PROCESS,
  group: GROUP,
  n: RUNS,
  warmup: WARMUP,
  async fn(b) {
    const round = nextRound(rounds, localRounds++);
    await measured(
      b,
      IN_PROCESS,
      undefined,
      TXS,
      () => concurrently(round, async (bytes) => void await local.node.processTx(bytes)),
    );
  },
});
Deno.bench({
  name: `raw: ${TXS} bare node:crypto verifies of their signatures`,
  group: GROUP,
  baseline: true,
  n: RUNS,
  warmup: WARMUP,
  fn() {
    for (const { sig, preimage } of preimages) {
      const spki = new Uint8Array(SPKI_PREFIX.length + 33);
      spki.set(SPKI_PREFIX);
      spki.set(sig.subarray(64), SPKI_PREFIX.length);
      const key = crypto.createPublicKey({ key: spki as never, format: "der", type: "spki" });
      const ok = crypto.verify(
        "sha256",
        preimage,
        { key, dsaEncoding: "ieee-p1363" },
        sig.subarray(0, 64),
      );
      if (!ok) throw new Error("bad signature");
    }
  },
});

globalThis.addEventListener("unload", () => {
  const us = (ms: number, n: number) => `${Math.round(ms / n * 1000)} µs`;
  console.log(
    `CPU per transaction in the timed parts (load average ${Deno.loadavg().join(", ")}):`,
  );
  for (const [row, e] of cpu) {
    const server = e.server
      ? `server ${us(e.server, e.txs)} (main thread ${us(e.main, e.txs)}), `
      : "";
    console.log(`  ${row}: ${server}this process ${us(e.clients, e.txs)}`);
  }
  for (const { child } of Object.values(fixtures)) {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  local.close();
});
