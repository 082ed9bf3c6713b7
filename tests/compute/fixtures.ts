/** @module Test helper: fixture model files written once per test process into a temp dir. */

import { type FixtureOptions, makeFixture } from "../../compute/fixture.ts";

const dir = Deno.makeTempDirSync({ prefix: "camelid-compute-" });
const cache = new Map<string, string>();

/** Path of a fixture model file for `opts` (made on first use, then reused). */
export function fixtureFile(opts: FixtureOptions): string {
  const key = JSON.stringify(opts, (_k, v) => typeof v === "bigint" ? v.toString() : v);
  let path = cache.get(key);
  if (!path) {
    path = `${dir}/fixture-${cache.size}.gguf`;
    Deno.writeFileSync(path, makeFixture(opts));
    cache.set(key, path);
  }
  return path;
}

/** Writes `bytes` to a fresh file in the temp dir and returns its path. */
export function tempFile(name: string, bytes: Uint8Array): string {
  const path = `${dir}/${name}`;
  Deno.writeFileSync(path, bytes);
  return path;
}

/** The temp dir of this test process. */
export const TEMP_DIR: string = dir;

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // already gone
  }
});
