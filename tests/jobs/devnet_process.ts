/** @module A `main.ts devnet` child process for the job tests: start it, read its node URLs, stop it. */
import { getJson, waitFor } from "../process_helpers.ts";
import { sendCoins, waitBalance } from "./funding_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A running devnet process. */
export interface RunningDevnet {
  /** Node URLs, node 0 first. */
  urls: string[];
  /** Its data directory (node i in `node-i/`). */
  dataDir: string;
  /** Stops it (SIGTERM) and waits for its output to end. */
  stop(): Promise<void>;
  /** Everything it printed so far. */
  output(): string;
}

/** Starts `main.ts devnet --data-dir dataDir ...args` and waits until it says it is ready. */
export async function startDevnetProcess(dataDir: string, args: string[]): Promise<RunningDevnet> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "devnet", ...args, "--data-dir", dataDir],
    stdout: "piped",
    stderr: "piped",
    env: { CAMELID_PASSPHRASE: "" },
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  child.status.then(() => (exited = true));
  await waitFor("the devnet", () => {
    if (exited) throw new Error(`devnet exited:\n${text}`);
    return Promise.resolve(text.includes("Press Ctrl-C"));
  }, 60_000);
  const urls = [...text.matchAll(/node \d+ {2}(http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]);
  return {
    urls,
    dataDir,
    output: () => text,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await pumps;
    },
  };
}

/** Prints the last lines of each node's log (on a failure). */
export async function dumpNodeLogs(dataDir: string, nodes: number): Promise<void> {
  for (let i = 0; i < nodes; i++) {
    const log = await Deno.readTextFile(`${dataDir}/node-${i}/node.log`).catch(() => "");
    console.error(
      `--- node ${i} ---\n${
        log.split("\n").filter((l) => !/Block \d+|is committed|is settled/.test(l)).slice(-60)
          .join("\n")
      }`,
    );
  }
}

/** Waits until the compute node at `url` can stake (3 coins spendable at its reward address). */
export async function waitStakeable(url: string): Promise<void> {
  await waitFor("the compute node able to stake", async () => {
    const s = await getJson<{ compute?: { rewardAddress: string } }>(`${url}/v1/status`);
    if (!s.body.compute) return false;
    const a = await getJson<{ spendableUnits: string }>(
      `${url}/v1/addresses/${s.body.compute.rewardAddress}`,
    );
    return BigInt(a.body.spendableUnits ?? "0") >= 3n * 100_000_000n;
  }, 90_000);
}

/**
 * Runs `fn` on a devnet of `nodes` nodes (`main.ts devnet --nodes N ...args`) in a fresh temporary
 * directory (`dir`; the devnet's data in `dir/devnet`, prepared by `prepare` before it starts); on a
 * failure prints the nodes' logs; always stops it and removes the directory.
 */
export async function withDevnet(
  nodes: number,
  args: string[],
  fn: (net: RunningDevnet, dir: string) => Promise<void>,
  prepare?: (devnetDir: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-devnet-" });
  const devnetDir = `${dir}/devnet`;
  try {
    await prepare?.(devnetDir, dir);
    const net = await startDevnetProcess(devnetDir, ["--nodes", String(nodes), ...args]);
    try {
      await fn(net, dir);
    } catch (e) {
      await dumpNodeLogs(devnetDir, nodes);
      throw e;
    } finally {
      await net.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Readies a devnet whose node 0 computes for jobs: waits until node 0 can stake, sends `coins` to
 * each of `addresses` from node 0's wallet (confirmed), and returns the id of the one model node 0
 * serves.
 */
export async function readyForJobs(
  net: RunningDevnet,
  addresses: string[],
  coins: string,
): Promise<string> {
  const [url] = net.urls;
  await waitStakeable(url);
  for (const address of addresses) {
    await sendCoins(`${net.dataDir}/node-0/wallet.json`, url, address, coins);
    await waitBalance(url, address, coins);
  }
  const models = (await getJson<{ models: { id: string }[] }>(`${url}/v1/models`)).body.models;
  if (models.length !== 1) throw new Error(`node 0 serves ${models.length} models, not 1`);
  return models[0].id;
}
