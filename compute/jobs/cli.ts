/**
 * @module CLI of the job roles: compute-node options for `node`/`compute` (models, stake, the job
 * worker), and the client's `job submit | status | refund`.
 */

import { type Command, Option } from "commander";
import { parseCoinsOption } from "../../chain/amount.ts";
import { isHex32 } from "../../chain/bytes.ts";
import { unlockKeystore } from "../../chain/keystore.ts";
import { ensureNodeWallet, unlockWalletFile } from "../../relay/wallet_file.ts";
import {
  networkOption,
  type NodeCommandHooks,
  type SearcherFactory,
  walletFileOf,
} from "../../relay/cli.ts";
import { ModelStore } from "../model_store.ts";
import { createFraudChecker } from "../fraud.ts";
import { fetchModel } from "../model_fetch.ts";
import { makeFixture } from "../fixture.ts";
import { loadModel } from "../llama/llama.ts";
import { type CheatMode, JobWorker } from "./worker.ts";
import { inProcessSpendLock } from "./wallet_coins.ts";
import { addSprintOptions, startSprintDuty } from "../sprint_cli.ts";
import { refundAtExpiry, refundEscrow, submitJob } from "../../client/job_client.ts";
import { describeAssignment } from "../../client/phases/choose.ts";
import { describeReputation } from "../../client/phases/reputation.ts";
import { describeSelection } from "../../client/outsourced.ts";
import { describePaidValidators } from "../../client/phases/distribute.ts";
import { JobFailedError, refundAdvice } from "../../client/job_failure.ts";
import { isJobState, JOB_STATES } from "../../client/job_states.ts";
import { coverageOf, formatCoverage } from "../../verifier-wasm/cli.ts";
import { walletSpendLock } from "../../cli/wallet_lock.ts";
import { NodeClient } from "../../relay/client.ts";
import { VerifierService } from "./verifier_service.ts";
import { registerJobReportCommand } from "./report_cli.ts";
import {
  CHEAT_CHOICES,
  parseCheatOption,
  substituteFile,
  substitutingStore,
} from "./substitute_cheat.ts";
import { nodeValidatorDuty } from "./validator_duty.ts";
import { evidenceRecorder, LocalEvidence } from "../weight/local_evidence.ts";
import { modelIdOfFile } from "../model_file.ts";
import {
  addPositionOptions,
  addSamplerOptions,
  outsourceSettings,
  parseIntOption,
  parseTokenList,
  positionSettings,
  samplerSettings,
} from "../../cli/sampler_options.ts";
import { MAX_OUTPUT_TOKENS } from "../../chain/job.ts";
import { networkParams } from "../../chain/params.ts";
import { textForOutput } from "../../cli/terminal_text.ts";
import { tokenizerForModel } from "../../client/model_metadata.ts";
import { answerText, messagesPrompt, textPrompt } from "../../client/prompt.ts";
import { Tokenizer } from "../../client/tokenizer/mod.ts";
import { readVocabularyMetadata } from "../fixture.ts";
import { readMessages } from "../tokenize_cli.ts";
import { registerJobTreeCommand } from "./tree_cli.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

/** `--compute-node` keys checked (33-byte compressed keys, hex); undefined when none is named. */
function computeNodeKeys(keys: string[]): string[] | undefined {
  for (const k of keys) {
    if (!/^0[23][0-9a-f]{64}$/.test(k)) {
      throw new RangeError(`--compute-node ${k} is not a compressed public key (66 hex digits)`);
    }
  }
  return keys.length ? keys : undefined;
}

/** Path of the default generated model inside a data directory. */
export function defaultModelPath(dataDir: string): string {
  return `${dataDir}/models/tiny-f16-seed1.gguf`;
}

/** Writes the default tiny fixture model (deterministic) when it is missing; returns its path. */
export async function ensureDefaultModel(dataDir: string): Promise<string> {
  const path = defaultModelPath(dataDir);
  try {
    await Deno.lstat(path);
  } catch {
    await Deno.mkdir(`${dataDir}/models`, { recursive: true });
    const tmp = `${path}.tmp-${crypto.randomUUID()}`;
    await Deno.writeFile(tmp, makeFixture({ size: "tiny", dtype: "f16", seed: 1n, eosBias: 4 }));
    await Deno.rename(tmp, path);
  }
  return path;
}

