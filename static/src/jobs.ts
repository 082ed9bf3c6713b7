/**
 * @module The jobs view: choose a model (by its GGUF name, id shown) among those the compute nodes
 * offer, write a prompt or a chat, set the reward, max tokens and sampling, see the offers, submit.
 * The escrow and offer are built and signed here, the states come live, the output is decrypted
 * here and shown as text, then checked: by the verifier nodes' votes (each with its failing
 * positions) or locally with the WASM RASTiC kernel on the model fetched by checked chunks. On fraud
 * the client publishes the fraud proof; the job's chain state shows the slash when it is mined.
 */

import { useEffect, useState } from "preact/hooks";
import { formatCoins, parseCoins } from "../../chain/amount.ts";
import { submitJob, type SubmitResult } from "../../client/job_client.ts";
import { JobFailedError } from "../../client/job_failure.ts";
import { refundEscrow } from "../../client/job_client.ts";
import { JOB_STATES } from "../../client/job_states.ts";
import { describeSelection } from "../../client/outsourced.ts";
import { describePaidValidators } from "../../client/phases/distribute.ts";
import { fetchModelMetadata, tokenizerForModel } from "../../client/model_metadata.ts";
import { type Survey, surveyNetwork } from "../../client/phases/survey.ts";
import { answerText, messagesPrompt, textPrompt } from "../../client/prompt.ts";
import { codeOf, explain, getJson, origin, PageError } from "./api.ts";
import { node } from "./node_client.ts";
import { html, link, short, statusLine } from "./html.ts";
import type { Live } from "./live.ts";
import { type ChunkProgress, downloadModel } from "./model_download.ts";
import { type JobRecord, type Verdict, verify } from "../../verifier-wasm/mod.ts";
import { loadKeystore } from "./store.ts";
import { unlock, useKeystore } from "./wallet_state.ts";

/** The CLI's sampler defaults (cli/sampler_options.ts SAMPLER_DEFAULTS). */
const DEFAULTS = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  maxTokens: 16,
  reward: "0.5",
  fee: "0.0002",
};

/** A model a compute node offers: where to read it (checked against its id) and its name. */
interface ModelChoice {
  id: string;
  source: string;
  name: string | null;
  offeredBy: number;
}

/** What the verdicts mean, for the user. */
const VERDICT_MEANS: Record<string, string> = {
  honest: "the compute node ran the model as agreed: every checked token is what the model gives",
  fraud:
    "the output is not what the model gives: the node cheated, and its stake is slashed to you",
  inconclusive:
    "the check could not decide (too close to call or too few votes): nothing is slashed",
};

/** The model download's progress bar. */
function chunkBar(p: ChunkProgress) {
  return html`<label>Model chunks checked: ${p.done} / ${p.total} (${p.cached} from this browser's cache)
    <progress max=${p.total} value=${p.done}></progress></label>`;
}

function meaning(state: string): string {
  return (JOB_STATES as Record<string, { means: string }>)[state]?.means ?? "";
}

/** The survey and the models offered, with their names from their checked metadata. */
function useOffers(): { survey: Survey | null; models: ModelChoice[]; error: unknown } {
  const [got, setGot] = useState<{ survey: Survey | null; models: ModelChoice[]; error: unknown }>(
    { survey: null, models: [], error: null },
  );
  useEffect(() => {
    (async () => {
      const survey = await surveyNetwork(node);
      const here = (await getJson<{ models: { id: string }[] }>("/v1/models")).models.map((m) =>
        m.id
      );
      const ids = new Set([...here, ...survey.compute.flatMap((c) => c.models)]);
      const models = await Promise.all([...ids].map(async (id) => {
        const source = here.includes(id)
          ? origin
          : survey.compute.find((c) => c.models.includes(id))!.url;
        const meta = await fetchModelMetadata(source, id).catch(() => null);
        const name = meta?.metadata.get("general.name")?.value;
        return {
          id,
          source,
          name: typeof name === "string" ? name : null,
          offeredBy: survey.compute.filter((c) => c.models.includes(id)).length,
        };
      }));
      setGot({ survey, models, error: null });
    })().catch((error) => setGot((g) => ({ ...g, error })));
  }, []);
  return got;
}

interface StateLine {
  state: string;
  detail: Record<string, unknown>;
  at: string;
}

