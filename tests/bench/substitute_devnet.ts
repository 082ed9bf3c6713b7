/**
 * @module Issue 16's "a substituting node flagged by the statistics within the job count the table
 * predicts", on a devnet of real processes. Five `compute` processes on dev, all mining, none proving
 * sprints (`--no-sprint`: no compute weights, so every verifier checks every job it is asked to):
 * three honest nodes serving the f16 tiny fixture of docs/verification.md's margin test (seed 31,
 * EOS bias 1) and answering verification requests (`--serve-verify`, so each keeps its own margin
 * evidence, compute/weight/local_evidence.ts); and two substituters holding the same f16 file but
 * generating every job with another (`--cheat substitute=<file>`): the q8_0 copy and the copy with 1%
 * noise on every tensor (tests/bench/perturbed_fixture.ts). The real job client (`submitJob`, what
 * `job submit --verify outsourced` runs) sends jobs naming each node, a number at a time per node (the
 * arguments), for `epochs` epochs, each job checked by the verifiers
 * (the terms of the margin bench: prompts of 5 to 13 tokens, 32 output tokens at most, temperatures
 * 0, 0.8, 1.2 in turn). Printed: per node and epoch, each verifier's evidence (`GET
 * /v1/reputation/:key`, `localEvidence`, read every 2 s), the job count at which each verifier's
 * test flagged it (its log line), and the final reputation answer. The test restarts each epoch, so
 * each (node, epoch) is one run of the table's "flagged after n jobs". Progress goes to stderr. Not
 * part of `deno task test`.
 * With `weights=1` (the fifth argument) every node proves sprints at one `--sprint-rate`, so
 * compute weights are in force: the client asks the validators due by weight, pays with a
 * validation pool and distributes it to them with their records, and every node derives the
 * statistical flags from the records on chain (`chainEvidence`, `lastFlag`); the script then also
 * prints node 0's chain-derived evidence per node and epoch and the final `lastFlag`s.
 * Usage: deno run -A tests/bench/substitute_devnet.ts [epochs=8] [q8Concurrency=12]
 * [perturbedConcurrency=2] [honestConcurrency=1] [weights=0]
 */

import { modelIdFromBytes } from "../../chain/model_id.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { payToAddressScript } from "../../chain/script.ts";
import { buildSpend } from "../../chain/wallet.ts";
import { submitJob, type SubmitResult } from "../../client/job_client.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { inProcessSpendLock } from "../../compute/jobs/wallet_coins.ts";
import { NodeClient } from "../../relay/client.ts";
import { getJson, type NodeProcess, spawnNode, waitFor } from "../process_helpers.ts";
import { fundClient, killedOnUnload, loadavg } from "./bench_procs.ts";
import { perturbedF16 } from "./perturbed_fixture.ts";

const EPOCHS = Number(Deno.args[0] ?? 8);
/** Jobs at a time: the q8_0 substituter, the perturbed one, each honest node. */
const CONCURRENCY = {
  "q8_0-as-f16": Number(Deno.args[1] ?? 12),
  "perturbed-as-f16": Number(Deno.args[2] ?? 2),
  honest: Number(Deno.args[3] ?? 1),
};
/** Weights in force (every node proves sprints) or not (`--no-sprint`, the local evidence only). */
const WEIGHTS = Deno.args[4] === "1";
/** Nonces a second each node proves at, in the weights mode (equal weights). */
const SPRINT_RATE = 200;
const concurrencyOf = (name: string) =>
  CONCURRENCY[name as keyof typeof CONCURRENCY] ?? CONCURRENCY.honest;
const DEV = networkParams("dev");
const EPOCH_BLOCKS = DEV.sprint.interval;
const TEMPS = [0, 0.8, 1.2];
const say = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

