/** @module The page's view helpers: htm bound to preact's `h`, and small shared components. */

import { h, type VNode } from "preact";
import htmModule from "htm";

/** htm's one function, typed for preact (its package types it as a CommonJS default). */
type Htm = {
  bind(h: (type: never, props: never, ...children: never[]) => VNode): (
    strings: TemplateStringsArray,
    ...values: unknown[]
  ) => VNode;
};

/** Tagged template for preact elements (no build-time JSX). */
export const html = (htmModule as unknown as Htm).bind(h as never);

/** A link to an explorer view of `kind` for `id`. */
export function link(kind: "block" | "tx" | "address" | "job", id: string | number, text?: string) {
  return html`<a class="hash" href=${`#/${kind}/${id}`}>${text ?? String(id)}</a>`;
}

/** A status line: `kind` error / ok / info; the kind is also written as a word (no colour needed). */
export function statusLine(kind: "error" | "ok" | "info", text: string, code?: string) {
  return html`<p class=${`status ${kind}`} role=${
    kind === "error" ? "alert" : "status"
  } data-code=${code ?? ""}>${text}</p>`;
}

/** Shortens a hash for tables (the full value is in the link target and the title). */
export function short(hash: string): string {
  return hash.length > 20 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}
