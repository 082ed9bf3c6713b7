/**
 * @module The wallet view: create or import a keystore (the CLI's format: scrypt + AES-256-GCM, so a
 * file moves between the CLI and the page), kept in IndexedDB; the address with a copy button; the
 * balance (spendable, immature, unconfirmed); sending with a fee, signed here after asking the
 * passphrase. The secret key never leaves the page.
 */

import { useState } from "preact/hooks";
import { formatCoins, parseCoins } from "../../chain/amount.ts";
import { decodeAddress } from "../../chain/keys.ts";
import { createKeystore, type KeystoreFile, parseKeystore } from "../../chain/keystore.ts";
import { buildPayment } from "../../chain/wallet.ts";
import { explain } from "./api.ts";
import { node } from "./node_client.ts";
import { useJson } from "./fetch_hook.ts";
import { html, link, statusLine } from "./html.ts";
import { deleteKeystore, saveKeystore } from "./store.ts";
import { setKeystore, unlock, useKeystore } from "./wallet_state.ts";

type Note = { kind: "error" | "ok" | "info"; text: string; code?: string } | null;

function noteOf(e: unknown): Note {
  return { kind: "error", text: explain(e), code: (e as { code?: string })?.code };
}

function show(n: Note) {
  return n ? statusLine(n.kind, n.text, n.code) : null;
}

/** Reads the value of a named field of the submitted form. */
function field(e: Event, name: string): string {
  const form = e.currentTarget as HTMLFormElement;
  return (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? "";
}

function CreateOrImport() {
  const [note, setNote] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  const adopt = async (ks: KeystoreFile, said: string) => {
    await saveKeystore(ks);
    setKeystore(ks);
    setNote({ kind: "ok", text: said });
  };
  const create = async (e: Event) => {
    e.preventDefault();
    const pass = field(e, "passphrase");
    if (pass !== field(e, "confirm")) {
      return setNote({
        kind: "error",
        text: "The two passphrases differ.",
        code: "page/passphrase-mismatch",
      });
    }
    setBusy(true);
    setNote({ kind: "info", text: "Creating the key and sealing it with your passphrase…" });
    try {
      await adopt(await createKeystore(pass), "Wallet created and kept in this browser.");
    } catch (err) {
      setNote(noteOf(err));
    } finally {
      setBusy(false);
    }
  };
  const importFile = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const file = (form.elements.namedItem("file") as HTMLInputElement).files?.[0];
    const text = file ? await file.text() : field(e, "json");
    try {
      await adopt(
        parseKeystore(JSON.parse(text)),
        "Wallet imported; its passphrase is asked when it signs.",
      );
    } catch (err) {
      setNote(
        err instanceof SyntaxError
          ? {
            kind: "error",
            text: "That is not a keystore file (not JSON).",
            code: "keystore/malformed",
          }
          : noteOf(err),
      );
    }
  };
  return html`
    <section id="wallet-new">
      <h2>Create a wallet</h2>
      <form onSubmit=${create}>
        <label>Passphrase <span class="hint">seals the key in this browser; asked each time you sign</span>
            <input name="passphrase" type="password" autocomplete="new-password" required /></label>
        <label>Passphrase again <input name="confirm" type="password" autocomplete="new-password" required /></label>
        <button type="submit" disabled=${busy}>Create wallet</button>
      </form>
    </section>
        <section id="wallet-import">
      <h2>Import a wallet</h2>
      <form onSubmit=${importFile}>
        <label>Keystore file <span class="hint">a wallet.json from the CLI or exported from a page</span>
            <input name="file" type="file" accept=".json,application/json" /></label>
        <label>or paste its JSON <textarea name="json"></textarea></label>
        <button type="submit">Import wallet</button>
      </form>
    </section>${show(note)}
  `;
}

function sum(values: string[]): bigint {
  return values.reduce((s, v) => s + BigInt(v), 0n);
}

