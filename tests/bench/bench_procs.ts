/** @module What the devnet bench scripts share: the load average as printed, and their processes killed when the script ends. */

import type { NodeProcess } from "../process_helpers.ts";

/** The 1, 5 and 15 minute load averages, two decimals each. */
export const loadavg = (): string => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

/** The list of started node processes, each killed (SIGKILL) when the script unloads. */
export function killedOnUnload(): NodeProcess[] {
  const procs: NodeProcess[] = [];
  globalThis.addEventListener("unload", () => {
    for (const p of procs) {
      try {
        p.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  });
  return procs;
}
