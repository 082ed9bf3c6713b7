/**
 * @module The three-compute-node network the page and gateway tests run against: node 0 serves
 * the chat model, node 1 serves it too and verifies for others, node 2 serves another model and
 * changes a token of every answer (`--cheat change-token`). Sprint proving is off, so every verifier
 * votes (no compute weights in force: client/outsourced.ts).
 */

import { type NodeProcess, spawnNode } from "./process_helpers.ts";

/**
 * Spawns the three nodes under `dir` (data dirs `n0`..`n2`) into `nodes`, in that order; what
 * started is in `nodes` even when another one fails, so that the caller stops it.
 */
export async function spawnCheaterNet(
  dir: string,
  models: { chat: string; other: string },
  nodes: NodeProcess[],
): Promise<void> {
  const common = ["--threads", "1", "--stake", "0.5", "--no-sprint"];
  const compute = (i: number, model: string, extra: string[] = []) =>
    spawnNode(["--data-dir", `${dir}/n${i}`, "--model", model, ...extra, ...common], {}, "compute");
  nodes.push(await compute(0, models.chat));
  const seed = ["--seed", nodes[0].url];
  const rest = await Promise.allSettled([
    compute(1, models.chat, ["--serve-verify", ...seed]),
    compute(2, models.other, ["--cheat", "change-token", ...seed]),
  ]);
  for (const r of rest) if (r.status === "fulfilled") nodes.push(r.value);
  for (const r of rest) if (r.status === "rejected") throw r.reason;
}