/**
 * Node command hooks for models and compute: `--model`, `--models-dir` (fraud proofs are checked
 * against these), and with `--compute` (always for the `compute` command) the job worker.
 */
export function computeNodeHooks(
  searcherFactory: SearcherFactory,
  alwaysCompute: boolean,
): NodeCommandHooks {
  let models: ModelStore;
  return {
    searcherFactory,
    addOptions: (cmd) => {
      cmd.option(
        "--model <file>",
        "a GGUF model to serve and to check fraud proofs with (repeatable)",
        collect,
        [],
      )
        .option("--models-dir <dir>", "a directory of GGUF models (repeatable)", collect, []);
      if (!alwaysCompute) {
        cmd.option("--compute", "also take jobs (the default model is a generated tiny one)");
      }
      cmd.option("--stake <coins>", "stake locked per job", "1")
        .option("--min-reward <coins>", "smallest reward taken", "0.01")
        .option(
          "--queue <n>",
          "jobs taken at most: running or waiting to run, and acceptances not yet assigned (held 15 s)",
          "4",
        )
        .option(
          "--threads <n>",
          "generation threads",
          String(Math.min(2, navigator.hardwareConcurrency || 1)),
        );
      addSprintOptions(cmd)
        .addOption(
          new Option(
            "--cheat <mode>",
            `dev network only: cheat to exercise disputes (${
              CHEAT_CHOICES.join(", ")
            }, or substitute=<file>: generate every job with that GGUF, claimed as the model held)`,
          )
            .argParser(parseCheatOption)
            .default("none"),
        )
        .option(
          "--serve-verify",
          "answer outsourced verification requests for the models here (the default model is a generated tiny one)",
        );
    },
    prepare: async (opts, base) => {
      const files = [...(opts.model as string[])];
      const compute = alwaysCompute || !!opts.compute;
      if (
        (compute || opts.serveVerify) && files.length === 0 &&
        (opts.modelsDir as string[]).length === 0
      ) {
        files.push(await ensureDefaultModel(base.dataDir));
      }
      models = await ModelStore.open({ files, dirs: opts.modelsDir as string[] });
      return { models, fraudChecker: createFraudChecker(models) };
    },
    started: async (node, opts, base) => {
      // Models this node lacks (e.g. to check a fraud proof) are fetched from its peers by id.
      models.fetcher = async (id) => {
        await Deno.mkdir(`${base.dataDir}/models`, { recursive: true });
        const info = node.network.peersInfo() as {
          links: { url: string | null }[];
          table: { url: string }[];
        };
        const peers = [
          ...new Set([...info.links.map((l) => l.url), ...info.table.map((t) => t.url)]),
        ]
          .filter((u): u is string => !!u && u !== node.url);
        return await fetchModel(id, peers, `${base.dataDir}/models/${id}.gguf`, {
          progress: false,
        });
      };
      for (const id of models.ids()) console.log(`Model ${id} (${models.path(id)})`);
      const cheatMode = opts.cheat as string;
      if (cheatMode !== "none" && base.network !== "dev") {
        throw new RangeError("--cheat exists only on the dev network");
      }
      if (opts.serveVerify) {
        if (models.ids().length === 0) {
          throw new RangeError("--serve-verify needs --model or --models-dir");
        }
        // Its wallet key holds its compute weight: where weights are in force it votes only on
        // the jobs its draw makes it due for (client/validator_ticket.ts).
        const keystore = await ensureNodeWallet(base.dataDir, base.network);
        const validatorKey = await unlockKeystore(
          keystore,
          Deno.env.get("CAMELID_PASSPHRASE") ?? "",
        );
        new VerifierService({
          network: node.network,
          models,
          lie: cheatMode === "lie-verify",
          validator: nodeValidatorDuty(new NodeClient(node.url), validatorKey),
          // Its own margin evidence per executor, shown apart in /v1/reputation/:key.
          evidence: evidenceRecorder(node.chain, new LocalEvidence(node.chain.store.kv)),
        });
        node.addStatus("verifier", () => ({ models: models.ids(), validator: keystore.address }));
        console.log(
          `Verifier: answering verification requests${
            cheatMode === "lie-verify" ? ", LYING (cheat)" : ""
          }; validator ${keystore.address} (with compute weights in force: only when due)`,
        );
      }
      if (!alwaysCompute && !opts.compute) return;
      const keystore = await ensureNodeWallet(base.dataDir, base.network);
      const secretKey = await unlockKeystore(keystore, Deno.env.get("CAMELID_PASSPHRASE") ?? "");
      const substitute = substituteFile(cheatMode);
      const cheat = (opts.cheat === "lie-verify" || substitute ? "none" : opts.cheat) as CheatMode;
      const spendLock = inProcessSpendLock(); // the worker's stakes and the sprint duty's proofs
      const worker = new JobWorker({
        chain: node.chain,
        network: node.network,
        models: substitute ? await substitutingStore(models, substitute) : models,
        loadModel: (p) => loadModel(p),
        secretKey,
        stake: parseCoinsOption("--stake", opts.stake as string, true),
        minReward: parseCoinsOption("--min-reward", opts.minReward as string, true),
        queueSize: Number(opts.queue),
        threads: Number(opts.threads),
        cheat,
        spendLock,
      });
      await worker.start();
      node.addStatus("compute", () => worker.status());
      startSprintDuty(node, opts, { secretKey, spendLock, busy: () => worker.running > 0 });
      console.log(
        `Compute node: serving ${models.ids().length} model(s), rewards to ${keystore.address}${
          cheat !== "none" || substitute ? `, CHEATING (${substitute ? cheatMode : cheat})` : ""
        }`,
      );
    },
  };
}