interface EvidenceRecord {
  epoch: number;
  jobs: number;
  positions: number;
  exceeded: number;
  llr: number;
  flagged: boolean;
}
interface Reputation {
  reputation: number;
  validationProbability: number;
  lastFraud: unknown;
  epoch: { current: number };
  lastFlag: { height: number; txid: string; epoch: number; jobs: number } | null;
  chainEvidence?: { currentEpoch: EvidenceRecord | null; lastEpoch: EvidenceRecord | null };
  localEvidence: {
    flagged: boolean;
    test: { level: number; p0: number; p1: number; alpha: number };
    currentEpoch: EvidenceRecord | null;
    lastEpoch: EvidenceRecord | null;
  };
}
/** A compute node of the run. */
interface Member {
  name: string;
  proc: NodeProcess;
  address: string;
  envelopeKey: string;
  substitute: boolean;
}

const dir = await Deno.makeTempDir({ prefix: "camelid-substitute-devnet-" });
const fixture = (dtype: "f16" | "q8_0" | "f32") =>
  makeFixture({ size: "tiny", dtype, seed: 31n, eosBias: 1 });
const f16 = fixture("f16");
await Deno.writeFile(`${dir}/f16.gguf`, f16);
await Deno.writeFile(`${dir}/q8_0.gguf`, fixture("q8_0"));
await Deno.writeFile(`${dir}/perturbed.gguf`, perturbedF16(fixture("f32")));
const modelId = modelIdFromBytes(f16);
const loadBefore = loadavg();
const started = Date.now();
const procs = killedOnUnload();

/** The nodes: three honest verifiers, then the substituters (name, extra arguments). */
const SPECS: { name: string; args: string[] }[] = [
  { name: "honest-a", args: ["--serve-verify"] },
  { name: "honest-b", args: ["--serve-verify"] },
  { name: "honest-c", args: ["--serve-verify"] },
  { name: "q8_0-as-f16", args: ["--cheat", `substitute=${dir}/q8_0.gguf`] },
  { name: "perturbed-as-f16", args: ["--cheat", `substitute=${dir}/perturbed.gguf`] },
];

async function startNode(i: number): Promise<NodeProcess> {
  const p = await spawnNode(
    [
      ...["--data-dir", `${dir}/n${i}`, "--threads", "1", "--queue", "12"],
      ...(WEIGHTS ? ["--sprint-rate", String(SPRINT_RATE)] : ["--no-sprint"]),
      ...["--model", `${dir}/f16.gguf`, ...SPECS[i].args],
      ...(i > 0 ? ["--seed", procs[0].url] : []),
    ],
    {},
    "compute",
  );
  procs.push(p);
  return p;
}

const height = async (url: string) =>
  (await getJson<{ height: number }>(`${url}/v1/status`)).body.height;
/** validator name -> executor name -> epoch -> last record seen. */
const seen = new Map<string, Map<string, Map<number, EvidenceRecord>>>();
/** Node 0's chain-derived evidence: executor name -> epoch -> last record seen. */
const chainSeen = new Map<string, Map<number, EvidenceRecord>>();
/** Node 0's chain-derived flags: executor name -> epoch -> counted jobs at the flag. */
const chainFlags = new Map<string, Map<number, number>>();
let members: Member[] = [];
let polling = true;

