/**
 * @module The node's web page: explorer, wallet and jobs in one page served by the node itself
 * (every asset from its origin). Routes are URL fragments (`#/block/ID`, `#/tx/ID`, `#/address/A`,
 * `#/job/ID`, `#/wallet`, `#/jobs`), so links work without the server knowing them.
 */

import { render } from "preact";
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { decodeAddress } from "../../chain/keys.ts";
import { explain, getJson } from "./api.ts";
import { AddressView, BlockView, Home, JobView, TxView } from "./explorer.ts";
import { html, statusLine } from "./html.ts";
import { type Live, useLive } from "./live.ts";

// The wallet and jobs views (with the signing, job and verifier code) load when first opened.
const loadWallet = () => import("./wallet.ts").then((m) => m.WalletView);
const loadJobs = () => import("./jobs.ts").then((m) => m.JobsView);

/** A view whose code loads on first use; says so while loading and if the node does not answer. */
function Lazy<P>({ load, props }: { load: () => Promise<ComponentType<P>>; props: P }) {
  const [view, setView] = useState<{ C: ComponentType<P> } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    load().then((C) => setView({ C }), (e) => setError(e));
  }, [load]);
  if (view) return html`<${view.C} ...${props} />`;
  if (error) {
    return statusLine("error", explain({ code: "page/node-unreachable" }), "page/node-unreachable");
  }
  return html`<p>Loading this view from the node…</p>`;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

/** Where a search term leads: a height, a block / tx / job hash (asked in that order), an address. */
async function searchTarget(term: string): Promise<string | null> {
  const t = term.trim();
  if (/^\d+$/.test(t)) return `#/block/${t}`;
  if (/^[0-9a-fA-F]{64}$/.test(t)) {
    const id = t.toLowerCase();
    for (const [kind, path] of [["block", "blocks"], ["tx", "txs"], ["job", "jobs"]]) {
      if (await getJson(`/v1/${path}/${id}`).then(() => true, () => false)) {
        return `#/${kind}/${id}`;
      }
    }
    return null;
  }
  try {
    decodeAddress(t);
    return `#/address/${t}`;
  } catch {
    return null;
  }
}

function Search() {
  const [miss, setMiss] = useState<string | null>(null);
  const go = async (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem("q") as HTMLInputElement;
    const target = await searchTarget(input.value);
    setMiss(target ? null : input.value);
    if (target) location.hash = target;
  };
  return html`
    <form class="search" role="search" onSubmit=${go}>
      <label class="skip" for="q">Search</label>
      <input id="q" name="q" placeholder="height, block hash, txid, address or job id"
        aria-label="Search the chain" />
      <button type="submit">Search</button>
    </form>${miss ? statusLine("error", `Nothing found for “${miss}”.`, "page/not-found") : null}
  `;
}

function App() {
  const hash = useHash();
  const live = useLive();
  const [, view = "", id = ""] = hash.match(/^#\/([a-z]+)\/?(.*)$/) ?? [];
  const refresh = live.status?.tip ?? "";
  const nav = (href: string, text: string, on: boolean) =>
    html`<a href=${href} aria-current=${on ? "page" : undefined}>${text}</a>`;
  let body;
  if (view === "block") body = html`<${BlockView} id=${id} refresh=${refresh} />`;
  else if (view === "tx") body = html`<${TxView} id=${id} refresh=${refresh} />`;
  else if (view === "address") body = html`<${AddressView} id=${id} refresh=${refresh} />`;
  else if (view === "job") body = html`<${JobView} id=${id} refresh=${refresh} />`;
  else if (view === "wallet") {
    body = html`<${Lazy} load=${loadWallet} props=${{ refresh }} />`;
  } else if (view === "jobs") {
    body = html`<${Lazy} load=${loadJobs} props=${{ live } as { live: Live }} />`;
  } else body = html`<${Home} live=${live} />`;
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <h1>CamelidCoin</h1>
      <nav aria-label="Sections">${nav("#/", "Explorer", !view)}${nav(
        "#/wallet",
        "Wallet",
        view === "wallet",
      )}${nav("#/jobs", "Jobs", view === "jobs")}</nav>
      <span data-testid="tip">${live.status
        ? `${live.status.network}, height ${live.status.height ?? "—"}`
        : "connecting…"}</span>
      <${Search} />
    </header>
    <main id="main" tabindex="-1">
          ${live.error ? statusLine("error", explain({ code: live.error }), live.error) : null}
          ${body}
        </main>
  `;
}

const root = document.getElementById("app")!;
root.textContent = ""; // the "Loading" line of index.html
render(html`<${App} />`, root);
