/**
 * @module `main.ts devnet`: starts N `main.ts node` processes on 127.0.0.1 (dev network), wired by
 * seeds (every node seeds from the first), prints their URLs, and stops them all on Ctrl-C/SIGTERM.
 */

import type { Command } from "commander";
import { getLogger } from "@logtape/logtape";
import { CamelidError } from "../chain/errors.ts";

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
  /**
   * How many nodes (the last v, none of them compute nodes) answer outsourced verification requests
   * with the generated tiny model (default 0).
   */
  verifierNodes?: number;
  /** Extra environment for the node processes. */
  env?: Record<string, string>;
  /** Explicit ports, one per node (overrides basePort; tests use free ports). */
  ports?: number[];
}

/** Raised when a devnet cannot start: a port taken, a node that died or did not answer at start. */
export class DevnetError extends CamelidError {}

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
  /** Written when everything the process printed so far is in its `node.log`. */
  logged: Promise<void>;
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
  if (i >= o.nodes - (o.verifierNodes ?? 0)) args.push("--serve-verify");
  if (i > 0) args.push("--seed", `http://127.0.0.1:${portOf(o, 0)}`);
  if (o.peersConfig) args.push("--peers-config", o.peersConfig);
  return args;
}

/** True when nothing listens on `port` of 127.0.0.1 right now. */
export function isPortFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return false;
    throw e;
  }
}

/** `n` distinct ports of 127.0.0.1 that are free right now (the OS picks them). */
export function freeLoopbackPorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** The last line of a node's log that reports an error (the reason it stopped), or "". */
async function lastErrorLine(node: DevnetNode): Promise<string> {
  await node.logged;
  try {
    const lines = (await Deno.readTextFile(`${node.dataDir}/node.log`)).split("\n");
    return lines.findLast((l) => /^error\b|\[(ERR|FTL)\]/.test(l))?.trim() ?? "";
  } catch {
    return "";
  }
}

/**
 * Waits until `node` answers `/v1/status`, its relay started, while its process runs. A process that exits first, or a
 * node silent for `ms`, is a `DevnetError` (`devnet/node-exited`, `devnet/node-timeout`) that quotes
 * the error line of its log.
 */
async function waitReady(node: DevnetNode, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  let exit: Deno.CommandStatus | null = null;
  node.child.status.then((s) => exit = s);
  while (Date.now() < end && !exit) {
    try {
      const res = await fetch(`${node.url}/v1/status`);
      const body = await res.json().catch(() => null) as { relay?: string } | null;
      // Ready once the relay has started too: its key, links and gossip come with it.
      if (res.ok && body?.relay !== "starting") return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const reason = await lastErrorLine(node);
  const log = `${node.dataDir}/node.log`;
  if (exit) {
    throw new DevnetError(
      "devnet/node-exited",
      `node ${node.index} (${node.url}) exited at start with code ${
        (exit as Deno.CommandStatus).code
      }${reason ? `: ${reason}` : ""} (see ${log})`,
    );
  }
  throw new DevnetError(
    "devnet/node-timeout",
    `node ${node.index} (${node.url}) did not answer within ${ms / 1000} s (see ${log})`,
  );
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
  // Each chunk goes to the file as it arrives (one write at a time), so the log is readable live.
  let writes = Promise.resolve();
  const append = (chunk: Uint8Array) =>
    writes = writes.then(async () => {
      for (let done = 0; done < chunk.length;) done += await logFile.write(chunk.subarray(done));
    }).catch(() => {});
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) append(chunk);
  };
  const logged = Promise.all([pump(child.stdout), pump(child.stderr)])
    .then(() => writes)
    .finally(() => logFile.close());
  return {
    index: i,
    url: `http://127.0.0.1:${portOf(o, i)}`,
    mining: i < o.mineNodes,
    dataDir,
    child,
    logged,
  };
}

/** Waits until the node at `url` answers `/v1/status` with its relay started (fails if its process exits first). */
export async function waitNodeReady(node: DevnetNode, ms = 30_000): Promise<void> {
  await waitReady(node, ms);
}

