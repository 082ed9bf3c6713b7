/**
 * @module The compute node's sprint options (`--sprint-threads`, `--sprint-rate`, `--no-sprint`) and
 * the duty they start beside the job worker (sprint_duty.ts).
 */

import type { Command } from "commander";
import { parseFloatOption, parseIntOption } from "../cli/sampler_options.ts";
import type { RunningNode } from "../relay/node.ts";
import type { SpendLock } from "./jobs/wallet_coins.ts";
import { SprintDuty } from "./sprint_duty.ts";

/** `--sprint-rate`: a positive number of nonces a second. */
function parseSprintRate(v: string): number {
  const rate = parseFloatOption("--sprint-rate", v);
  if (!(rate > 0)) throw new RangeError(`--sprint-rate must be positive, got ${v}`);
  return rate;
}

/** Adds the sprint options to a node command (their values are checked as they are parsed). */
export function addSprintOptions(cmd: Command): Command {
  return cmd
    .option(
      "--sprint-threads <n>",
      "compute nodes: threads proving each sprint (WASM kernel)",
      (v: string) => parseIntOption("--sprint-threads", v, 1, 256),
      1,
    )
    .option(
      "--sprint-rate <nonces/s>",
      "compute nodes: prove at most this many sprint nonces a second (a throttle for tests and devnets)",
      parseSprintRate,
    )
    .option("--no-sprint", "compute nodes: do not prove sprints (no compute weight)");
}

/**
 * Starts the sprint duty of a compute node unless `--no-sprint`: it proves with the wallet key
 * `secretKey`, spends under `spendLock` and pauses while `busy()`. Returns it, or null.
 */
export function startSprintDuty(
  node: RunningNode,
  opts: Record<string, unknown>,
  duty: { secretKey: Uint8Array; spendLock: SpendLock; busy: () => boolean },
): SprintDuty | null {
  if (opts.sprint === false) return null;
  const sprint = new SprintDuty({
    chain: node.chain,
    threads: opts.sprintThreads as number,
    rate: opts.sprintRate as number | undefined,
    ...duty,
  });
  sprint.start();
  node.addStatus("sprint", () => sprint.status());
  return sprint;
}