function Balance({ address, refresh }: { address: string; refresh: string }) {
  const a = useJson<{
    balance: string;
    spendable: string;
    utxos: { units: string; mature: boolean }[];
    unconfirmed: { units: string }[];
  }>(`/v1/addresses/${address}`, refresh);
  if (a.error) return statusLine("error", explain(a.error));
  if (!a.data) return html`<p>Loading balance…</p>`;
  const immature = sum(a.data.utxos.filter((u) => !u.mature).map((u) => u.units));
  const pending = sum(a.data.unconfirmed.map((u) => u.units));
  return html`
    <table id="balance">
      <tbody>
        <tr>
          <th>Spendable</th>
          <td data-testid="spendable">${a.data.spendable} CML</td>
        </tr>
        <tr>
          <th>Immature</th>
          <td
            data-testid="immature">${formatCoins(
              immature,
            )} CML <span class="muted">(new coins, spendable after maturity)</span></td>
        </tr>
        <tr>
          <th>Unconfirmed</th>
          <td
            data-testid="unconfirmed">${formatCoins(
              pending,
            )} CML <span class="muted">(incoming, not yet in a block)</span></td>
        </tr>
        <tr>
          <th>Confirmed balance</th>
          <td>${a.data.balance} CML</td>
        </tr>
      </tbody>
    </table>
  `;
}

function Send({ ks }: { ks: KeystoreFile }) {
  const [note, setNote] = useState<Note>(null);
  const [txid, setTxid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setTxid(null);
    setBusy(true);
    try {
      const to = field(e, "to").trim();
      decodeAddress(to);
      const amount = parseCoins(field(e, "amount").trim());
      const fee = parseCoins(field(e, "fee").trim());
      setNote({ kind: "info", text: "Unlocking the wallet and signing…" });
      const secretKey = await unlock(ks, field(e, "passphrase"));
      const utxos = await node.spendableCoins(ks.address);
      const { bytes } = buildPayment({ utxos, secretKey, to, amount, fee });
      secretKey.fill(0);
      const res = await node.sendTx(bytes);
      setTxid(res.txid);
      setNote({ kind: "ok", text: `Sent ${formatCoins(amount)} CML (fee ${formatCoins(fee)}).` });
      (form.elements.namedItem("passphrase") as HTMLInputElement).value = "";
    } catch (err) {
      setNote(noteOf(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<section id="wallet-send"><h2>Send coins</h2>
    <form onSubmit=${send}>
      <label>To address <input name="to" required autocomplete="off" /></label>
      <div class="row">
        <label>Amount (CML) <input name="amount" inputmode="decimal" required /></label>
        <label>Fee (CML) <input name="fee" inputmode="decimal" value="0.0001" required /></label>
      </div>
      <label>Passphrase <span class="hint">unlocks the key for this signature only</span>
        <input name="passphrase" type="password" autocomplete="current-password" /></label>
      <button type="submit" disabled=${busy}>Sign and send</button>
    </form>${show(note)}${txid ? html`<p>Transaction ${link("tx", txid)}</p>` : null}</section>`;
}

function Exporter({ ks }: { ks: KeystoreFile }) {
  const [removing, setRemoving] = useState(false);
  const href = `data:application/json,${encodeURIComponent(JSON.stringify(ks, null, 2))}`;
  const remove = async () => {
    await deleteKeystore();
    setKeystore(null);
  };
  return html`<section id="wallet-file"><h2>Wallet file</h2>
    <p>The file holds the key sealed with your passphrase (the CLI's format: use it with${" "}
      <code>--wallet wallet.json</code>).</p>
    <p class="row"><a id="export-wallet" download="wallet.json" href=${href}>Export wallet.json</a>
    ${
    removing
      ? html`
        <button class="secondary" id="remove-confirm"
          onClick=${remove}>Yes, remove it from this browser</button>
      `
      : html`<button class="secondary" id="remove-wallet" onClick=${() =>
        setRemoving(true)}>Remove from this browser…</button>`
  }</p>
    ${
    removing
      ? statusLine("info", "Without its file (or a copy), the coins of this wallet are lost.")
      : null
  }
  </section>`;
}

/** The wallet view. */
export function WalletView({ refresh }: { refresh: string }) {
  const ks = useKeystore();
  const [copied, setCopied] = useState(false);
  if (ks === undefined) return html`<p>Opening the wallet…</p>`;
  if (ks === null) return html`<${CreateOrImport} />`;
  const copy = async () => {
    await navigator.clipboard.writeText(ks.address).catch(() => {});
    setCopied(true);
  };
  return html`
    <section id="wallet">
      <h2>Your wallet</h2>
      <p>Address: <span class="hash" data-testid="address">${ks.address}</span>${" "}
          <button class="secondary" onClick=${copy} aria-label="Copy the address">${copied
            ? "Copied"
            : "Copy"}</button>${" "}
          ${link("address", ks.address, "coins")}</p>
      <${Balance} address=${ks.address} refresh=${refresh} />
    </section>
    <${Send} ks=${ks} />
    <${Exporter} ks=${ks} />
  `;
}