interface Outcome {
  result?: SubmitResult;
  /** The verifier's record of the delivered output (for a check in this browser too). */
  record?: JobRecord;
  /** Where the model's chunks come from. */
  source?: string;
  text?: string;
  failed?: { error: unknown; escrow?: JobFailedError["atRisk"] };
  jobId?: string;
}

function Offers({ survey, modelId }: { survey: Survey; modelId: string }) {
  const offering = survey.compute.filter((c) => c.models.includes(modelId));
  return html`
    <div
      id="offers"><h2>Compute nodes for this model</h2>${offering.length === 0
        ? statusLine(
          "error",
          "No compute node serves this model: a job would find no taker.",
          "job/no-node",
        )
        : html`
          <table>
            <thead>
              <tr>
                <th>Node</th>
                <th>Minimum reward</th>
                <th class="wide">Context</th>
              </tr>
            </thead>
            <tbody>${offering.map((c) =>
              html`
                <tr key=${c.url}>
                  <td>${c.url}<br /><span class="hash muted">${short(c.key ?? "")}</span></td>
                  <td>${formatCoins(c.minReward)} CML</td>
                  <td class="wide">${c.contexts[modelId] ?? "?"} tokens</td>
                </tr>
              `
            )}</tbody>
          </table>
        `}<p class="muted">${survey.verifiers.filter((v) => v.models.includes(modelId))
        .length} verifier node(s) check this model.</p></div>
  `;
}

function Votes({ outsourced }: { outsourced: NonNullable<SubmitResult["outsourced"]> }) {
  return html`
    <table id="votes">
      <thead>
        <tr>
          <th>Verifier</th>
          <th>Vote</th>
          <th>Failing positions</th>
        </tr>
      </thead>
      <tbody>${outsourced.votes.map((v) =>
        html`
          <tr key=${v.key}>
            <td class="hash">${short(v.key)}</td>
            <td>${v.verdict}</td>
            <td>${v.failing.length ? v.failing.join(", ") : "none"}</td>
          </tr>
        `
      )}</tbody>
    </table>
    <p class="muted" id="voters">${describeSelection(outsourced)}</p>
    ${outsourced.paidValidators &&
      html`<p class="muted" id="paid-validators">${
        describePaidValidators(outsourced.paidValidators)
      }</p>`}
  `;
}

function Refund({ escrow, live }: { escrow: JobFailedError["atRisk"]; live: Live }) {
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string; code?: string } | null>(
    null,
  );
  const [txid, setTxid] = useState<string | null>(null);
  const height = live.status?.height ?? 0;
  const ready = height + 1 >= escrow.expiryHeight && !escrow.paymentSent;
  const refund = async (e: Event) => {
    e.preventDefault();
    const pass =
      ((e.currentTarget as HTMLFormElement).elements.namedItem("passphrase") as HTMLInputElement)
        .value;
    try {
      const ks = await loadKeystore();
      if (!ks) throw new PageError("page/no-wallet", "no wallet in this browser");
      const key = await unlock(ks, pass);
      const sent = await refundEscrow(node, key, escrow.escrow, parseCoins(DEFAULTS.fee));
      key.fill(0);
      setTxid(sent);
      setNote({ kind: "ok", text: "Refund sent: the escrow comes back to your wallet." });
    } catch (err) {
      setNote({ kind: "error", text: explain(err), code: codeOf(err) });
    }
  };
  return html`<div id="refund"><p>Escrow ${
    link("tx", escrow.escrow.txid, short(escrow.escrow.txid))
  }:${escrow.escrow.vout} (${formatCoins(escrow.escrow.value)} CML) ${
    escrow.paymentSent
      ? "was paid: no refund."
      : ready
      ? "can be refunded now."
      : `refunds at height ${escrow.expiryHeight} (now ${height}).`
  }</p>
    <form onSubmit=${refund} class="row"><label>Passphrase <input name="passphrase" type="password" /></label>
      <button type="submit" disabled=${!ready}>Refund the escrow</button></form>${
    note ? statusLine(note.kind, note.text, note.code) : null
  }${txid ? html`<p>Refund ${link("tx", txid)}</p>` : null}</div>`;
}

/**
 * The same output checked in this browser too (after the verifiers' votes): the model fetched by
 * checked chunks (or from the cache), every position run through the WASM kernel. Display only: a
 * fraud found here after an honest majority is shown, and the job page has the stake to dispute.
 */
