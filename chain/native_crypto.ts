/**
 * @module The runtime's native `node:crypto` (OpenSSL in Node, Rust crypto in Deno), loaded once
 * where the runtime is Deno or Node; undefined elsewhere (browsers are never asked to fetch it).
 */

/** `node:crypto`, or undefined in runtimes without it. */
export const nodeCrypto: typeof import("node:crypto") | undefined = await loadNodeCrypto();

async function loadNodeCrypto(): Promise<typeof import("node:crypto") | undefined> {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: unknown } } };
  if (g.Deno === undefined && typeof g.process?.versions?.node !== "string") return undefined;
  try {
    return await import("node:crypto");
  } catch {
    return undefined;
  }
}
