/**
 * @module The page tests' browser: Debian's Chromium driven by playwright-core (headless,
 * `--no-sandbox`), one context whose every request and console error is recorded, and numbered
 * screenshots of each page state under `tests/page/artifacts/` (git-ignored).
 */

import { CHROMIUM, CHROMIUM_ARGS } from "../chromium.ts";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Where the screenshots go. */
export const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;

/** A browser with one context and one page, and what the page did. */
export interface PageSession {
  /** The browser. */
  browser: Browser;
  /** The one context. */
  context: BrowserContext;
  /** The page. */
  page: Page;
  /** Every URL the page requested, in order. */
  requests: { url: string; type: string }[];
  /** Console errors (with the URL they name) and uncaught page errors. */
  errors: string[];
  /** Every answer with an HTTP error status, with the node's error code. */
  failures: { method: string; url: string; status: number; code: string | null }[];
  /** Saves a screenshot of the current state as `NN-name.png`; returns its path. */
  shot(name: string): Promise<string>;
  /** Closes the browser. */
  close(): Promise<void>;
}

/** Launches Chromium (never skips: a missing Chromium is an error naming the fix). */
export async function openPageSession(width = 1100): Promise<PageSession> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) ` +
        "or set CHROMIUM_PATH; this test never skips",
    );
  }
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    acceptDownloads: true,
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  const requests: PageSession["requests"] = [];
  const errors: string[] = [];
  const failures: PageSession["failures"] = [];
  context.on("response", async (r) => {
    if (r.status() < 400) return;
    const body = await r.json().catch(() => null) as { error?: { code?: string } } | null;
    failures.push({
      method: r.request().method(),
      url: r.url(),
      status: r.status(),
      code: body?.error?.code ?? null,
    });
  });
  context.on("request", (r) => void requests.push({ url: r.url(), type: r.resourceType() }));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()} at ${m.location().url}`);
  });
  page.on("pageerror", (e) => void errors.push(`page: ${e.message}`));
  let n = 0;
  return {
    browser,
    context,
    page,
    requests,
    errors,
    failures,
    shot: async (name) => {
      const path = `${ARTIFACTS}${String(++n).padStart(2, "0")}-${name}.png`;
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}
