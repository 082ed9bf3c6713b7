/** @module Test helpers that run real `main.ts` processes (nodes, CLI commands) on loopback. */

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A node process started by {@link spawnNode}. */
export interface NodeProcess {
  /** Base URL of its HTTP API. */
  url: string;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Sends SIGTERM (or `signal`) and waits for exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * The arguments of a node that does not mine, keeps its data in `dataDir`, joins the network at
 * `seedUrl` and serves `model`; `extra` follow.
 */
export function followerArgs(
  dataDir: string,
  seedUrl: string,
  model: string,
  ...extra: string[]
): string[] {
  return ["--data-dir", dataDir, "--no-mine", "--seed", seedUrl, "--model", model, ...extra];
}

/**
 * Starts `main.ts node` (or another node `command`, e.g. `compute`) with `args` (add `--data-dir`,
 * `--no-mine`, ...) on a free port.
 */
export async function spawnNode(
  args: string[],
  env: Record<string, string> = {},
  command = "node",
): Promise<NodeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, command, "--port", "0", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { CAMELID_PASSPHRASE: "", ...env },
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  let resolveUrl: (u: string) => void;
  const urlPromise = new Promise<string>((r) => (resolveUrl = r));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const m = text.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolveUrl(m[1]);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const timeout = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`node did not start:\n${text}`)), 30_000);
    child.status.then(() => {
      clearTimeout(t);
      reject(new Error(`node exited before listening:\n${text}`));
    });
    urlPromise.then(() => clearTimeout(t));
  });
  const url = await Promise.race([urlPromise, timeout]);
  let stopped: Promise<Deno.CommandStatus> | null = null;
  return {
    url,
    child,
    output: () => text,
    stop: (signal: Deno.Signal = "SIGTERM") => {
      if (!stopped) {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        stopped = child.status.then(async (s) => {
          await pumps;
          return s;
        });
      }
      return stopped;
    },
  };
}

/** Runs `main.ts <args>` to completion (in `cwd` when given). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Runs `wallet send` of `amount` coins to `to` from the keystore `wallet` (with its passphrase). */
export function walletSend(
  wallet: string,
  to: string,
  amount: string,
  node: string,
  passphrase: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli([
    "wallet",
    "send",
    "--wallet",
    wallet,
    "--to",
    to,
    "--amount",
    amount,
    "--node",
    node,
  ], { CAMELID_PASSPHRASE: passphrase });
}

/** GETs JSON from a node. */
export async function getJson<T = Record<string, unknown>>(
  url: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** Polls `check` every 200 ms until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
