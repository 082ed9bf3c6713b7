/**
 * @module `job tree`: a job tree from the command line (client/job_tree.ts). Prints each layer and
 * each child's outcome on stderr as the tree grows, then the tree as an outline (stdout), or with
 * `--json` as one JSON object (stdout; the outline goes to stderr).
 */

import { type Command, Option } from "commander";
import { formatCoins, parseCoinsOption } from "../../chain/amount.ts";
import { MAX_OUTPUT_TOKENS } from "../../chain/job.ts";
import { unlockWalletFile } from "../../relay/wallet_file.ts";
import { NodeClient } from "../../relay/client.ts";
import {
  addPositionOptions,
  addSamplerOptions,
  outsourceSettings,
  parseIntOption,
  positionSettings,
  samplerSettings,
} from "../../cli/sampler_options.ts";
import {
  runJobTree,
  type TreeEvent,
  treeJson,
  treeNodes,
  treeOutline,
} from "../../client/job_tree.ts";
import { DEFAULT_CHILD_TEMPLATE, isSplitRule, SPLIT_RULES } from "../../client/split_rules.ts";
import { tokenizerForModel } from "../../client/model_metadata.ts";
import { Tokenizer } from "../../client/tokenizer/mod.ts";
import { readVocabularyMetadata } from "../fixture.ts";
import { modelIdOfFile } from "../model_file.ts";
import { readMessages } from "../tokenize_cli.ts";
import { walletSpendLock } from "../../cli/wallet_lock.ts";

/** One progress line for a tree event. */
export function describeTreeEvent(e: TreeEvent): string {
  switch (e.kind) {
    case "placement":
      return e.by === "weight"
        ? `[tree] jobs placed by compute weight of sprint ${e.sprint} (drawn among the free nodes)`
        : `[tree] jobs placed on the least used free node (no weighted draw: ${e.reason})`;
    case "layer":
      return `[layer ${e.depth}] ${e.children} job(s) going out`;
    case "attempt":
      return `[${e.path}] offered to ${e.computeNode.slice(0, 12)}… (attempt ${e.attempt + 1}; ${
        e.by === "weight"
          ? `drawn by weight ${e.weight}, ${
            ((e.share ?? 0) * 100).toFixed(1)
          }% chance among ${e.among} free`
          : `least used of ${e.among} free`
      })`;
    case "done":
      return `[${e.path}] ${e.outcome} on ${e.computeNode.slice(0, 12)}…${
        e.jobId ? ` job ${e.jobId}` : ""
      }`;
    case "layer-done":
      return `[layer ${e.depth}] ${e.verified}/${e.children} verified in ${Math.round(e.ms)} ms`;
    case "stop":
      return `[${e.path}] stop: ${e.reason}`;
  }
}

/**
 * Registers `job tree` on the `job` command; `withWallet` adds the wallet options (`--network`,
 * `--wallet`, `--data-dir`, `--node`) and `walletFile` reads them.
 */
