/** @module A `main.ts devnet` child process for the job tests: start it, read its node URLs, stop it. */
import { getJson, waitFor } from "../process_helpers.ts";

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
