/** @module Debian's Chromium as the browser tests launch it: its path and headless flags. */

/** The Chromium binary (`CHROMIUM_PATH`, else Debian's). */
export const CHROMIUM: string = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Headless, sandbox-free, quiet (no background traffic) launch flags. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