/** Registers `job submit | status | refund | tree | report`. */
export function registerJobCommands(program: Command): void {
  const job = program.command("job").description(
    "pay a compute node for a completion and check it",
  );
  const wallet = (c: Command) =>
    c.addOption(networkOption())
      .option("--wallet <file>", "keystore file (default <data-dir>/wallet.json)")
      .option("--data-dir <dir>", "data directory (default ./.camelid/<network>)")
      .option("--node <url>", "node API URL", "http://127.0.0.1:8787");

  const submit = wallet(
    job.command("submit").description("offer a job, pay the node that does it, verify the output"),
  )
    .option("--model <file>", "the model file (gives the id, tokenizes --prompt, verifies locally)")
    .option(
      "--model-id <id>",
      "the model id, when the model file is not at hand (the tokenizer comes from --node, checked against the id)",
    )
    .option("--prompt <text>", "prompt text")
    .option(
      "--messages <file>",
      'a chat as JSON ([{"role": "user", "content": "..."}]) rendered with the model\'s chat template',
    )
    .option("--prompt-tokens <ids>", "prompt token ids, comma-separated")
    .requiredOption("--max-tokens <n>", "most output tokens");
  addSamplerOptions(submit)
    .requiredOption("--reward <coins>", "reward paid from escrow")
    .option("--fee <coins>", "miner fee per transaction", "0.0002")
    .addOption(
      new Option("--expiry-blocks <n>", "blocks until an unpaid escrow refunds")
        .default(
          undefined,
          `the network's: ${networkParams("main").jobs.defaultExpiry}, on dev ${
            networkParams("dev").jobs.defaultExpiry
          }`,
        ),
    )
    .addOption(
      new Option("--verify <how>", "check the output: with the model here, by neighbours, or not")
        .choices(["local", "outsourced", "none"]).default(
          undefined,
          "local with --model, else outsourced",
        ),
    )
    .option(
      "--verifiers <n>",
      "outsourced: votes asked for; a majority decides (default: as many nodes as serve verification for the model)",
    )
    .option(
      "--compute-node <key>",
      "offer only to this compute node (envelope key, hex; repeatable), the first to accept takes it; without it, one drawn by compute weight",
      collect,
      [],
    );
  addPositionOptions(submit)
    .option("--timeout <seconds>", "give up waiting for a compute node after this long", "120")
    .option(
      "--delivery-timeout <seconds>",
      "wait this long for the output, then claim on chain",
      "30",
    )
    .option(
      "--refund-on-failure",
      "when the job fails after the escrow is published, wait for its expiry and refund it",
    )
    .option("--dev-never-pay", "dev tests: stop after the receipt and never pay")
    .option(
      "--dev-ignore-delivery",
      "dev tests: ignore the delivery (claims non-delivery on chain)",
    )
    .option("--json", "print one JSON object at the end")
    .action(async (o) => {
      if (!o.model && !o.modelId) throw new RangeError("give --model FILE or --model-id ID");
      if ([o.prompt, o.promptTokens, o.messages].filter((x) => x !== undefined).length !== 1) {
        throw new RangeError("give exactly one of --prompt, --messages and --prompt-tokens");
      }
      const computeNodes = computeNodeKeys(o.computeNode);
      const modelId = o.model ? await modelIdOfFile(o.model) : String(o.modelId);
      if (o.model && o.modelId && o.modelId !== modelId) {
        throw new RangeError("--model-id does not match --model");
      }
      const chat = o.messages === undefined ? undefined : await readMessages(o.messages);
      // With the file, llama.cpp tokenizes plain prompts; otherwise the TypeScript tokenizer, from
      // the file's metadata or from the node's (checked against the model id).
      const llama = o.model && !chat && (o.prompt || !o.json) ? await loadModel(o.model) : null;
      const tok = llama || o.promptTokens !== undefined
        ? null
        : o.model
        ? Tokenizer.fromMetadata(await readVocabularyMetadata(o.model))
        : await tokenizerForModel(o.node, modelId);
      const prompt = chat && tok
        ? messagesPrompt(tok, chat)
        : llama
        ? { tokens: llama.tokenize(String(o.prompt), true), stop: [] }
        : tok
        ? textPrompt(tok, String(o.prompt))
        : { tokens: parseTokenList(String(o.promptTokens)), stop: [] };
      const promptTokens = prompt.tokens;
      const verify = o.verify ?? (o.model ? "local" : "outsourced");
      if (verify === "local" && !o.model) throw new RangeError("--verify local needs --model");
      const { secretKey } = await unlockWalletFile(walletFileOf(o));
      const checks = positionSettings(o);
      const node = new NodeClient(o.node);
      const fee = parseCoinsOption("--fee", o.fee, true);
      const say = o.json
        ? undefined
        : (state: string, d: Record<string, unknown>) =>
          console.error(`[${state}] ${JSON.stringify(d)}`);
      const result = await submitJob({
        node,
        spendLock: walletSpendLock(walletFileOf(o)),
        secretKey,
        modelId,
        promptTokens,
        maxTokens: parseIntOption("--max-tokens", String(o.maxTokens), 1, MAX_OUTPUT_TOKENS),
        ...samplerSettings(o),
        reward: parseCoinsOption("--reward", o.reward),
        fee,
        expiryBlocks: o.expiryBlocks !== undefined ? Number(o.expiryBlocks) : undefined,
        verifyWith: verify === "local" ? await Deno.readFile(o.model) : undefined,
        neverPay: !!o.devNeverPay,
        ignoreDelivery: !!o.devIgnoreDelivery,
        deliveryTimeoutMs: Number(o.deliveryTimeout) * 1000,
        timeoutMs: Number(o.timeout) * 1000,
        ...checks,
        outsource: outsourceSettings(verify, o.verifiers, checks.k),
        computeNodes,
        onState: say,
      }).catch(async (e) => {
        if (!(e instanceof JobFailedError)) throw e;
        const { height } = await node.status();
        const params = networkParams(o.network);
        console.error(refundAdvice(e.atRisk, height, params));
        if (!o.refundOnFailure) throw e;
        console.error(`waiting for height ${e.atRisk.expiryHeight} to refund the escrow...`);
        const refund = await refundAtExpiry(
          node,
          secretKey,
          e.atRisk.escrow,
          e.atRisk.expiryHeight,
          fee,
        );
        say?.("refunded", { refund, escrow: `${e.atRisk.escrow.txid}:${e.atRisk.escrow.vout}` });
        console.error(
          refund
            ? `refund ${refund}: the escrow is back in your wallet once it is mined`
            : "the escrow was spent before expiry (the node was paid, or a fraud proof took it)",
        );
        throw e;
      });
      const text = !result.outputTokens
        ? null
        : llama
        ? llama.detokenize(result.outputTokens, true)
        : tok
        ? answerText(tok, result.outputTokens, prompt.stop)
        : null;
      if (o.json) {
        console.log(JSON.stringify({
          jobId: result.jobId,
          state: result.state,
          escrow: { txid: result.escrow.txid, vout: result.escrow.vout },
          stake: result.receipt?.stake ?? null,
          outputTokens: result.outputTokens ?? null,
          finishReason: result.finishReason ?? null,
          verdict: result.verdict?.verdict ?? null,
          reasons: result.verdict?.reasons ?? [],
          coverage: result.verdict && result.outputTokens
            ? coverageOf(result.verdict, result.outputTokens.length)
            : null,
          notes: result.notes,
          fraudTxid: result.fraudTxid ?? null,
          slashTxid: result.slashTxid ?? null,
          outsourced: result.outsourced ?? null,
          assignment: result.assignment ?? null,
          computeNode: result.computeNode ?? null,
          text,
        }));
      } else {
        console.log(`job ${result.jobId}: ${result.state}`);
        if (text !== null) console.log(textForOutput(text, Deno.stdout.isTerminal()));
        else if (result.outputTokens) console.log(result.outputTokens.join(","));
        if (result.assignment) console.log(describeAssignment(result.assignment));
        if (result.computeNode) console.log(describeReputation(result.computeNode));
        if (result.verdict) {
          console.log(
            `verdict: ${result.verdict.verdict}${
              result.verdict.reasons.length ? ` (${result.verdict.reasons.join("; ")})` : ""
            }`,
          );
        }
        if (result.verdict && result.outputTokens) {
          console.log(
            formatCoverage(
              coverageOf(result.verdict, result.outputTokens.length),
              result.verdict.positions,
            ),
          );
        }
        if (result.outsourced) {
          const votes = result.outsourced.votes.map((v) => `${v.key.slice(0, 10)}…: ${v.verdict}`);
          console.log(`verdict (outsourced): ${result.outsourced.verdict} [${votes.join(", ")}]`);
          console.log(describeSelection(result.outsourced));
          const paid = result.outsourced.paidValidators;
          if (paid) console.log(describePaidValidators(paid));
          const outputPositions = result.outputTokens?.length ?? 0;
          const { checked } = result.outsourced;
          console.log(formatCoverage(
            {
              checked,
              outputPositions,
              detectionChance: outputPositions ? Math.min(1, checked / outputPositions) : 1,
            },
            checked >= outputPositions ? "all" : "sampled",
          ));
        }
        if (result.slashTxid) {
          console.log(`non-delivery: the stake is slashed to you (${result.slashTxid})`);
        }
        if (result.fraudTxid) {
          console.log(
            `fraud proof ${result.fraudTxid}: the stake is slashed to you and the escrow refunded`,
          );
        }
      }
      for (const note of result.notes) console.error(note);
      if (result.state === "bad-delivery") Deno.exit(2);
    });

  job.command("status").description("show a job as a node's job pool sees it")
    .argument("<id>", "job id")
    .option("--node <url>", "node API URL", "http://127.0.0.1:8787")
    .action(async (id, o) => {
      const job = await new NodeClient(o.node).job(id);
      const means = isJobState(job.state) ? JOB_STATES[job.state].means : null;
      console.log(JSON.stringify({ ...job, means }, null, 2));
    });

  wallet(
    job.command("refund").description("take back an unpaid escrow at or after its expiry height"),
  )
    .requiredOption("--escrow <txid:vout>", "the escrow output")
    .option("--fee <coins>", "miner fee", "0.0002")
    .action(async (o) => {
      const m = String(o.escrow).match(/^(\w+):(\d+)$/);
      if (!m || !isHex32(m[1])) throw new RangeError("--escrow must be TXID:VOUT");
      const { secretKey } = await unlockWalletFile(walletFileOf(o));
      const txid = await refundEscrow(new NodeClient(o.node), secretKey, {
        txid: m[1],
        vout: Number(m[2]),
      }, parseCoinsOption("--fee", o.fee, true));
      console.log(`refund ${txid}`);
    });

  registerJobTreeCommand(job, wallet, walletFileOf);
  registerJobReportCommand(job, wallet, walletFileOf);
}