async function pollEvidence(): Promise<void> {
  const verifiers = members.filter((m) => !m.substitute);
  while (polling) {
    try {
      for (const v of verifiers) {
        const byExecutor = seen.get(v.name) ?? new Map<string, Map<number, EvidenceRecord>>();
        seen.set(v.name, byExecutor);
        for (const m of members) {
          const r = (await getJson<Reputation>(`${v.proc.url}/v1/reputation/${m.address}`)).body;
          const byEpoch = byExecutor.get(m.name) ?? new Map<number, EvidenceRecord>();
          byExecutor.set(m.name, byEpoch);
          for (const rec of [r.localEvidence.lastEpoch, r.localEvidence.currentEpoch]) {
            if (rec) byEpoch.set(rec.epoch, rec);
          }
          if (v === verifiers[0] && r.chainEvidence) {
            const chain = chainSeen.get(m.name) ?? new Map<number, EvidenceRecord>();
            chainSeen.set(m.name, chain);
            for (const rec of [r.chainEvidence.lastEpoch, r.chainEvidence.currentEpoch]) {
              if (rec) chain.set(rec.epoch, rec);
            }
            if (r.lastFlag) {
              const flags = chainFlags.get(m.name) ?? new Map<number, number>();
              chainFlags.set(m.name, flags);
              flags.set(r.lastFlag.epoch, r.lastFlag.jobs);
            }
          }
        }
      }
    } catch (e) {
      say(`poll: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The flags each verifier logged: executor address -> epoch -> jobs at the flag. */
function flagsLogged(v: Member): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  const re =
    /Margin evidence flags (\S+) in epoch (\d+) after (\d+) job\(s\): (\d+) of (\d+) positions/g;
  for (const m of v.proc.output().matchAll(re)) {
    const byEpoch = out.get(m[1]) ?? new Map<number, string>();
    byEpoch.set(Number(m[2]), `${m[3]} (${m[4]}/${m[5]})`);
    out.set(m[1], byEpoch);
  }
  return out;
}

try {
  say(`starting ${SPECS.length} compute nodes in ${dir}, load ${loadBefore}`);
  const ordered = [await startNode(0)];
  ordered.push(...await Promise.all(SPECS.slice(1).map((_, i) => startNode(i + 1))));
  members = await Promise.all(ordered.map(async (proc, i) => {
    const s = await waitFor(`node ${i}'s compute status`, async () => {
      const s = (await getJson<{ compute?: { rewardAddress: string } }>(`${proc.url}/v1/status`))
        .body;
      return s.compute ? s : null;
    }, 60_000);
    const peers = await new NodeClient(proc.url).peers();
    return {
      name: SPECS[i].name,
      proc,
      address: s.compute!.rewardAddress,
      envelopeKey: peers.self.key ?? "",
      substitute: SPECS[i].name.includes("-as-"),
    };
  }));
  const url0 = members[0].proc.url;

  // The client: one send from node 0's wallet, split into coins for concurrent escrows.
  const { clientKey, clientAddress, node } = await fundClient(
    url0,
    `${dir}/n0/wallet.json`,
    members[0].address,
    180_000,
  );
  const split = buildSpend({
    utxos: await node.spendableCoins(clientAddress),
    secretKey: clientKey,
    fee: 20_000n,
    outputs: Array.from({ length: 30 }, () => ({
      value: COIN + COIN / 4n,
      scriptPubKey: payToAddressScript(clientAddress),
    })),
  });
  await node.sendTx(split.bytes);
  await waitFor(
    "the client's split coins",
    async () => (await node.spendableCoins(clientAddress)).length >= 30,
    60_000,
  );
  // Stakes need mature coins: wait until each node holds a few (at most 4).
  await waitFor("the compute nodes' coins", async () => {
    for (const m of members) {
      const n = (await node.spendableCoins(m.address)).length;
      if (n < Math.min(4, concurrencyOf(m.name))) return false;
    }
    return true;
  }, 180_000);

  // Jobs from the next epoch's first block, for EPOCHS epochs.
  const h0 = await height(url0);
  const firstEpoch = Math.floor(h0 / EPOCH_BLOCKS) + 1;
  await waitFor(
    "the next epoch",
    async () => (await height(url0)) >= firstEpoch * EPOCH_BLOCKS,
    60_000,
  );
  const lastEpoch = firstEpoch + EPOCHS - 1;
  say(`jobs in epochs ${firstEpoch}..${lastEpoch}, load ${loadavg()}`);
  const poller = pollEvidence();
  const spendLock = inProcessSpendLock();
  const results = new Map<string, (SubmitResult | { error: string })[]>();
  let counter = 0;
  const stream = async (m: Member) => {
    const list = results.get(m.name) ?? [];
    results.set(m.name, list);
    while ((await height(url0)) < (lastEpoch + 1) * EPOCH_BLOCKS) {
      const j = counter++;
      try {
        list.push(
          await submitJob({
            node,
            secretKey: clientKey,
            modelId,
            promptTokens: [
              1,
              ...Array.from({ length: 4 + (j % 9) }, (_, i) => 3 + ((j * 31 + i * 7) % 256)),
            ],
            maxTokens: 32,
            temperature: TEMPS[j % TEMPS.length],
            topK: 0,
            topP: 1,
            seed: BigInt(j + 1),
            reward: COIN / 10n,
            fee: 20_000n,
            computeNodes: [m.envelopeKey],
            outsource: {},
            spendLock,
          }),
        );
      } catch (e) {
        list.push({ error: `${(e as { code?: string }).code ?? ""} ${(e as Error).message}` });
        say(`${m.name} job: ${(e as Error).message.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(
    members.flatMap((m) => Array.from({ length: concurrencyOf(m.name) }, () => stream(m))),
  );
  await new Promise((r) => setTimeout(r, 4000)); // the last checks recorded, the poll seeing them
  polling = false;
  await poller;

  // ---- figures ----
  const verifiers = members.filter((m) => !m.substitute);
  console.log(
    `\n## substitute_devnet: epochs ${firstEpoch}..${lastEpoch} (${EPOCH_BLOCKS} blocks each), ` +
      `jobs at a time: ${JSON.stringify(CONCURRENCY)}`,
  );
  console.log(
    `load average before: ${loadBefore}; after: ${loadavg()}; wall ${
      ((Date.now() - started) / 1000).toFixed(0)
    } s`,
  );
  console.log("\n### Jobs per node (client states; outsourced majority verdicts)");
  console.log(
    "| node | jobs | states | outsourced verdicts | failed | client saw FLAGGED | validators paid |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const m of members) {
    const list = results.get(m.name) ?? [];
    const ok = list.filter((r): r is SubmitResult => "jobId" in r);
    const count = (xs: string[]) =>
      JSON.stringify(Object.fromEntries(
        [...new Set(xs)].map((x) => [x, xs.filter((y) => y === x).length]),
      ));
    const flaggedSeen = ok.filter((r) =>
      r.computeNode && "localEvidence" in r.computeNode && r.computeNode.localEvidence?.flagged
    ).length;
    const paid = ok.map((r) =>
      r.outsourced?.paidValidators?.validators.length ?? 0
    );
    console.log(
      `| ${m.name} | ${list.length} | ${count(ok.map((r) => r.state))} | ${
        count(ok.map((r) => r.outsourced?.verdict ?? "none"))
      } | ${list.length - ok.length} | ${flaggedSeen} | ${paid.filter((n) => n > 0).length} jobs, ${
        paid.reduce((a, b) => a + b, 0)
      } records |`,
    );
    for (const r of list) if ("error" in r) console.log(`  failed: ${r.error.slice(0, 160)}`);
  }

  console.log(
    "\n### Each verifier's margin evidence per node and epoch (jobs, exceeding / positions, flagged; " +
      "jobs at the flag from its log)",
  );
  const logs = new Map(verifiers.map((v) => [v.name, flagsLogged(v)]));
  console.log(
    "| node | epoch | " + verifiers.map((v) => `${v.name}: jobs, exc/pos, llr | flag at job`)
      .join(" | ") +
      " |",
  );
  console.log("|---|---|" + verifiers.map(() => "---|---|").join(""));
  for (const m of members) {
    for (let e = firstEpoch - 1; e <= lastEpoch + 1; e++) {
      const cells = verifiers.map((v) => {
        const rec = seen.get(v.name)?.get(m.name)?.get(e);
        const flag = logs.get(v.name)?.get(m.address)?.get(e);
        return rec
          ? `${rec.jobs}, ${rec.exceeded}/${rec.positions}, ${rec.llr.toFixed(2)}${
            rec.flagged ? " FLAGGED" : ""
          } | ${flag ?? "-"}`
          : `- | ${flag ?? "-"}`;
      });
      if (cells.every((c) => c === "- | -")) continue;
      console.log(`| ${m.name} | ${e} | ${cells.join(" | ")} |`);
    }
  }

  // Each epoch inside the job window is one run of the test (it restarts each epoch): flagged
  // within n jobs, in the first verifier's view, against the epochs that had n jobs or more.
  console.log(
    `\n### Runs (epochs ${firstEpoch}..${lastEpoch}, ${
      verifiers[0].name
    }'s view): flagged within n jobs`,
  );
  console.log("| node | jobs per epoch | flagged at job | 1 | 2 | 5 | 10 | 20 |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const m of members) {
    const jobs: number[] = [], at: (number | null)[] = [];
    for (let e = firstEpoch; e <= lastEpoch; e++) {
      jobs.push(seen.get(verifiers[0].name)?.get(m.name)?.get(e)?.jobs ?? 0);
      const f = logs.get(verifiers[0].name)?.get(m.address)?.get(e);
      at.push(f ? Number(f.split(" ")[0]) : null);
    }
    const within = [1, 2, 5, 10, 20].map((n) => {
      const runs = jobs.filter((j, i) => j >= n || (at[i] !== null && at[i]! <= n)).length;
      const hit = at.filter((a) => a !== null && a <= n).length;
      return `${hit}/${runs}`;
    });
    console.log(
      `| ${m.name} | ${jobs.join(", ")} | ${at.map((a) => a ?? "-").join(", ")} | ${
        within.join(" | ")
      } |`,
    );
  }

  console.log("\n### GET /v1/reputation/:key at the end (each verifier's answer)");
  console.log(
    "| node | verifier | reputation | validationProbability | localEvidence.flagged | current / last epoch jobs |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const m of members) {
    for (const v of verifiers) {
      const r = (await getJson<Reputation>(`${v.proc.url}/v1/reputation/${m.address}`)).body;
      console.log(
        `| ${m.name} | ${v.name} | ${r.reputation} | ${r.validationProbability} | ${r.localEvidence.flagged} | ${
          r.localEvidence.currentEpoch?.jobs ?? "-"
        } / ${r.localEvidence.lastEpoch?.jobs ?? "-"} |`,
      );
    }
  }
  if (WEIGHTS) {
    console.log(
      `\n### Chain-derived evidence (${verifiers[0].name}'s node; the same on every node): ` +
        "jobs with counted records, exceeding / positions, llr, flagged",
    );
    console.log("| node | epoch | jobs | exc/pos | llr | flagged | at counted job |");
    console.log("|---|---|---|---|---|---|---|");
    for (const m of members) {
      const byEpoch = [...(chainSeen.get(m.name) ?? new Map<number, EvidenceRecord>()).entries()];
      for (const [e, rec] of byEpoch.sort((a, b) => a[0] - b[0])) {
        console.log(
          `| ${m.name} | ${e} | ${rec.jobs} | ${rec.exceeded}/${rec.positions} | ${
            rec.llr.toFixed(2)
          } | ${rec.flagged ? "FLAGGED" : ""} | ${chainFlags.get(m.name)?.get(e) ?? "-"} |`,
        );
      }
    }
    console.log("\n### lastFlag at the end (every verifier's answer)");
    for (const m of members) {
      const flags = await Promise.all(verifiers.map(async (v) =>
        JSON.stringify(
          (await getJson<Reputation>(`${v.proc.url}/v1/reputation/${m.address}`)).body.lastFlag,
        )
      ));
      console.log(`- ${m.name}: ${flags.join(" / ")}`);
    }
  }
  const test = (await getJson<Reputation>(`${url0}/v1/reputation/${members[0].address}`)).body
    .localEvidence.test;
  console.log(`\ntest: ${JSON.stringify(test)}`);
} finally {
  polling = false;
  await Promise.all(procs.map((p) => p.stop().catch(() => {})));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
