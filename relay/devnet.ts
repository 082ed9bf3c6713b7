/**
 * @module `main.ts devnet`: starts N `main.ts node` processes on 127.0.0.1 (dev network), wired by
 * seeds (every node seeds from the first), prints their URLs, and stops them all on Ctrl-C/SIGTERM.
 */

import type { Command } from "commander";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["camelid", "devnet"]);

/** Options of {@link startDevnet}. */
export interface DevnetOptions {
  /** Number of nodes. */
  nodes: number;
  /** Port of the first node; node i listens on basePort + i. */
  basePort: number;
  /** How many nodes mine (the first ones). */
  mineNodes: number;
  /** Directory holding one data directory per node. */
  dataDir: string;
  /** Peer config file passed to every node. */
  peersConfig?: string;
  /** How many nodes (the first n) also take jobs as compute nodes (default 0). */
  computeNodes?: number;
  /** Extra environment for the node processes. */
  env?: Record<string, string>;
  /** Explicit ports, one per node (overrides basePort; tests use free ports). */
  ports?: number[];
}

/** One node process of a devnet. */
export interface DevnetNode {
  /** Index. */
  index: number;
  /** Base URL. */
  url: string;
  /** Whether it mines. */
  mining: boolean;
  /** Data directory. */
  dataDir: string;
  /** The process. */
  child: Deno.ChildProcess;
}