/** Starts a devnet and waits until every node answers `/v1/status`. */
export async function startDevnet(o: DevnetOptions): Promise<Devnet> {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 64) {
    throw new RangeError(`--nodes must be between 1 and 64, got ${o.nodes}`);
  }
  if (!Number.isInteger(o.mineNodes) || o.mineNodes < 0 || o.mineNodes > o.nodes) {
    throw new RangeError(`--mine-nodes must be between 0 and --nodes, got ${o.mineNodes}`);
  }
  const verifiers = o.verifierNodes ?? 0;
  if (
    !Number.isInteger(verifiers) || verifiers < 0 || verifiers > o.nodes - (o.computeNodes ?? 0)
  ) {
    throw new RangeError(
      `--verifiers must be between 0 and the nodes that do not compute (${
        o.nodes - (o.computeNodes ?? 0)
      }), got ${verifiers}`,
    );
  }
  if (
    !o.ports && (!Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + o.nodes > 65535)
  ) {
    throw new RangeError(`--base-port out of range: ${o.basePort}`);
  }
  // A port someone else holds would answer /v1/status for a node that never started.
  const taken = Array.from({ length: o.nodes }, (_, i) => portOf(o, i)).filter((p) =>
    !isPortFree(p)
  );
  if (taken.length > 0) {
    throw new DevnetError(
      "devnet/port-in-use",
      `port${taken.length > 1 ? "s" : ""} ${
        taken.join(", ")
      } of 127.0.0.1 already in use (another devnet or node?); stop it, choose another --base-port, or omit --base-port to use free ports`,
    );
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
      if (i === 0) await waitReady(node);
    }
    await Promise.all(nodes.slice(1).map((n) => waitReady(n)));
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, stop };
}

/** First port of a devnet when `--base-port` is not given. */
export const DEFAULT_BASE_PORT = 8800;

/**
 * Ports of a devnet started without `--base-port`: 8800, 8801, ... when all are free, otherwise
 * (another devnet running, say) `n` free ports the OS picks; undefined for an impossible `n`.
 */
export function defaultPorts(n: number): number[] | undefined {
  if (!Number.isInteger(n) || n < 1 || n > 64) return undefined; // startDevnet explains
  const usual = Array.from({ length: n }, (_, i) => DEFAULT_BASE_PORT + i);
  return usual.every(isPortFree) ? usual : freeLoopbackPorts(n);
}

/** Registers `devnet`: a local network of node processes. */
export function registerDevnetCommand(program: Command): void {
  program.command("devnet")
    .description("start N dev-network nodes on 127.0.0.1, wired by seeds; Ctrl-C stops them all")
    .option("--nodes <n>", "number of nodes", (v) => Number(v), 3)
    .option(
      "--base-port <port>",
      "port of the first node (node i uses base + i); when not given and a default port is taken, free ports are used",
      (v) => Number(v),
      DEFAULT_BASE_PORT,
    )
    .option("--mine-nodes <m>", "how many nodes mine (the first m)", (v) => Number(v), 1)
    .option(
      "--compute-nodes <c>",
      "how many nodes also take jobs, with the generated tiny model (the first c)",
      (v) => Number(v),
      1,
    )
    .option(
      "--verifiers <v>",
      "how many nodes answer outsourced verification with the generated tiny model (the last v; default: every node that does not compute, when some do)",
      (v) => Number(v),
    )
    .option("--data-dir <dir>", "directory for the nodes' data", "./.camelid/devnet")
    .option("--peers-config <file>", "peer configuration file passed to every node")
    .action(async (opts, cmd: Command) => {
      const ports = cmd.getOptionValueSource("basePort") === "default"
        ? defaultPorts(opts.nodes)
        : undefined;
      // Verifiers check compute nodes' work: by default every node that does not compute, if any do.
      const verifierNodes: number = opts.verifiers ??
        (opts.computeNodes > 0 ? Math.max(0, opts.nodes - opts.computeNodes) : 0);
      const devnet = await startDevnet({
        nodes: opts.nodes,
        basePort: opts.basePort,
        ports,
        mineNodes: opts.mineNodes,
        computeNodes: opts.computeNodes,
        verifierNodes,
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
          }${
            n.index >= opts.nodes - verifierNodes ? " + verify" : ""
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
