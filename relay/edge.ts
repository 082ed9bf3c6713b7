/**
 * @module Edge entry: a chain-less relay for `deno serve` on an edge host. No FFI, no file access:
 * KV comes from `Deno.openKv()` with no path (the host's KV). Optional settings come from the
 * environment when the host grants it: `CAMELID_NETWORK` (default dev), `CAMELID_SEEDS`
 * (comma-separated URLs), `CAMELID_ADVERTISE_URL`.
 *
 * Run: `deno serve --unstable-kv --deny-ffi --deny-read --deny-write --allow-net relay/edge.ts`
 */

import { createRelayApp } from "./network.ts";
import { staticRoutes } from "./routes/static.ts";

function env(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

const kv = await Deno.openKv();
const { app, network } = createRelayApp({
  kv,
  network: env("CAMELID_NETWORK") ?? "dev",
  seeds: (env("CAMELID_SEEDS") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  advertiseUrl: env("CAMELID_ADVERTISE_URL"),
});
app.route("/", staticRoutes()); // the web page at `/` (static/)
await network.start();

/** The `deno serve` handler. */
export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;

// `deno serve` stops serving on SIGTERM/SIGINT, but the relay's timers would keep the process
// alive: stop the relay and exit. (Hosts without signals skip this.)
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  try {
    Deno.addSignalListener(sig, () => {
      network.stop().finally(() => {
        kv.close();
        Deno.exit(0);
      });
    });
  } catch {
    // no signal support on this host
  }
}
