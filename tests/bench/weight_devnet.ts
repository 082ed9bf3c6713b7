/**
 * @module Issue 16's "done when" on a devnet of real processes: three honest compute nodes proving
 * at 1x, 2x and 4x a base rate (`--sprint-rate`) and serving one tiny model, and a cheater
 * (`--cheat change-token`) proving at 1x and serving another model; all mine. The real job client
 * (`submitJob`, what `job submit` runs) sends N jobs one after the other through node 0, each drawn
 * by compute weight. Printed, each beside what it is compared with:
 * - per sprint and in total, each honest node's measured proving speed (nonces tried over proving
 *   time, from its `/v1/status` sprint reports) against its weight share (`GET /v1/weights?sprint=k`);
 * - the jobs each honest node took against the expected count (the sum of its share in the weights
 *   each job was drawn with), per-node deviation in binomial standard deviations and chi-square;
 * - each honest node's reputation and `validationProbability` (`GET /v1/reputation/:key`), read
 *   at every epoch;
 * - the cheater caught (its jobs name it): a job checked on delivery, its fraud proof (stake and
 *   escrow) mined, its reputation before and after on every node; a second job proved after the
 *   node's payment is mined, so that the proof forfeits the held reward;
 * - forged sprint proofs (padded, another node's nonces, a stale sprint's nonces, another node's
 *   key) posted to every node: each node's answer, and each node's verdict on them in its weights.
 * Progress goes to stderr. Not part of `deno task test`.
 * Jobs are paced to spread over several epochs, so that the job volume under the validation floor
 * lasts while reputations grow.
 * Usage: deno run -A tests/bench/weight_devnet.ts [jobs=100] [baseRate=250] [epochs=5]
 */

import { fromHex, toHex } from "../../chain/bytes.ts";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import {
  payToAddressScript,
  TEMPLATE_COMPUTE_STAKE,
  TEMPLATE_HELD_REWARD,
  TEMPLATE_JOB_ESCROW,
  TEMPLATE_VALIDATION_POOL,
} from "../../chain/script.ts";
import { decodeTransaction, encodeTransaction } from "../../chain/tx.ts";
import { type Job, jobIdBytes } from "../../chain/job.ts";
import { fraudProofTx, poolCoin } from "../../chain/job_tx.ts";
import { jobRecordOf } from "../../client/job_record.ts";
import { disputePositions } from "../../client/phases/verify.ts";
import { type Verdict, verify } from "../../verifier-wasm/mod.ts";
import { sprintNodeSeed } from "../../chain/sprint.ts";
import { sprintProofOutput, sprintProofTx } from "../../chain/sprint_tx.ts";
import { buildSpend } from "../../chain/wallet.ts";
import { submitJob, type SubmitResult } from "../../client/job_client.ts";
import type { StateReporter } from "../../client/job_session.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { proveSprint } from "../../compute/sprint_prover.ts";
import { NodeClient } from "../../relay/client.ts";
import { SprintModel } from "../../verifier-wasm/sprint_model.ts";
import { getJson, type NodeProcess, spawnNode, waitFor } from "../process_helpers.ts";
import { fundClient, killedOnUnload, loadavg } from "./bench_procs.ts";

const JOBS = Number(Deno.args[0] ?? 100);
const BASE = Number(Deno.args[1] ?? 250);
/** Epochs the jobs are spread over (one job started every EPOCHS x epoch time / JOBS at most). */
const EPOCHS = Number(Deno.args[2] ?? 5);
/** Every job's terms but the model and the seed. */
const TERMS = {
  promptTokens: [1, 40, 41, 42, 43],
  maxTokens: 8,
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  reward: COIN / 10n,
  fee: 20_000n,
};
/** The sampler seeds tried for the cheater's job proved late. */
const LATE_SEEDS = [7n, 8n, 9n, 10n];
const FACTORS = [1, 2, 4];
const DEV = networkParams("dev");
const SP = DEV.sprint;
const say = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

interface Report {
  sprint: number;
  tried: number;
  found: number;
  provingMs: number;
  pausedMs: number;
  txid: string | null;
  skipped: string | null;
}
interface Status {
  height: number;
  compute?: { rewardAddress: string };
  sprint?: { last: Report[] };
}
interface WeightRow {
  nodeKey: string;
  address: string;
  weight: number;
  share: number;
  accepted: boolean;
  sampled: number;
  mismatches: number;
  limit: number;
}
interface Weights {
  sprint: number;
  seed: string;
  closed: boolean;
  weights: WeightRow[];
}
interface Reputation {
  reputation: number;
  validationProbability: number;
  floor: number;
  jobVolume: { lastEpoch: number; currentEpoch: number };
  lastFraud: { height: number; txid: string; epoch: number } | null;
  epoch: { current: number };
}
/** A compute node of the run. */
interface Member {
  name: string;
  proc: NodeProcess;
  address: string;
  envelopeKey: string;
}

