import assert from "node:assert/strict";
import { Command } from "commander";
import {
  DEFAULT_BASE_PORT,
  defaultPorts,
  devnetNodeArgs,
  freeLoopbackPorts,
  isPortFree,
  registerDevnetCommand,
  startDevnet,
} from "./devnet.ts";
import { lockDataDir } from "./data_dir_lock.ts";

Deno.test("devnet registers a command with its options and help", () => {
  const program = new Command().exitOverride();
  registerDevnetCommand(program);
  const cmd = program.commands.find((c) => c.name() === "devnet");
  assert.ok(cmd);
  const help = cmd.helpInformation();
  for (const flag of ["--nodes", "--base-port", "--mine-nodes", "--data-dir", "--peers-config"]) {
    assert.ok(help.includes(flag), `help lacks ${flag}`);
  }
});

Deno.test("devnet wires every node to the first by seed and mines only on the first m nodes", () => {
  const o = { nodes: 3, basePort: 9100, mineNodes: 1, dataDir: "/tmp/d" };
  const first = devnetNodeArgs(o, 0);
  const third = devnetNodeArgs(o, 2);
  assert.ok(!first.includes("--seed") && !first.includes("--no-mine"));
  assert.deepEqual(third.slice(third.indexOf("--port"), third.indexOf("--port") + 2), [
    "--port",
    "9102",
  ]);
  assert.ok(third.includes("--no-mine"));
  assert.equal(third[third.indexOf("--seed") + 1], "http://127.0.0.1:9100");
});

Deno.test("devnet rejects impossible sizes before starting anything", async () => {
  const base = { basePort: 9100, dataDir: "/tmp/none" };
  await assert.rejects(() => startDevnet({ ...base, nodes: 0, mineNodes: 0 }), RangeError);
  await assert.rejects(() => startDevnet({ ...base, nodes: 2, mineNodes: 3 }), RangeError);
  await assert.rejects(
    () => startDevnet({ ...base, nodes: 2, mineNodes: 1, basePort: 65535 }),
    RangeError,
  );
});

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs `main.ts devnet ...` until its stdout matches `until` (or it exits); returns what it printed. */
async function runDevnet(args: string[], until?: RegExp) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "devnet", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const decoder = new TextDecoder();
  let seen: () => void;
  const matched = new Promise<void>((r) => seen = r);
  const read = async (s: ReadableStream<Uint8Array>, err: boolean) => {
    for await (const chunk of s) {
      if (err) stderr += decoder.decode(chunk, { stream: true });
      else stdout += decoder.decode(chunk, { stream: true });
      if (until && until.test(stdout)) seen();
    }
  };
  const pumps = Promise.all([read(child.stdout, false), read(child.stderr, true)]);
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const exited = child.status.then(async (s) => {
    await pumps;
    clearTimeout(timer);
    return s;
  });
  await Promise.race([matched, exited]);
  return {
    child,
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

Deno.test("a devnet node's log fills while the node runs, not only when it stops", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-devnet-log-" });
  const devnet = await startDevnet({
    nodes: 1,
    basePort: 0,
    ports: freeLoopbackPorts(1),
    mineNodes: 0,
    computeNodes: 0,
    dataDir: dir,
  });
  try {
    assert.equal(devnet.nodes[0].child.pid > 0, true);
    // The node is up and answering: what it printed at start must already be in the file.
    let text = "";
    for (let i = 0; i < 50 && !/listening on http/.test(text); i++) {
      text = await Deno.readTextFile(`${dir}/node-0/node.log`);
      if (!/listening on http/.test(text)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /listening on http:\/\/127\.0\.0\.1:\d+/);
  } finally {
    await devnet.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("devnet exits 1 with the node's reason when a node dies at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-devnet-dies-" });
  const held = await lockDataDir(`${dir}/node-1`); // node 1 cannot take its data directory
  try {
    const run = await runDevnet([
      "--nodes",
      "2",
      "--mine-nodes",
      "0",
      "--compute-nodes",
      "0",
      "--base-port",
      String(freeLoopbackPorts(1)[0]),
      "--data-dir",
      dir,
    ]);
    const status = await run.exited;
    assert.equal(status.code, 1, run.stderr);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^error \(devnet\/node-exited\): node 1 .*datadir\/locked/);
    // Node 0 started and was stopped with the devnet: nothing is left running on its data dir.
    (await lockDataDir(`${dir}/node-0`)).release();
  } finally {
    held.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("devnet --base-port on a taken port exits 1 before starting a node", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-devnet-port-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const run = await runDevnet([
      "--nodes",
      "1",
      "--compute-nodes",
      "0",
      "--base-port",
      String(port),
      "--data-dir",
      dir,
    ]);
    const status = await run.exited;
    assert.equal(status.code, 1);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`^error \\(devnet/port-in-use\\): port ${port} `));
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("devnet without --base-port moves to free ports when 8800 is taken", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-devnet-free-" });
  let listener: Deno.Listener | null = null;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port: DEFAULT_BASE_PORT });
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e; // taken by someone else: fine too
  }
  try {
    assert.equal(isPortFree(DEFAULT_BASE_PORT), false);
    const run = await runDevnet(
      ["--nodes", "1", "--mine-nodes", "0", "--compute-nodes", "0", "--data-dir", dir],
      /Press Ctrl-C/,
    );
    const url = run.stdout.match(/node 0 {2}(http:\/\/127\.0\.0\.1:(\d+))/);
    assert.ok(url, run.stdout + run.stderr);
    assert.notEqual(Number(url[2]), DEFAULT_BASE_PORT);
    const res = await fetch(`${url[1]}/v1/status`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    run.child.kill("SIGTERM");
    assert.equal((await run.exited).code, 0, run.stderr);
  } finally {
    listener?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("default devnet ports are 8800.. when free and OS-picked free ports otherwise", () => {
  const ports = defaultPorts(3)!;
  assert.equal(ports.length, 3);
  assert.equal(new Set(ports).size, 3);
  if (ports[0] === DEFAULT_BASE_PORT) assert.deepEqual(ports, [8800, 8801, 8802]);
  else assert.ok(ports.every((p) => p !== DEFAULT_BASE_PORT));
  assert.equal(defaultPorts(0), undefined);
});
