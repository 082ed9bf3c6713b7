/**
 * @module The page's calls to its own node (same origin): JSON GETs that turn a network failure into
 * `page/node-unreachable` and an error body into its node code, so views decide on codes.
 */

import { CamelidError } from "../../chain/errors.ts";

/** An error the page shows: the node's code, or `page/...`. */
export class PageError extends CamelidError {}

/** The node serving this page. */
export const origin: string = globalThis.location?.origin ?? "http://127.0.0.1:8787";

/** GET `path` on this node as JSON; throws {@link PageError} with the node's code. */
export async function getJson<T>(path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${origin}${path}`);
  } catch (e) {
    throw new PageError("page/node-unreachable", `the node at ${origin} does not answer`, {
      cause: e,
    });
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new PageError(err?.code ?? `http/${res.status}`, err?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

/** The code of any thrown value (`page/unknown` when it has none). */
export function codeOf(e: unknown): string {
  if (e instanceof CamelidError) return e.code;
  if (e instanceof TypeError && /fetch/i.test(String(e.message))) return "page/node-unreachable";
  return (e as { code?: string })?.code ?? "page/unknown";
}

/** Plain-words explanations of the codes a user meets, by code. */
const EXPLAINED: Record<string, string> = {
  "page/node-unreachable": "The node does not answer: is it running? The page retries by itself.",
  "keystore/bad-passphrase": "Wrong passphrase: the wallet did not unlock. Nothing was sent.",
  "wallet/insufficient-funds": "Insufficient funds: the spendable balance is below amount + fee.",
  "job/no-node": "No compute node serves this model. Nothing was paid.",
  "job/reward-too-low":
    "Every compute node serving the model asks a higher reward. Nothing was paid.",
  "job/context-too-long": "Prompt plus max tokens exceed the model's context. Nothing was paid.",
  "job/expires-too-soon":
    "The escrow would expire before a compute node could finish and be paid. Nothing was paid.",
  "job/declined": "The compute nodes declined the job (their reasons are listed).",
};

/** A user-facing sentence for an error: its explanation by code, then the node's own words. */
export function explain(e: unknown): string {
  const code = codeOf(e);
  const said = (e as { message?: unknown } | null)?.message;
  const detail = typeof said === "string" && said ? `${code}: ${said}` : code;
  const known = EXPLAINED[code];
  return known ? `${known} (${detail})` : detail;
}
