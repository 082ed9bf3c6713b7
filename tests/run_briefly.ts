/** @module Test helper: a `main.ts` command that must end on its own (a hang is killed and fails). */

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** What a finished command left: exit code, the signal that killed it (null if none), stderr. */
export interface BriefRun {
  /** Exit code. */
  code: number;
  /** The signal that ended it (the timeout's SIGTERM when it hung), or null. */
  signal: Deno.Signal | null;
  /** Everything it printed on stdout. */
  stdout: string;
  /** Everything it printed on stderr. */
  stderr: string;
}

/** Runs `main.ts <args>` with `env` added to ours; a process still running after `ms` is killed. */
export async function runBriefly(
  args: string[],
  env: Record<string, string> = {},
  ms = 60_000,
): Promise<BriefRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(ms),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}