function LocalCheck({ record, source }: { record: JobRecord; source: string }) {
  const [progress, setProgress] = useState<ChunkProgress | null>(null);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const check = async () => {
    setBusy(true);
    setError(null);
    try {
      const gguf = await downloadModel(source, record.modelId, setProgress);
      setVerdict(await verify(record, gguf, { positions: "all", knownModelId: record.modelId }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<div id="local-check">
    <button class="secondary" onClick=${check} disabled=${busy}>Check it here too (downloads the model)</button>
    ${progress ? chunkBar(progress) : null}
    ${error ? statusLine("error", explain(error), codeOf(error)) : null}
    ${
    verdict
      ? html`
        <p class="verdict" data-testid="local-verdict">Checked here: ${verdict.verdict}</p>
        <p>${VERDICT_MEANS[verdict.verdict]}; ${verdict.checked
          .length} position(s) checked, failing: ${verdict.checked.filter((c) =>
            c.outcome === "fail"
          ).map((c) => c.position).join(", ") || "none"} (${verdict.backend}, ${Math.round(
            verdict.timings.totalMs,
          )} ms).</p>
      `
      : null
  }</div>`;
}

/** The job's chain state, followed after the client is done (shows the slash when it lands). */
function ChainState({ jobId, refresh }: { jobId: string; refresh: string }) {
  const [state, setState] = useState<string | null>(null);
  useEffect(() => {
    getJson<{ state: string }>(`/v1/jobs/${jobId}`).then((j) => setState(j.state), () => {});
  }, [jobId, refresh]);
  return html`<p>On chain: <strong data-testid="chain-state">${state ?? "not seen yet"}</strong>${
    state ? ` — ${meaning(state)}` : ""
  } (${link("job", jobId, "job history")})</p>`;
}

/** The jobs view. */
export function JobsView({ live }: { live: Live }) {
  const ks = useKeystore();
  const offers = useOffers();
  const [modelId, setModelId] = useState<string>("");
  const [mode, setMode] = useState<"prompt" | "chat">("prompt");
  const [busy, setBusy] = useState(false);
  const [states, setStates] = useState<StateLine[]>([]);
  const [progress, setProgress] = useState<ChunkProgress | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  // Each job's outcome is a new element (keyed by run), never the last job's reused in place.
  const [run, setRun] = useState(0);
  const [note, setNote] = useState<string | null>(null);
  const chosen = offers.models.find((m) => m.id === (modelId || offers.models[0]?.id));
  const refresh = live.status?.tip ?? "";

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!ks || !chosen) return;
    const f = (e.currentTarget as HTMLFormElement).elements;
    const v = (name: string) => (f.namedItem(name) as HTMLInputElement).value;
    setBusy(true);
    setStates([]);
    setOutcome(null);
    setRun((r) => r + 1);
    setProgress(null);
    const say = (state: string, detail: Record<string, unknown>) =>
      setStates((s) => [...s, { state, detail, at: new Date().toISOString().slice(11, 19) }]);
    let jobId: string | undefined;
    try {
      setNote("Unlocking the wallet…");
      const secretKey = await unlock(ks, v("passphrase"));
      setNote("Tokenizing with the model's tokenizer (checked against its id)…");
      const tok = await tokenizerForModel(chosen.source, chosen.id);
      const prompt = mode === "chat"
        ? messagesPrompt(tok, [
          ...(v("system").trim() ? [{ role: "system", content: v("system") }] : []),
          { role: "user", content: v("user") },
        ])
        : textPrompt(tok, v("prompt"));
      const local = v("verify") === "local";
      let gguf: Uint8Array | undefined;
      if (local) {
        setNote("Fetching the model by chunks for the local check (each chunk checked)…");
        gguf = await downloadModel(chosen.source, chosen.id, setProgress);
      }
      setNote(null);
      const computeNode = v("computeNode");
      const seedText = v("seed").trim();
      const terms = {
        modelId: chosen.id,
        promptTokens: prompt.tokens,
        maxTokens: Number(v("maxTokens")),
        seed: seedText ? BigInt(seedText) : crypto.getRandomValues(new BigUint64Array(1))[0],
        temperature: Number(v("temperature")),
        topK: Number(v("topK")),
        topP: Number(v("topP")),
      };
      const result = await submitJob({
        node,
        secretKey,
        fee: parseCoins(v("fee")),
        ...terms,
        reward: parseCoins(v("reward")),
        expiryBlocks: v("expiryBlocks").trim() ? Number(v("expiryBlocks")) : undefined,
        verifyWith: gguf,
        outsource: local ? undefined : {},
        computeNodes: computeNode ? [computeNode] : undefined,
        onState: (state, detail) => {
          if (typeof detail.jobId === "string") jobId = detail.jobId;
          say(state, detail);
        },
      });
      secretKey.fill(0);
      const text = result.outputTokens
        ? answerText(tok, result.outputTokens, prompt.stop)
        : undefined;
      const record: JobRecord | undefined = result.outputTokens && result.finishReason
        ? {
          modelId: terms.modelId,
          promptTokens: terms.promptTokens,
          outputTokens: result.outputTokens,
          finishReason: result.finishReason,
          seed: terms.seed.toString(),
          jobId: result.jobId,
          // As the job stores them (client/phases/offer.ts): f32.
          temperature: Math.fround(terms.temperature),
          topK: terms.topK,
          topP: Math.fround(terms.topP),
          maxTokens: terms.maxTokens,
        }
        : undefined;
      setOutcome({ result, record, source: chosen.source, text, jobId: result.jobId });
    } catch (err) {
      setNote(null);
      setOutcome({
        failed: { error: err, escrow: err instanceof JobFailedError ? err.atRisk : undefined },
        jobId,
      });
    } finally {
      setBusy(false);
    }
  };

  if (ks === null) {
    return html`<section><h2>Pay for a completion</h2>${
      statusLine("info", "A job is paid from your wallet: create or import one first.")
    }<p><a href="#/wallet">Open the wallet</a></p></section>`;
  }
  const verdict = outcome?.result?.outsourced?.verdict ?? outcome?.result?.verdict?.verdict;
  const verifiers = chosen && offers.survey
    ? offers.survey.verifiers.filter((v) => v.models.includes(chosen.id)).length
    : 0;
  return html`<section id="job-form"><h2>Pay for a completion</h2>
    ${offers.error ? statusLine("error", explain(offers.error), codeOf(offers.error)) : null}
    ${!offers.survey && !offers.error ? html`<p>Asking the nodes what they offer…</p>` : null}
    ${
    offers.survey && offers.models.length === 0
      ? statusLine(
        "error",
        "No compute node serves any model: no job can be taken now.",
        "job/no-node",
      )
      : null
  }
    <form onSubmit=${submit}>
      <label>Model <select name="model" value=${chosen?.id ?? ""} onChange=${(e: Event) =>
    setModelId((e.currentTarget as HTMLSelectElement).value)}>${
    offers.models.map((m) =>
      html`<option key=${m.id} value=${m.id}>${m.name ?? "(unnamed)"} — ${
        short(m.id)
      } (${m.offeredBy} node(s))</option>`
    )
  }</select></label>
      ${
    chosen
      ? html`<p class="muted">Model id <span class="hash" data-testid="model-id">${chosen.id}</span></p>`
      : null
  }
      <fieldset class="row"><legend>Input</legend>
        <label><span><input type="radio" name="mode" value="prompt" checked=${
    mode === "prompt"
  } onChange=${() => setMode("prompt")} /> Prompt</span></label>
        <label><span><input type="radio" name="mode" value="chat" checked=${
    mode === "chat"
  } onChange=${() => setMode("chat")} /> Chat</span></label>
      </fieldset>
      ${
    mode === "prompt"
      ? html`<label>Prompt <textarea name="prompt" required>Hello</textarea></label>`
      : html`
        <label>System message <span class="hint">optional</span><textarea name="system"></textarea></label>
        <label>Your message <textarea name="user" required>Say hello.</textarea></label>
      `
  }
      <div class="row">
        <label>Reward (CML) <input name="reward" value=${DEFAULTS.reward} inputmode="decimal" required /></label>
        <label>Max tokens <input name="maxTokens" type="number" min="1" value=${DEFAULTS.maxTokens} required /></label>
        <label>Fee (CML) <input name="fee" value=${DEFAULTS.fee} inputmode="decimal" required /></label>
      </div>
      <details><summary>Sampling and escrow</summary><div class="row">
        <label>Temperature <input name="temperature" type="number" step="0.05" min="0" value=${DEFAULTS.temperature} /></label>
        <label>Top-k <input name="topK" type="number" min="0" value=${DEFAULTS.topK} /></label>
        <label>Top-p <input name="topP" type="number" step="0.01" min="0" max="1" value=${DEFAULTS.topP} /></label>
        <label>Seed <span class="hint">empty: random</span><input name="seed" inputmode="numeric" /></label>
        <label>Escrow expiry (blocks) <span class="hint">empty: the network's default</span><input name="expiryBlocks" type="number" min="1" /></label>
      </div></details>
      <div class="row">
        <label>Check the output <span class="hint">${
    verifiers > 0
      ? `${verifiers} verifier node(s) check this model`
      : "no verifier node checks this model: check it here"
  }</span><select name="verify" key=${`${chosen?.id}:${verifiers > 0}`}>
          <option value="outsourced" selected=${
    verifiers > 0
  }>by verifier nodes (their votes)</option>
          <option value="local" selected=${
    verifiers === 0
  }>here, with the WASM kernel (downloads the model)</option>
        </select></label>
        <label>Compute node <select name="computeNode"><option value="">any that accepts</option>${
    (offers.survey?.compute ?? []).filter((c) => chosen && c.models.includes(chosen.id) && c.key)
      .map((c) => html`<option key=${c.key} value=${c.key}>${c.url} (${short(c.key!)})</option>`)
  }</select></label>
      </div>
      <label>Passphrase <span class="hint">signs the escrow and the payment</span><input name="passphrase" type="password" /></label>
      <button type="submit" disabled=${busy || !chosen || !ks}>${
    busy ? "Working…" : "Sign and submit the job"
  }</button>
    </form>
    ${
    offers.survey && chosen
      ? html`<${Offers} survey=${offers.survey} modelId=${chosen.id} />`
      : null
  }
  </section>
  ${
    note || progress || states.length || outcome
      ? html`<section id="job-progress" aria-live="polite"><h2>Job</h2>
    ${note ? statusLine("info", note) : null}
    ${progress ? chunkBar(progress) : null}
    <ol class="states" id="job-states">${
        states.map((s, i) =>
          html`
            <li key=${i}
              data-state=${s.state}><strong>${s.state}</strong> <span class="muted">${s
                .at}</span> — ${meaning(s.state)}${s.detail.reason
                ? ` (reason: ${String(s.detail.reason)}${
                  s.detail.detail ? `, ${String(s.detail.detail)}` : ""
                })`
                : null}</li>
          `
        )
      }</ol>
    ${
        outcome?.result
          ? html`<div id="job-result" key=${run}>
        <p>Job ${
            link("job", outcome.result.jobId)
          } ended <strong data-testid="final-state">${outcome.result.state}</strong>: ${
            meaning(outcome.result.state)
          }.</p>
        ${
            outcome.text !== undefined
              ? html`
                <h2>Output</h2>
                <div class="output" data-testid="output">${outcome.text}</div>
              `
              : null
          }
        ${
            verdict
              ? html`
                <p class="verdict" data-testid="verdict">Verdict: ${verdict} (${outcome.result
                    .outsourced
                  ? "verifier nodes' votes"
                  : "checked in this browser"})</p>
                <p>${VERDICT_MEANS[verdict]}.</p>
              `
              : null
          }
        ${
            outcome.result.outsourced
              ? html`<${Votes} outsourced=${outcome.result.outsourced} />${
                outcome.record && outcome.source
                  ? html`<${LocalCheck} record=${outcome.record} source=${outcome.source} />`
                  : null
              }`
              : null
          }
        ${
            outcome.result.verdict
              ? html`<p>${outcome.result.verdict.checked.length} position(s) checked; failing: ${
                outcome.result.verdict.checked.filter((c) => c.outcome === "fail").map((c) =>
                  c.position
                ).join(", ") ||
                "none"
              }; backend ${outcome.result.verdict.backend}, ${
                Math.round(outcome.result.verdict.timings.totalMs)
              } ms.</p>`
              : null
          }
        ${
            outcome.result.fraudTxid
              ? html`<p>Fraud proof published: ${
                link("tx", outcome.result.fraudTxid)
              }; the stake is slashed to you once it is mined.</p>`
              : null
          }
        ${outcome.result.notes.map((n) => statusLine("info", n))}
        <${ChainState} jobId=${outcome.result.jobId} refresh=${refresh} />
      </div>`
          : null
      }
    ${
        outcome?.failed
          ? html`<div id="job-failed" key=${run}>${
            statusLine("error", explain(outcome.failed.error), codeOf(outcome.failed.error))
          }
        ${
            outcome.failed.escrow
              ? html`<${Refund} escrow=${outcome.failed.escrow} live=${live} />`
              : null
          }</div>`
          : null
      }
  </section>`
      : null
  }`;
}