/** A running devnet. */
export interface Devnet {
  /** The nodes. */
  nodes: DevnetNode[];
  /** Stops every node (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

const MAIN = new URL("../main.ts", import.meta.url);

/** Port of node `i`. */
export function portOf(o: DevnetOptions, i: number): number {
  return o.ports?.[i] ?? o.basePort + i;
}

/** Arguments of `main.ts node` for node `i` of a devnet. */
export function devnetNodeArgs(o: DevnetOptions, i: number): string[] {
  const args = [
    "run",
    "-A",
    MAIN.pathname,
    "node",
    "--network",
    "dev",
    "--port",
    String(portOf(o, i)),
    "--data-dir",
    `${o.dataDir}/node-${i}`,
  ];
  if (i >= o.mineNodes) args.push("--no-mine");
  if (i < (o.computeNodes ?? 0)) args.push("--compute");
  if (i > 0) args.push("--seed", `http://127.0.0.1:${portOf(o, 0)}`);
  if (o.peersConfig) args.push("--peers-config", o.peersConfig);
  return args;
}

async function waitReady(url: string, child: Deno.ChildProcess, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < end && !exited) {
    try {
      const res = await fetch(`${url}/v1/status`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node ${url} did not start (see its node.log)`);
}

/**
 * Spawns node `i` of a devnet (its stdout and stderr appended to `<data-dir>/node-i/node.log`).
 * Tests use it to restart a node they killed.
 */
export async function spawnDevnetNode(o: DevnetOptions, i: number): Promise<DevnetNode> {
  const dataDir = `${o.dataDir}/node-${i}`;
  await Deno.mkdir(dataDir, { recursive: true });
  const logFile = await Deno.open(`${dataDir}/node.log`, {
    write: true,
    create: true,
    append: true,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: devnetNodeArgs(o, i),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: o.env,
  }).spawn();
  const w = logFile.writable.getWriter();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) await w.write(chunk).catch(() => {});
  };
  Promise.all([pump(child.stdout), pump(child.stderr)]).finally(() => w.close().catch(() => {}));
  return {
    index: i,
    url: `http://127.0.0.1:${portOf(o, i)}`,
    mining: i < o.mineNodes,
    dataDir,
    child,
  };
}

/** Waits until the node at `url` answers `/v1/status` (fails if its process exits first). */
export async function waitNodeReady(node: DevnetNode, ms = 30_000): Promise<void> {
  await waitReady(node.url, node.child, ms);
}

/** Starts a devnet and waits until every node answers `/v1/status`. */
export async function startDevnet(o: DevnetOptions): Promise<Devnet> {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 64) {
    throw new RangeError(`--nodes must be between 1 and 64, got ${o.nodes}`);
  }
  if (!Number.isInteger(o.mineNodes) || o.mineNodes < 0 || o.mineNodes > o.nodes) {
    throw new RangeError(`--mine-nodes must be between 0 and --nodes, got ${o.mineNodes}`);
  }
  if (
    !o.ports && (!Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + o.nodes > 65535)
  ) {
    throw new RangeError(`--base-port out of range: ${o.basePort}`);
  }
  const nodes: DevnetNode[] = [];
  const stop = async () => {
    for (const n of nodes) {
      try {
        n.child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    const timers: ReturnType<typeof setTimeout>[] = [];
    await Promise.all(nodes.map((n) =>
      Promise.race([
        n.child.status,
        new Promise((r) => {
          timers.push(setTimeout(() => {
            try {
              n.child.kill("SIGKILL");
            } catch { /* gone */ }
            r(null);
          }, 5000));
        }),
      ])
    ));
    timers.forEach(clearTimeout);
    await Promise.all(nodes.map((n) => n.child.status));
  };
  try {
    for (let i = 0; i < o.nodes; i++) {
      const node = await spawnDevnetNode(o, i);
      nodes.push(node);
      // The seed must listen before the others dial it.
      if (i === 0) await waitReady(node.url, node.child);
    }
    await Promise.all(nodes.slice(1).map((n) => waitReady(n.url, n.child)));
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, stop };
}

/** Registers `devnet`: a local network of node processes. */
export function registerDevnetCommand(program: Command): void {
  program.command("devnet")
    .description("start N dev-network nodes on 127.0.0.1, wired by seeds; Ctrl-C stops them all")
    .option("--nodes <n>", "number of nodes", (v) => Number(v), 3)
    .option(
      "--base-port <port>",
      "port of the first node (node i uses base + i)",
      (v) => Number(v),
      8800,
    )
    .option("--mine-nodes <m>", "how many nodes mine (the first m)", (v) => Number(v), 1)
    .option(
      "--compute-nodes <c>",
      "how many nodes also take jobs, with the generated tiny model (the first c)",
      (v) => Number(v),
      1,
    )
    .option("--data-dir <dir>", "directory for the nodes' data", "./.camelid/devnet")
    .option("--peers-config <file>", "peer configuration file passed to every node")
    .action(async (opts) => {
      const devnet = await startDevnet({
        nodes: opts.nodes,
        basePort: opts.basePort,
        mineNodes: opts.mineNodes,
        computeNodes: opts.computeNodes,
        dataDir: opts.dataDir,
        peersConfig: opts.peersConfig,
      });
      console.log(
        `devnet: ${devnet.nodes.length} nodes on the dev network (logs in <data-dir>/node.log)`,
      );
      for (const n of devnet.nodes) {
        console.log(
          `  node ${n.index}  ${n.url}  ${n.mining ? "mining " : "relaying"}${
            n.index < opts.computeNodes ? " + compute" : ""
          }  ${n.url}/v1/status  ${n.url}/v1/peers`,
        );
      }
      console.log("Press Ctrl-C to stop them all.");
      let stopping = false;
      const shutdown = async () => {
        if (stopping) return;
        stopping = true;
        console.log("devnet: stopping...");
        await devnet.stop();
        console.log("devnet: stopped");
        Deno.exit(0);
      };
      Deno.addSignalListener("SIGINT", shutdown);
      Deno.addSignalListener("SIGTERM", shutdown);
      // If a node dies on its own, say so.
      for (const n of devnet.nodes) {
        n.child.status.then((s) => {
          if (!stopping) {
            log.warn("node {i} exited with code {code}", { i: n.index, code: s.code });
            console.error(
              `devnet: node ${n.index} exited (code ${s.code}); see ${n.dataDir}/node.log`,
            );
          }
        });
      }
    });
}