export function registerJobTreeCommand(
  job: Command,
  withWallet: (c: Command) => Command,
  walletFile: (o: { wallet?: string; dataDir?: string; network: string }) => string,
): void {
  const tree = withWallet(
    job.command("tree").description(
      "a job tree: split the root's answer into parts, run each part as a child job on another compute node, layer by layer",
    ),
  )
    .option("--model <file>", "the model file (gives the id and the tokenizer, verifies locally)")
    .option("--model-id <id>", "the model id (the tokenizer comes from --node)")
    .option("--prompt <text>", "the root prompt")
    .option("--messages <file>", "the root as a chat (JSON), rendered with the model's template")
    .addOption(
      new Option("--split <rule>", "how an answer becomes parts").choices([...SPLIT_RULES])
        .default("list"),
    )
    .option(
      "--template <text>",
      "each child's prompt: {part} is the part, {parent} the parent's answer",
      DEFAULT_CHILD_TEMPLATE,
    )
    .option("--depth <n>", "child layers below the root", "2")
    .option("--fanout <n>", "most children per node", "3")
    .option("--min-chars <n>", "shortest part that becomes a child", "8")
    .requiredOption("--budget <coins>", "most coins the tree may lock (rewards and fees)")
    .requiredOption("--max-tokens <n>", "most output tokens per job");
  addSamplerOptions(tree)
    .requiredOption("--reward <coins>", "reward of each job")
    .option("--fee <coins>", "miner fee per transaction", "0.0002")
    .option("--expiry-blocks <n>", "blocks until an unpaid escrow refunds")
    .addOption(
      new Option("--verify <how>", "check every job: with the model here or by neighbours")
        .choices(["local", "outsourced"]).default(undefined, "local with --model, else outsourced"),
    )
    .option("--verifiers <n>", "outsourced: votes asked for per job");
  addPositionOptions(tree)
    .option("--timeout <seconds>", "give up on one job after this long", "120")
    .option("--json", "print the tree as one JSON object at the end")
    .action(async (o) => {
      if (!o.model && !o.modelId) throw new RangeError("give --model FILE or --model-id ID");
      if ((o.prompt === undefined) === (o.messages === undefined)) {
        throw new RangeError("give exactly one of --prompt and --messages");
      }
      if (!isSplitRule(String(o.split))) throw new RangeError("unknown --split rule");
      const modelId = o.model ? await modelIdOfFile(o.model) : String(o.modelId);
      if (o.model && o.modelId && o.modelId !== modelId) {
        throw new RangeError("--model-id does not match --model");
      }
      const tokenizer = o.model
        ? Tokenizer.fromMetadata(await readVocabularyMetadata(o.model))
        : await tokenizerForModel(o.node, modelId);
      const verify = o.verify ?? (o.model ? "local" : "outsourced");
      if (verify === "local" && !o.model) throw new RangeError("--verify local needs --model");
      const { secretKey } = await unlockWalletFile(walletFile(o));
      const checks = positionSettings(o);
      const { seed, ...sampler } = samplerSettings(o);
      const result = await runJobTree({
        node: new NodeClient(o.node),
        secretKey,
        modelId,
        tokenizer,
        root: o.messages !== undefined
          ? { messages: await readMessages(o.messages) }
          : { prompt: String(o.prompt) },
        split: o.split,
        template: String(o.template),
        depth: parseIntOption("--depth", String(o.depth), 0, 8),
        fanout: parseIntOption("--fanout", String(o.fanout), 1, 64),
        minChars: parseIntOption("--min-chars", String(o.minChars), 1, 100_000),
        budget: parseCoinsOption("--budget", o.budget),
        maxTokens: parseIntOption("--max-tokens", String(o.maxTokens), 1, MAX_OUTPUT_TOKENS),
        reward: parseCoinsOption("--reward", o.reward),
        fee: parseCoinsOption("--fee", o.fee, true),
        seed,
        sampler,
        job: {
          spendLock: walletSpendLock(walletFile(o)),
          timeoutMs: Number(o.timeout) * 1000,
          expiryBlocks: o.expiryBlocks !== undefined
            ? parseIntOption("--expiry-blocks", String(o.expiryBlocks), 1, 1_000_000)
            : undefined,
          verifyWith: verify === "local" ? await Deno.readFile(o.model) : undefined,
          ...checks,
          outsource: outsourceSettings(verify, o.verifiers, checks.k),
        },
        onEvent: (e) => console.error(describeTreeEvent(e)),
      });
      const outline = treeOutline(result.root);
      const summary = `${treeNodes(result.root).length} node(s), ${result.jobs} job(s), ${
        formatCoins(result.reserved)
      } of ${formatCoins(result.budget)} coins reserved`;
      if (o.json) {
        console.error(outline);
        console.error(summary);
        console.log(JSON.stringify(treeJson(result)));
      } else {
        console.log(outline);
        console.log(summary);
      }
      for (const n of treeNodes(result.root)) {
        for (const a of n.attempts) {
          if (a.escrowAtRisk) {
            console.error(
              `[${n.path}] escrow ${a.escrowAtRisk.txid}:${a.escrowAtRisk.vout} refunds at height ${a.escrowAtRisk.expiryHeight}: main.ts job refund --escrow ${a.escrowAtRisk.txid}:${a.escrowAtRisk.vout}`,
            );
          }
        }
      }
    });
}