const dir = await Deno.makeTempDir({ prefix: "camelid-weight-devnet-" });
const mainModel = makeFixture({ size: "tiny", dtype: "f16", seed: 21n });
const otherModel = makeFixture({ size: "tiny", dtype: "f16", seed: 22n });
await Deno.writeFile(`${dir}/main.gguf`, mainModel);
await Deno.writeFile(`${dir}/other.gguf`, otherModel);
const loadBefore = loadavg();
const started = Date.now();
const procs = killedOnUnload();

/** Starts compute node i: honest at FACTORS[i] x BASE on the main model, or the cheater. */
async function startNode(i: number, cheater: boolean): Promise<NodeProcess> {
  const p = await spawnNode(
    [
      ...["--data-dir", `${dir}/n${i}`, "--threads", "1"],
      ...["--model", `${dir}/${cheater ? "other" : "main"}.gguf`],
      ...["--sprint-rate", String(BASE * (cheater ? 1 : FACTORS[i]))],
      ...(cheater ? ["--cheat", "change-token"] : []),
      ...(i > 0 ? ["--seed", procs[0].url] : []),
    ],
    {},
    "compute",
  );
  procs.push(p);
  return p;
}

const status = async (url: string) => (await getJson<Status>(`${url}/v1/status`)).body;
const reports = new Map<string, Map<number, Report>>(); // address -> sprint -> report
const reputations: { epoch: number; height: number; byAddress: Map<string, Reputation> }[] = [];
let members: Member[] = [];
let jobsDone = 0;
let polling = true;

