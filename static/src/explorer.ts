/**
 * @module The explorer views: the node's status with the latest blocks arriving live, the mempool,
 * the job pool and the peers; a block, a transaction, an address and a job, linked to each other.
 */

import { useEffect, useState } from "preact/hooks";
import { explain, getJson } from "./api.ts";
import { useJson } from "./fetch_hook.ts";
import { html, link, short, statusLine } from "./html.ts";
import { type Live } from "./live.ts";
import { formatCoins } from "../../chain/amount.ts";
import { JOB_STATES } from "../../client/job_states.ts";

/** A transaction as `/v1/blocks` and `/v1/txs` answer it. */
interface TxJson {
  txid: string;
  coinbase: boolean;
  inputs: { txid: string; vout: number }[];
  outputs: { n: number; value: string; address: string | null }[];
  jobId: string;
  height?: number | null;
  blockHash?: string | null;
  confirmations?: number;
}

/** A block as `/v1/blocks/:id` answers it. */
interface BlockJson {
  hash: string;
  height: number;
  confirmations: number;
  prevHash: string;
  merkleRoot: string;
  time: number;
  bits: string;
  nonce: number;
  size: number;
  txs: TxJson[];
}

const NO_JOB = "0".repeat(64);
const LATEST = 10;

function when(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function Failure({ error }: { error: unknown }) {
  return statusLine("error", explain(error), (error as { code?: string })?.code);
}

/** The latest blocks, fetched again when the tip moves (each height fetched once). */
function LatestBlocks({ tip, height }: { tip: string; height: number }) {
  const [blocks, setBlocks] = useState<Map<number, BlockJson>>(new Map());
  useEffect(() => {
    let live = true;
    (async () => {
      const next = new Map<number, BlockJson>();
      for (let h = height; h >= Math.max(0, height - LATEST + 1); h--) {
        const have = blocks.get(h);
        next.set(
          h,
          have && (h < height || have.hash === tip) ? have : await getJson(`/v1/blocks/${h}`),
        );
      }
      if (live) setBlocks(next);
    })().catch(() => {});
    return () => void (live = false);
  }, [tip]);
  return html`
    <section aria-labelledby="latest-h" id="latest-blocks">
      <h2 id="latest-h">Latest blocks <span class="muted">(live)</span></h2>
      <table>
        <thead>
          <tr>
            <th>Height</th>
            <th>Hash</th>
            <th class="wide">Time</th>
            <th>Txs</th>
          </tr>
        </thead>
        <tbody>${[...blocks.values()].map((b) =>
          html`
            <tr key=${b.hash} data-height=${b.height}>
              <td>${link("block", b.height)}</td>
              <td>${link("block", b.hash, short(b.hash))}</td>
              <td class="wide">${when(b.time)}</td>
              <td>${b.txs.length}</td>
            </tr>
          `
        )}</tbody>
      </table>
    </section>
  `;
}

/** `GET /v1/mempool` as the page reads it. */
interface MempoolJson {
  count: number;
  txs: { txid: string; size: number; fee: string; feeRate: number; time: number }[];
}

/** The mempool's transactions, newest first (fetched again when the tip or the pool changes). */
function MempoolList({ refresh }: { refresh: string }) {
  const pool = useJson<MempoolJson>(`/v1/mempool?limit=${LATEST * 2}`, refresh);
  const m = pool.data;
  return html`<section aria-labelledby="mempool-h" id="mempool"><h2 id="mempool-h">Mempool</h2>
    ${pool.error ? html`<${Failure} error=${pool.error} />` : null}
    ${
    !m ? null : m.txs.length === 0 ? html`<p class="muted">No unconfirmed transactions.</p>` : html`
      <table>
        <thead>
          <tr>
            <th>Transaction</th>
            <th>Fee</th>
            <th>Fee rate</th>
            <th class="wide">Size</th>
            <th class="wide">Entered</th>
          </tr>
        </thead>
        <tbody>${m.txs.map((t) =>
          html`
            <tr key=${t.txid} data-txid=${t.txid}>
              <td>${link("tx", t.txid, short(t.txid))}</td>
              <td>${t.fee} CML</td>
              <td>${t.feeRate.toFixed(2)} per byte</td>
              <td class="wide">${t.size} bytes</td>
              <td class="wide">${when(t.time / 1000)}</td>
            </tr>
          `
        )}</tbody>
      </table>
      ${m.count > m.txs.length
        ? html`<p class="muted">The newest ${m.txs.length} of ${m.count}.</p>`
        : null}
    `
  }</section>`;
}

/** The job pool: each job's public state. */
function JobPool({ refresh }: { refresh: string }) {
  const pool = useJson<{ jobs: { id: string; state: string; escrow: { value: string } | null }[] }>(
    "/v1/jobs",
    refresh,
  );
  const jobs = pool.data?.jobs ?? [];
  return html`<section aria-labelledby="pool-h" id="job-pool"><h2 id="pool-h">Job pool</h2>
    ${pool.error ? html`<${Failure} error=${pool.error} />` : null}
    ${
    jobs.length === 0 ? html`<p class="muted">No jobs seen yet.</p>` : html`
      <table>
        <thead>
          <tr>
            <th>Job</th>
            <th>State</th>
            <th>Reward</th>
          </tr>
        </thead>
        <tbody>${jobs.slice(-20).reverse().map((j) =>
          html`
            <tr key=${j.id}>
              <td>${link("job", j.id, short(j.id))}</td>
              <td>${j.state}</td>
              <td>${j.escrow ? `${j.escrow.value} CML` : "—"}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `
  }</section>`;
}

/** The peers: open links and the peer table. */
function Peers({ refresh }: { refresh: string }) {
  const peers = useJson<{
    self: { key: string | null; url: string };
    links: { key: string; url: string | null; height: number; userAgent: string }[];
    table: { url: string }[];
  }>("/v1/peers", refresh);
  const p = peers.data;
  return html`<section aria-labelledby="peers-h" id="peers"><h2 id="peers-h">Peers</h2>
    ${peers.error ? html`<${Failure} error=${peers.error} />` : null}
    ${
    p
      ? html`
        <p>This node: <span class="hash">${p.self.key ?? "starting"}</span></p>
        <table>
          <thead>
            <tr>
              <th>Peer</th>
              <th>Height</th>
              <th class="wide">Key</th>
            </tr>
          </thead>
          <tbody>${p.links.map((l) =>
            html`
              <tr key=${l.key}>
                <td>${l.url ?? "(inbound)"}</td>
                <td>${l.height}</td>
                <td class="wide hash">${short(l.key)}</td>
              </tr>
            `
          )}</tbody>
        </table>
        <p class="muted">${p.table.length} known address(es).</p>
      `
      : null
  }</section>`;
}

/** The explorer's front view. */
export function Home({ live }: { live: Live }) {
  const s = live.status;
  if (!s) {
    return live.error ? statusLine("error", explain({ code: live.error })) : html`<p>Loading…</p>`;
  }
  if (s.role === "relay") {
    return html`
      <section>
        <h2>Relay</h2>
        <p>This is a relay without a chain (network ${s.network}).
            The explorer and the wallet need a full node.</p>
      </section>
    `;
  }
  const refresh = s.tip;
  return html`
    <section aria-labelledby="status-h" id="node-status">
      <h2 id="status-h">Status</h2>
      <table>
        <tbody>
          <tr>
            <th>Network</th>
            <td>${s.network} (version ${s.version})</td>
          </tr>
          <tr>
            <th>Height</th>
            <td data-testid="height">${s.height}</td>
          </tr>
          <tr>
            <th>Tip</th>
            <td>${link("block", s.tip)}</td>
          </tr>
          <tr>
            <th>Mempool</th>
            <td>${s.mempool?.size ?? 0} transaction(s), ${s.mempool?.bytes ??
              0} bytes; ${s.mempool?.orphans.count ??
              0} orphan(s); minimum fee rate ${s.mempool?.minFeeRate ?? 0} per byte</td>
          </tr>
          <tr>
            <th>Peers</th>
            <td>${s.peers?.links ?? 0} link(s), ${s.peers?.known ?? 0} known</td>
          </tr>
          <tr>
            <th>Mining</th>
            <td>${s.mining ? html`yes, to ${link("address", s.mining.address ?? "")}` : "no"}</td>
          </tr>
          <tr>
            <th>Compute</th>
            <td>${s.compute
              ? `serves ${s.compute.models.length} model(s), minimum reward ${
                formatCoins(BigInt(s.compute.minReward))
              } CML`
              : "no"}</td>
          </tr>
        </tbody>
      </table>
    </section>
    <${LatestBlocks} tip=${s.tip} height=${s.height} />
    <${MempoolList} refresh=${`${refresh}:${s.mempool?.size}:${s.mempool?.bytes}`} />
    <${JobPool} refresh=${refresh} />
    <${Peers} refresh=${refresh} />
  `;
}

function TxTable({ tx }: { tx: TxJson }) {
  return html`
    <table>
      <tbody>
        <tr><th>Txid</th><td>${link("tx", tx.txid)}</td></tr>
        ${tx.jobId !== NO_JOB
          ? html`
            <tr>
              <th>Job</th>
              <td>${link("job", tx.jobId)}</td>
            </tr>
          `
          : null}
        <tr><th>Inputs</th><td>${tx.coinbase
          ? "coinbase (new coins)"
          : html`<ul>${
            tx.inputs.map((i) =>
              html`<li key=${i.txid + i.vout}>${link("tx", i.txid, short(i.txid))}:${i.vout}</li>`
            )
          }</ul>`}</td></tr>
        <tr><th>Outputs</th><td><ul>${tx.outputs.map((o) =>
          html`<li key=${o.n}>#${o.n}: ${o.value} CML to ${
            o.address ? link("address", o.address) : "a script (job escrow, stake or data)"
          }</li>`
        )}</ul></td></tr>
      </tbody>
    </table>
  `;
}

/** One block with its transactions. */
export function BlockView({ id, refresh }: { id: string; refresh: string }) {
  const b = useJson<BlockJson>(`/v1/blocks/${id}`, refresh);
  if (b.error) return html`<${Failure} error=${b.error} />`;
  if (!b.data) return html`<p>Loading block…</p>`;
  const d = b.data;
  return html`<section id="block-view"><h2>Block ${d.height}</h2>
    <table><tbody>
      <tr><th>Hash</th><td class="hash">${d.hash}</td></tr>
      <tr><th>Previous</th><td>${
    d.height > 0 ? link("block", d.prevHash) : "none (genesis)"
  }</td></tr>
      <tr><th>Next</th><td>${
    d.confirmations > 1 ? link("block", d.height + 1) : "none yet"
  }</td></tr>
      <tr><th>Confirmations</th><td>${d.confirmations}</td></tr>
      <tr><th>Time</th><td>${when(d.time)}</td></tr>
      <tr><th>Size</th><td>${d.size} bytes; bits ${d.bits}, nonce ${d.nonce}</td></tr>
      <tr><th>Merkle root</th><td class="hash">${d.merkleRoot}</td></tr>
    </tbody></table>
    <h2>${d.txs.length} transaction(s)</h2>
    ${
    d.txs.map((tx) =>
      html`
        <div key=${tx.txid} class="tx">
          <${TxTable} tx=${tx} />
        </div>
      `
    )
  }
  </section>`;
}

/** One transaction. */
export function TxView({ id, refresh }: { id: string; refresh: string }) {
  const t = useJson<TxJson>(`/v1/txs/${id}`, refresh);
  if (t.error) return html`<${Failure} error=${t.error} />`;
  if (!t.data) return html`<p>Loading transaction…</p>`;
  const d = t.data;
  return html`
    <section id="tx-view">
      <h2>Transaction</h2>
      <p>${d.height === null || d.height === undefined
        ? "In the mempool (unconfirmed)."
        : html`In block ${link("block", d.height)} (${d.confirmations} confirmation(s)).`}</p>
      <${TxTable} tx=${d} />
    </section>
  `;
}

/** An address's coins and balance. */
export function AddressView({ id, refresh }: { id: string; refresh: string }) {
  const a = useJson<{
    balance: string;
    spendable: string;
    utxos: {
      txid: string;
      vout: number;
      value: string;
      height: number;
      mature: boolean;
      spentInMempool: string | null;
    }[];
    unconfirmed: { txid: string; vout: number; value: string }[];
  }>(`/v1/addresses/${id}`, refresh);
  if (a.error) return html`<${Failure} error=${a.error} />`;
  if (!a.data) return html`<p>Loading address…</p>`;
  const d = a.data;
  return html`
    <section id="address-view">
      <h2>Address <span class="hash">${id}</span></h2>
      <p>Balance ${d.balance} CML (confirmed); spendable ${d.spendable} CML.</p>
      <table>
        <thead>
          <tr>
            <th>Coin</th>
            <th>Value</th>
            <th>Height</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>${d.utxos.map((u) =>
          html`
            <tr key=${u.txid + u.vout}>
              <td>${link("tx", u.txid, short(u.txid))}:${u.vout}</td>
              <td>${u.value}</td>
              <td>${u.height}</td>
              <td>${u.spentInMempool
                ? "spent in the mempool"
                : u.mature
                ? "spendable"
                : "immature (coinbase)"}</td>
            </tr>
          `
        )}${d.unconfirmed.map((u) =>
          html`
            <tr key=${u.txid + u.vout}>
              <td>${link("tx", u.txid, short(u.txid))}:${u.vout}</td>
              <td>${u.value}</td>
              <td>—</td>
              <td>unconfirmed</td>
            </tr>
          `
        )}</tbody>
      </table>
    </section>
  `;
}

/** One job: its public state, history, escrow, stake and notices. */
export function JobView({ id, refresh }: { id: string; refresh: string }) {
  const j = useJson<{
    id: string;
    state: string;
    history: { state: string; at: number; height: number | null; txid?: string }[];
    escrow: { txid: string; vout: number; value: string } | null;
    stake: { txid: string; vout: number; value: string; height: number } | null;
    job:
      | { modelId: string; maxTokens: number; promptTokens: number[]; expiryHeight: number }
      | null;
    notices: { kind: string; txid: string; height: number }[];
  }>(`/v1/jobs/${id}`, refresh);
  if (j.error) return html`<${Failure} error=${j.error} />`;
  if (!j.data) return html`<p>Loading job…</p>`;
  const d = j.data;
  const means = (s: string) => (JOB_STATES as Record<string, { means: string }>)[s]?.means ?? "";
  return html`<section id="job-view"><h2>Job <span class="hash">${d.id}</span></h2>
    <p>State: <strong data-testid="job-state">${d.state}</strong> — ${means(d.state)}</p>
    ${
    d.job
      ? html`<p>Model <span class="hash">${d.job.modelId}</span>, ${d.job.promptTokens.length} prompt token(s), up to ${d.job.maxTokens} output token(s), expires at height ${d.job.expiryHeight}.</p>`
      : null
  }
    <p>Escrow: ${
    d.escrow
      ? html`${
        link("tx", d.escrow.txid, short(d.escrow.txid))
      }:${d.escrow.vout} (${d.escrow.value} CML)`
      : "not seen"
  };${" "}
      stake: ${
    d.stake
      ? html`${
        link("tx", d.stake.txid, short(d.stake.txid))
      }:${d.stake.vout} (${d.stake.value} CML)`
      : "none yet"
  }.</p>
    <h2>History</h2>
    <ol class="states">${
    d.history.map((h, i) =>
      html`<li key=${i}><strong>${h.state}</strong>${
        h.height === null ? " (not in a block)" : ` at height ${h.height}`
      }${h.txid ? [" in ", link("tx", h.txid, short(h.txid))] : null} — ${means(h.state)}</li>`
    )
  }</ol>
    ${
    d.notices.length
      ? html`
        <h2>Notices</h2>
        <ul>${d.notices.map((n) =>
          html`<li key=${n.txid}>${n.kind} in ${
            link("tx", n.txid, short(n.txid))
          } at height ${n.height}</li>`
        )}</ul>
      `
      : null
  }</section>`;
}