async function poll(): Promise<void> {
  let lastEpoch = -1;
  while (polling) {
    try {
      const all = await Promise.all(members.map((m) => status(m.proc.url)));
      all.forEach((s, i) => {
        const m = reports.get(members[i].address) ?? new Map<number, Report>();
        for (const r of s.sprint?.last ?? []) m.set(r.sprint, r);
        reports.set(members[i].address, m);
      });
      const height = all[0].height;
      const epoch = Math.floor(height / SP.interval);
      if (epoch !== lastEpoch) {
        lastEpoch = epoch;
        const byAddress = new Map<string, Reputation>();
        for (const m of members) {
          byAddress.set(
            m.address,
            (await getJson<Reputation>(`${members[0].proc.url}/v1/reputation/${m.address}`)).body,
          );
        }
        reputations.push({ epoch, height, byAddress });
        say(
          `epoch ${epoch} (height ${height}), jobs ${jobsDone}/${JOBS}, load ${loadavg()}; ` +
            members.map((m) => {
              const r = byAddress.get(m.address)!;
              return `${m.name} rep ${r.reputation} p ${r.validationProbability.toFixed(3)}`;
            }).join(", "),
        );
      }
    } catch (e) {
      say(`poll: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Waits until node 0's tip is at least `height`. */
function waitHeight(height: number, ms = 180_000): Promise<number> {
  return waitFor(`height ${height}`, async () => {
    const h = (await status(members[0].proc.url)).height;
    return h >= height ? h : null;
  }, ms);
}

/** POSTs a raw tx to a node: "accepted" or the refusal's code. */
async function postTx(url: string, bytes: Uint8Array): Promise<string> {
  const res = await fetch(`${url}/v1/txs`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: toHex(bytes),
  });
  const body = await res.json().catch(() => ({}));
  return res.ok
    ? "accepted"
    : `${res.status} ${body.error?.code ?? body.code ?? JSON.stringify(body)}`;
}

try {
  say(`starting 4 compute nodes in ${dir}, base rate ${BASE}/s, load ${loadBefore}`);
  // Node i is started as node i (honest 1x, 2x, 4x; then the cheater), whatever order they listen in.
  const ordered = [await startNode(0, false)];
  ordered.push(
    ...await Promise.all([startNode(1, false), startNode(2, false), startNode(3, true)]),
  );
  const names = ["1x", "2x", "4x", "cheater"];
  members = await Promise.all(ordered.map(async (proc, i) => {
    const s = await waitFor(`node ${i}'s compute status`, async () => {
      const s = await status(proc.url);
      return s.compute && s.sprint ? s : null;
    }, 60_000);
    const peers = await new NodeClient(proc.url).peers();
    return {
      name: names[i],
      proc,
      address: s.compute!.rewardAddress,
      envelopeKey: peers.self.key ?? "",
    };
  }));
  const honest = members.slice(0, 3);
  const cheater = members[3];
  const poller = poll();

  // The client and the forgers: one send from node 0's wallet, split by the client.
  // Node 0's wallet pays: wait until its mature coinbases cover the send (four nodes mine).
  const { clientKey, clientAddress, node } = await fundClient(
    members[0].proc.url,
    `${dir}/n0/wallet.json`,
    members[0].address,
    120_000,
  );
  const forgers = Array.from({ length: 4 }, () => generateSecretKey());
  const split = buildSpend({
    utxos: await node.spendableCoins(clientAddress),
    secretKey: clientKey,
    fee: 10_000n,
    outputs: forgers.map((k) => ({
      value: COIN,
      scriptPubKey: payToAddressScript(addressFromPublicKey(publicKeyOf(k))),
    })),
  });
  await node.sendTx(split.bytes);
  say("client funded (40 coins), 4 forger coins sent");

  // Forged proofs at the next sprint start k >= 2 (a stale sprint k-1 exists).
  const forgeAt = Math.max(
    2,
    Math.ceil(((await status(members[0].proc.url)).height + 1) / SP.interval),
  );
  const forgery = forge(forgeAt, forgers).catch((e) => {
    say(`forgery failed: ${(e as Error).message}`);
    return { sprint: forgeAt, seed: "", rows: [] };
  });

  // Jobs once weights are in force.
  await waitFor("weights in force", async () => {
    const r = await fetch(`${members[0].proc.url}/v1/weights`);
    await r.body?.cancel();
    return r.ok;
  }, 120_000);
  const results: (SubmitResult | { error: string })[] = [];
  let seed = 1000n;
  const gapMs = EPOCHS * SP.interval * DEV.targetSpacing * 1000 / JOBS;
  const jobsStart = Date.now();
  say(`jobs: ${JOBS}, one started every ${gapMs.toFixed(0)} ms at most`);
  for (let j = 0; j < JOBS; j++) {
    const wait = jobsStart + j * gapMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      results.push(
        await submitJob({
          ...TERMS,
          node,
          secretKey: clientKey,
          modelId: modelIdFromBytes(mainModel),
          seed: seed++,
          verifyWith: mainModel,
        }),
      );
    } catch (e) {
      results.push({ error: `${(e as { code?: string }).code ?? ""} ${(e as Error).message}` });
      say(`job ${j}: ${(e as Error).message}`);
    }
    jobsDone++;
    if (jobsDone % 10 === 0) say(`${jobsDone}/${JOBS} jobs done`);
  }
  const forged = await forgery;

  // The cheater's job: caught by the client's local check, its fraud proof mined.
  const repOf = async (url: string, address: string) =>
    (await getJson<Reputation>(`${url}/v1/reputation/${address}`)).body;
  const cheaterBefore = await repOf(members[0].proc.url, cheater.address);
  say(`cheater's job (reputation before: ${cheaterBefore.reputation})`);
  /** A job for the cheater's model; `verify`: checked on delivery (else only delivered). */
  const cheaterJob = async (
    verify: boolean,
    jobSeed = seed++,
    onState?: StateReporter,
  ): Promise<SubmitResult | { error: string }> => {
    try {
      return await submitJob({
        ...TERMS,
        node,
        secretKey: clientKey,
        modelId: modelIdFromBytes(otherModel),
        seed: jobSeed,
        ...(verify ? { verifyWith: otherModel } : {}),
        // Named: nodes that fetched the cheater's model to check its fraud proof serve it too.
        computeNodes: [cheater.envelopeKey],
        onState,
      });
    } catch (e) {
      return { error: `${(e as { code?: string }).code ?? ""} ${(e as Error).message}` };
    }
  };
  const cheat = await cheaterJob(true);
  const fraudTxid = "fraudTxid" in cheat ? cheat.fraudTxid : undefined;
  const cheaterAfter: Reputation[] = [];
  if (fraudTxid) {
    await waitFor("the fraud proof mined on every node", async () => {
      for (const m of members) {
        const r = await repOf(m.proc.url, cheater.address);
        if (r.lastFraud?.txid !== fraudTxid) return false;
      }
      return true;
    }, 90_000).catch((e) => say((e as Error).message));
    for (const m of members) cheaterAfter.push(await repOf(m.proc.url, cheater.address));
  }
  // A second cheating job, proved after the node's payment is mined: the held reward's forfeit.
  const late = await lateFraudProof(cheaterJob, clientKey).catch((e) => ({
    error: (e as Error).message,
  }));
  say(`late fraud proof: ${JSON.stringify(late)}`);
  const cheaterAfterLate = await repOf(members[0].proc.url, cheater.address);

  // Sprints whose windows closed: weights against speed.
  const endHeight = (await status(members[0].proc.url)).height;
  const lastSprint = Math.floor((endHeight - SP.window - 1) / SP.interval);
  polling = false;
  await poller;
  const weights = new Map<number, Weights>();
  for (let k = 1; k <= lastSprint; k++) {
    weights.set(k, (await getJson<Weights>(`${members[0].proc.url}/v1/weights?sprint=${k}`)).body);
  }

  // ---- figures ----
  console.log(
    `\n## weight_devnet: ${JOBS} jobs over ${EPOCHS} epochs, base rate ${BASE}/s, sprints 1..${lastSprint}`,
  );
  console.log(
    `load average before: ${loadBefore}; after: ${loadavg()}; wall ${
      ((Date.now() - started) / 1000).toFixed(0)
    } s`,
  );
  console.log(
    `held-reward forfeits: ${
      (await heldRewardsLanded())
        ? "code present in chain/"
        : "not in chain/ at this commit (not measured)"
    }`,
  );

  console.log("\n### Weights against measured speed (honest nodes; sprints whose proof counted)");
  console.log(
    "| sprint | " + honest.map((m) =>
      `${m.name} tried/s x proving s (paused s) | ${m.name} weight`
    ).join(" | ") + " | weight share / speed share | weight share / tried share |",
  );
  console.log("|---|" + honest.map(() => "---|---|").join("") + "---|---|");
  const tot = honest.map(() => ({ tried: 0, ms: 0, weight: 0, paused: 0 }));
  for (let k = 1; k <= lastSprint; k++) {
    const rows = honest.map((m) => ({
      r: reports.get(m.address)?.get(k),
      w: weights.get(k)!.weights.find((x) => x.address === m.address),
    }));
    if (rows.some(({ r, w }) => !r || !w || !r.provingMs)) {
      console.log(
        `| ${k} | ${
          rows.map(({ r, w }) =>
            `${r ? r.skipped ?? "reported" : "no report"} | ${w?.weight ?? "none"}`
          ).join(" | ")
        } | (not counted) | |`,
      );
      continue;
    }
    const speed = rows.map(({ r }) => r!.tried / (r!.provingMs / 1000));
    const ss = speed.reduce((a, b) => a + b, 0);
    const ws = rows.reduce((a, { w }) => a + w!.weight, 0);
    const ts = rows.reduce((a, { r }) => a + r!.tried, 0);
    rows.forEach(({ r, w }, i) => {
      tot[i].tried += r!.tried;
      tot[i].ms += r!.provingMs;
      tot[i].paused += r!.pausedMs ?? 0;
      tot[i].weight += w!.weight;
    });
    console.log(
      `| ${k} | ${
        rows.map(({ r, w }, i) =>
          `${speed[i].toFixed(0)} x ${(r!.provingMs / 1000).toFixed(1)} (${
            ((r!.pausedMs ?? 0) / 1000).toFixed(1)
          }) | ${w!.weight}`
        ).join(" | ")
      } | ${rows.map(({ w }, i) => (w!.weight / ws / (speed[i] / ss)).toFixed(2)).join(" / ")} | ${
        rows.map(({ r, w }) => (w!.weight / ws / (r!.tried / ts)).toFixed(2)).join(" / ")
      } |`,
    );
  }
  {
    const speed = tot.map((t) => t.tried / (t.ms / 1000));
    const ss = speed.reduce((a, b) => a + b, 0);
    const ws = tot.reduce((a, t) => a + t.weight, 0);
    console.log(
      "\n| node | throttle | nonces tried | proving s | paused s | speed measured | speed share | weight | weight share | ratio |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    honest.forEach((m, i) => {
      const s = speed[i] / ss, w = tot[i].weight / ws;
      console.log(
        `| ${m.name} | ${BASE * FACTORS[i]}/s | ${tot[i].tried} | ${
          (tot[i].ms / 1000).toFixed(1)
        } | ${(tot[i].paused / 1000).toFixed(1)} | ${speed[i].toFixed(0)}/s | ${pct(s)} | ${
          tot[i].weight
        } | ${pct(w)} | ${(w / s).toFixed(3)} |`,
      );
    });
  }

  console.log("\n### Assignments by weight over the jobs");
  const ok = results.filter((r): r is SubmitResult => "jobId" in r);
  const byWeight = ok.filter((r) => r.assignment?.by === "weight");
  const observed = honest.map((m) =>
    byWeight.filter((r) => r.assignment!.node === m.envelopeKey).length
  );
  const expected = honest.map(() => 0);
  const variance = honest.map(() => 0);
  for (const r of byWeight) {
    const w = weights.get(r.assignment!.sprint!) ??
      (await getJson<Weights>(`${members[0].proc.url}/v1/weights?sprint=${r.assignment!.sprint}`))
        .body;
    weights.set(w.sprint, w);
    const ws = honest.map((m) => w.weights.find((x) => x.address === m.address)?.weight ?? 0);
    const mean = ws.reduce((a, b) => a + b, 0) / ws.length;
    const eff = ws.map((x) => Math.max(x, 0.05 * mean)); // client/assignment.ts's newcomer floor
    const sum = eff.reduce((a, b) => a + b, 0);
    eff.forEach((x, i) => {
      expected[i] += x / sum;
      variance[i] += (x / sum) * (1 - x / sum);
    });
  }
  const chi2 = observed.reduce((a, o, i) => a + (o - expected[i]) ** 2 / expected[i], 0);
  console.log(
    `jobs: ${JOBS} submitted, ${ok.length} ended, states ${
      JSON.stringify(countBy(ok.map((r) => r.state)))
    }, ` +
      `failed ${results.length - ok.length}, by weight ${byWeight.length}, ` +
      `other ${
        JSON.stringify(countBy(
          ok.filter((r) => r.assignment?.by !== "weight").map((r) => r.assignment?.by ?? "none"),
        ))
      }, ` +
      `redrawn ${byWeight.filter((r) => (r.assignment!.draws ?? 1) > 1).length}`,
  );
  console.log(
    "| node | jobs taken | expected (sum of its draw shares) | share taken | expected share | deviation (binomial sd) |",
  );
  console.log("|---|---|---|---|---|---|");
  honest.forEach((m, i) => {
    console.log(
      `| ${m.name} | ${observed[i]} | ${expected[i].toFixed(1)} | ${
        pct(observed[i] / byWeight.length)
      } | ${pct(expected[i] / byWeight.length)} | ${
        ((observed[i] - expected[i]) / Math.sqrt(variance[i])).toFixed(2)
      } |`,
    );
  });
  console.log(
    `chi-square ${chi2.toFixed(2)} on 2 degrees of freedom, p = ${Math.exp(-chi2 / 2).toFixed(3)}`,
  );

  console.log(
    "\n### Validation probability per epoch (node 0's /v1/reputation, read as each epoch began)",
  );
  console.log(
    "| epoch | height | job volume last / current | " + honest.map((m) =>
      `${m.name} reputation | ${m.name} p`
    ).join(" | ") + " | floor |",
  );
  console.log("|---|---|---|" + honest.map(() => "---|---|").join("") + "---|");
  for (const { epoch, height, byAddress } of reputations) {
    const r0 = byAddress.get(honest[0].address)!;
    console.log(
      `| ${epoch} | ${height} | ${r0.jobVolume.lastEpoch} / ${r0.jobVolume.currentEpoch} | ${
        honest.map((m) => {
          const r = byAddress.get(m.address)!;
          return `${r.reputation} | ${r.validationProbability.toFixed(3)}`;
        }).join(" | ")
      } | ${r0.floor.toFixed(3)} |`,
    );
  }

  console.log("\n### The cheater (--cheat change-token)");
  console.log(
    `its job: ${
      "error" in cheat
        ? `failed: ${cheat.error}`
        : `state ${cheat.state}, fraud proof ${fraudTxid ?? "none"}`
    }`,
  );
  if (fraudTxid) {
    console.log(`the fraud proof spent: ${await describeSpends(fraudTxid, clientAddress)}`);
  }
  console.log(
    `reputation before (node 0): ${cheaterBefore.reputation}, p ${cheaterBefore.validationProbability}, lastFraud ${
      JSON.stringify(cheaterBefore.lastFraud)
    }`,
  );
  cheaterAfter.forEach((r, i) =>
    console.log(
      `after, node ${
        members[i].name
      }: reputation ${r.reputation}, p ${r.validationProbability}, lastFraud ${
        JSON.stringify(r.lastFraud)
      }`,
    )
  );

  if ("txid" in late) {
    console.log(
      `second job ${
        late.jobId.slice(0, 16)
      }…, not checked on delivery; its payment mined at height ${late.paidHeight} (held until ${late.heldUntil}); ` +
        `the client's fraud proof posted at height ${late.postedAt}: ${await describeSpends(
          late.txid,
          clientAddress,
        )}`,
    );
    console.log(`its job in the pools of: ${late.poolsWithJob.join(", ") || "none"}`);
    if (late.passed.length) {
      console.log(`jobs not changed by the cheat first: ${late.passed.join("; ")}`);
    }
    console.log(
      `after it, node 0: reputation ${cheaterAfterLate.reputation}, lastFraud ${
        JSON.stringify(cheaterAfterLate.lastFraud)
      }`,
    );
  } else console.log(`second job (late fraud proof): ${late.error}`);

  const otherId = modelIdFromBytes(otherModel);
  const holders = [];
  for (const m of members) {
    const models = (await getJson<{ models: { id: string }[] }>(`${m.proc.url}/v1/models`)).body;
    if (models.models.some((x) => x.id === otherId)) holders.push(m.name);
  }
  console.log(`nodes serving the cheater's model at the end: ${holders.join(", ")}`);

  console.log(`\n### Forged sprint proofs (sprint ${forged.sprint})`);
  console.log(
    "| forgery | " + members.map((m) => `POST to ${m.name}`).join(" | ") + " | " +
      members.map((m) => `${m.name}'s weights`).join(" | ") + " |",
  );
  console.log("|---|" + members.map(() => "---|").join("") + members.map(() => "---|").join(""));
  const verdicts = await Promise.all(
    members.map(async (m) =>
      (await getJson<Weights>(`${m.proc.url}/v1/weights?sprint=${forged.sprint}`)).body
    ),
  );
  for (const f of forged.rows) {
    const cells = verdicts.map((w) => {
      const row = w.weights.find((x) => x.nodeKey === f.key);
      if (!row) return "not listed";
      return `${
        row.accepted ? "ACCEPTED" : "rejected"
      }, weight ${row.weight}, ${row.mismatches} of ${row.sampled} sampled mismatch (limit ${row.limit})`;
    });
    console.log(
      `| ${f.what} | ${f.answers.join(" | ")} | ${
        f.listedKey ? cells.join(" | ") : members.map(() => "n/a").join(" | ")
      } |`,
    );
  }
  console.log(
    `the sprint ${forged.sprint} seed the forger proved with: ${
      verdicts.every((w) => w.seed === forged.seed)
        ? "every node's seed of that sprint"
        : "NOT the seed the nodes hold now (its start block was reorganised away after it was read)"
    }`,
  );
  const honestVerdicts = verdicts.map((w) =>
    honest.map((m) => w.weights.find((x) => x.address === m.address)?.weight ?? "none").join("/")
  );
  console.log(
    `honest weights of sprint ${forged.sprint} on each node (1x/2x/4x): ${
      honestVerdicts.join("; ")
    }`,
  );
} finally {
  polling = false;
  for (const p of procs) await p.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** What a transaction spent (escrow, stake, held reward, ...) and where its outputs went. */
async function describeSpends(id: string, client: string): Promise<string> {
  const url = members[0].proc.url;
  const tx = await new NodeClient(url).tx(id);
  const decoded = decodeTransaction(fromHex(tx.hex));
  const kinds: Record<number, string> = {
    [TEMPLATE_JOB_ESCROW]: "the job's escrow",
    [TEMPLATE_COMPUTE_STAKE]: "the node's stake",
    [TEMPLATE_HELD_REWARD]: "the held reward (payment)",
    [TEMPLATE_VALIDATION_POOL]: "the validation pool (payment)",
  };
  const spent = [];
  for (const input of decoded.inputs) {
    const prev = await new NodeClient(url).tx(toHex(input.prevout.txid));
    const script = fromHex(prev.outputs[input.prevout.vout].scriptPubKey);
    spent.push(
      `${kinds[script[0]] ?? `template 0x${script[0].toString(16)}`} ${
        prev.outputs[input.prevout.vout].units
      } units`,
    );
  }
  const outs = tx.outputs.map((o) =>
    `${o.units} units to ${o.address === client ? "the client" : o.address}`
  );
  return `${spent.join(" + ")} -> ${outs.join(", ")} (mined at height ${tx.height})`;
}

/**
 * Waits for an epoch's ninth block, runs a cheater job without checking it, waits until the node's
 * payment (the held reward) is mined, then checks the output as the client does (the full RASTiC
 * check, positions by `disputePositions`) and posts the fraud proof on the stake and the held reward
 * (the held reward alone when the stake is released), as client/phases/verify.ts builds it.
 */
async function lateFraudProof(
  run: (
    verify: boolean,
    jobSeed: bigint,
    onState: StateReporter,
  ) => Promise<SubmitResult | { error: string }>,
  clientKey: Uint8Array,
): Promise<
  {
    jobId: string;
    txid: string;
    paidHeight: number;
    heldUntil: number;
    postedAt: number;
    poolsWithJob: string[];
    passed: string[];
  }
> {
  const url = members[0].proc.url;
  // The payment goes out a dispute window after the stake, about 6 blocks after the offer: offer
  // at an epoch's ninth block, so that it is mined early in the next epoch, blocks before its end.
  interface PoolJob {
    job: { timestamp: number; expiryHeight: number } | null;
    stake: { txid: string; vout: number } | null;
    held?: { txid: string; vout: number; heldUntil: number | null };
  }
  let r!: SubmitResult, entry!: PoolJob, pools!: PoolJob[], job: Job | undefined;
  let jobId!: Uint8Array, full!: Verdict;
  let output!: { outputTokens: number[]; finishReason: "stop" | "length" };
  const passed: string[] = [];
  // A job whose output has one token is not changed by --cheat change-token: another seed then.
  for (const jobSeed of LATE_SEEDS) {
    await waitFor("an epoch's ninth block", async () => {
      const h = (await status(url)).height;
      return h % SP.interval === 8;
    }, 60_000);
    const before = Math.floor(Date.now() / 1000);
    let offered: { at: number; expiryHeight: number } | null = null;
    const ran = await run(false, jobSeed, (state, detail) => {
      if (state === "offered") {
        offered = {
          at: Math.floor(Date.now() / 1000),
          expiryHeight: detail.expiryHeight as number,
        };
      }
    });
    const heard = offered as { at: number; expiryHeight: number } | null;
    if (!heard) throw new Error("the job was not offered");
    say(`late job ${jobSeed}: ${"error" in ran ? ran.error : ran.state}`);
    if ("error" in ran) throw new Error(`the job failed: ${ran.error}`);
    r = ran;
    if (r.state !== "delivered" || !r.outputTokens || !r.finishReason || !r.receipt) {
      throw new Error(`the job ended ${r.state}`);
    }
    const pool = members[3].proc.url; // the node the offer was addressed to
    entry = await waitFor("the payment mined", async () => {
      const e = (await getJson<PoolJob>(`${pool}/v1/jobs/${r.jobId}`)).body;
      return e.held?.heldUntil ? e : null;
    }, 60_000);
    say(
      `late job: payment mined, held until ${entry.held!.heldUntil}, tip ${
        (await status(url)).height
      }`,
    );
    pools = await Promise.all(
      members.map(async (m) => (await getJson<PoolJob>(`${m.proc.url}/v1/jobs/${r.jobId}`)).body),
    );
    // The job as the client built it (client/phases/offer.ts): the cheater job's terms, found with
    // its creation second and expiry height by the job id it hashes to.
    job = undefined;
    for (let t = before; t <= heard.at && !job; t++) {
      const candidate: Job = {
        modelId: fromHex(modelIdFromBytes(otherModel), 32),
        promptTokens: TERMS.promptTokens,
        seed: jobSeed,
        maxTokens: TERMS.maxTokens,
        temperature: Math.fround(TERMS.temperature),
        topK: TERMS.topK,
        topP: Math.fround(TERMS.topP),
        timestamp: t,
        expiryHeight: heard.expiryHeight,
        clientKey: publicKeyOf(clientKey),
        contact: url,
      };
      if (toHex(jobIdBytes(candidate)) === r.jobId) job = candidate;
    }
    if (!job) throw new Error("no job with the client's terms hashes to the job id");
    jobId = jobIdBytes(job);
    output = { outputTokens: r.outputTokens, finishReason: r.finishReason };
    full = await verify(
      jobRecordOf(job, jobId, output.outputTokens, output.finishReason),
      otherModel,
      { positions: "all" },
    );
    if (full.verdict === "fraud") break;
    passed.push(
      `${r.jobId.slice(0, 12)}… (${output.outputTokens.length} token(s)): ${full.verdict}`,
    );
  }
  if (full.verdict !== "fraud" || !job) {
    throw new Error(`no cheating output to prove: ${passed.join("; ")}`);
  }
  const provenJob = job;
  const positions = disputePositions(full, output.outputTokens.length);
  const held = entry.held!;
  const client = new NodeClient(url);
  const units = async (o: { txid: string; vout: number }) =>
    BigInt((await client.tx(o.txid)).outputs[o.vout].units);
  const reward = { txid: held.txid, vout: held.vout, value: await units(held), held: true };
  // Weights are in force, so the payment set a validation pool aside (output 1): the proof takes it.
  const paymentTx = decodeTransaction(fromHex((await client.tx(held.txid)).hex));
  const pool = poolCoin(held.txid, paymentTx.outputs);
  const stake = { ...entry.stake!, value: await units(entry.stake!) };
  const payout = {
    payTo: payToAddressScript(addressFromPublicKey(publicKeyOf(clientKey))),
    fee: TERMS.fee,
  };
  const postedAt = (await status(url)).height;
  say(`late fraud proof posted at tip ${postedAt}`);
  const proof = (withStake: boolean) =>
    client.sendTx(
      encodeTransaction(
        fraudProofTx(
          provenJob,
          output,
          positions,
          withStake ? stake : null,
          reward,
          payout,
          [],
          pool,
        ),
      ),
    );
  const { txid } = await proof(true).catch((e) => {
    const code = (e as { code?: string }).code;
    if (code === "tx/missing-inputs" || code === "mempool/conflict") return proof(false);
    throw e;
  });
  const paidHeight = (await client.tx(held.txid)).height ?? -1;
  await waitFor("the late fraud proof mined", async () => (await client.tx(txid)).height, 60_000);
  return {
    jobId: r.jobId,
    txid,
    paidHeight,
    heldUntil: held.heldUntil!,
    postedAt,
    poolsWithJob: members.filter((_, i) => pools[i].job).map((m) => m.name),
    passed,
  };
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

async function heldRewardsLanded(): Promise<boolean> {
  const chainDir = new URL("../../chain/", import.meta.url).pathname;
  for await (const e of Deno.readDir(chainDir)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    if (/forfeit/i.test(await Deno.readTextFile(chainDir + e.name))) return true;
  }
  return false;
}

/**
 * At sprint k's start block: proves with the forger keys in this process and posts, to every node,
 * a padded proof (its own proof nonces and 3 bad ones each), an honest node's nonces under a
 * forger's key, a stale sprint's nonces (k-1) and an honest node's nonces under that node's key
 * funded by a forger.
 */
async function forge(k: number, keys: Uint8Array[]): Promise<{
  sprint: number;
  seed: string;
  rows: { what: string; key: string; listedKey: boolean; answers: string[] }[];
}> {
  const h = await waitHeight(k * SP.interval);
  if (h > k * SP.interval + 1) throw new Error(`forgery: tip ${h} is past sprint ${k}'s start`);
  const url = members[0].proc.url;
  const node = new NodeClient(url);
  const seedOf = async (s: number) =>
    fromHex((await getJson<Weights>(`${url}/v1/weights?sprint=${s}`)).body.seed, 32);
  const seed = await seedOf(k);
  const model = await SprintModel.create(SP, seed);
  const stale = await SprintModel.create(SP, await seedOf(k - 1));
  // An honest node that proved sprint k-1 (its key is public in its proof).
  const listed = (await getJson<Weights>(`${url}/v1/weights?sprint=${k - 1}`)).body.weights;
  const victimRow = listed.find((w) => members.slice(0, 3).some((m) => m.address === w.address));
  if (!victimRow) throw new Error(`no honest node's proof in sprint ${k - 1}`);
  const victim = fromHex(victimRow.nodeKey, 33);
  const victimName = members.find((m) => m.address === victimRow.address)!.name;
  const [f1, f2, f3, f4] = keys;
  const nodeSeed = (sk: Uint8Array) => sprintNodeSeed(publicKeyOf(sk));
  const own = (await proveSprint(model, nodeSeed(f1), { count: 320 })).nonces;
  const bad: number[] = [];
  for (let n = 320; bad.length < 3 * own.length; n++) {
    if (model.distance(nodeSeed(f1), n) >= SP.threshold) bad.push(n);
  }
  const padded = [...own, ...bad].sort((a, b) => a - b);
  const victims = (await proveSprint(model, sprintNodeSeed(victim), { count: 320 })).nonces;
  const old = (await proveSprint(stale, nodeSeed(f3), { count: 320 })).nonces;
  model.free();
  stale.free();
  const funded = async (sk: Uint8Array) => ({
    utxos: await node.spendableCoins(addressFromPublicKey(publicKeyOf(sk))),
    secretKey: sk,
    fee: 10_000n,
  });
  const txs = [
    { what: `padded: ${own.length} proof nonces + ${bad.length} bad`, sk: f1, nonces: padded },
    {
      what: `node ${victimName}'s ${victims.length} nonces under a forger's key`,
      sk: f2,
      nonces: victims,
    },
    { what: `sprint ${k - 1}'s ${old.length} nonces as sprint ${k}`, sk: f3, nonces: old },
  ].map(async (f) => ({
    what: f.what,
    key: toHex(publicKeyOf(f.sk)),
    listedKey: true,
    bytes: sprintProofTx(k, f.nonces, await funded(f.sk)).bytes,
  }));
  const stolen = buildSpend({
    ...(await funded(f4)),
    outputs: [sprintProofOutput(k, victim, victims)],
  });
  const all = [...await Promise.all(txs), {
    what: `node ${victimName}'s nonces under its own key, funded by a forger`,
    key: toHex(victim),
    listedKey: false,
    bytes: stolen.bytes,
  }];
  const rows = [];
  for (const t of all) {
    const answers = [];
    for (const m of members) answers.push(await postTx(m.proc.url, t.bytes));
    rows.push({ what: t.what, key: t.key, listedKey: t.listedKey, answers });
  }
  say(
    `forged proofs of sprint ${k} posted at height ${h}: ${
      rows.map((r) => r.answers.join(",")).join("; ")
    }`,
  );
  await waitHeight(k * SP.interval + SP.window + 1);
  return { sprint: k, seed: toHex(seed), rows };
}
