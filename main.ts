/** @module The CamelidCoin CLI: every role is a subcommand (`node`, `wallet`, `devnet`, `model`, `generate`, `verify`, ...). */

import { Command, CommanderError } from "commander";
import {
  configure,
  getConsoleSink,
  getJsonLinesFormatter,
  getTextFormatter,
  type LogLevel,
} from "@logtape/logtape";
import { errorLine } from "./cli/error_line.ts";
import { helpSettings } from "./cli/help.ts";
import { registerNodeCommand, registerWalletCommands } from "./relay/cli.ts";
import { registerGenerateCommand, registerModelCommands } from "./compute/cli.ts";
import { registerVerifyCommand } from "./verifier-wasm/cli.ts";
import { openLlamaBackend } from "./compute/llama_backend.ts";
import { registerDevnetCommand } from "./relay/devnet.ts";
import { createMinerPool } from "./compute/miner_pool.ts";
import { computeNodeHooks, registerJobCommands } from "./compute/jobs/cli.ts";
import { registerTokenizeCommands } from "./compute/tokenize_cli.ts";
import { registerGatewayCommand } from "./gateway/cli.ts";
// -- role registrations (one import per role module) --

/** Builds the CLI program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command()
    .name("camelid")
    .description(
      "CamelidCoin: pay untrusted compute nodes for LLM completions, and check the work cheaply",
    )
    .version("0.1.0")
    .option(
      "--log-level <level>",
      "log level: debug, info, warning, error",
      Deno.env.get("CAMELID_LOG") ?? "info",
    )
    .option("--log-json", "structured JSON Lines logs on stderr")
    .showHelpAfterError()
    .configureHelp(helpSettings); // before the commands: they inherit it
  const searcher = async (kind: string) =>
    kind === "wasm" ? (await createMinerPool()).search : undefined;
  registerNodeCommand(program, computeNodeHooks(searcher, false));
  registerNodeCommand(
    program,
    computeNodeHooks(searcher, true),
    "compute",
    "start a compute node: a full node that takes jobs, generates, stakes and delivers",
  );
  registerJobCommands(program);
  registerWalletCommands(program);
  registerDevnetCommand(program);
  registerModelCommands(program);
  registerGenerateCommand(program);
  registerVerifyCommand(program, { llama: openLlamaBackend });
  registerTokenizeCommands(program);
  registerGatewayCommand(program);
  // -- role registrations (one call per role module) --
  return program;
}

async function setupLogging(level: string, json: boolean): Promise<void> {
  const levels = ["debug", "info", "warning", "error"];
  if (!levels.includes(level)) {
    throw new RangeError(`--log-level must be one of ${levels.join(", ")}`);
  }
  await configure({
    sinks: {
      console: getConsoleSink({
        formatter: json ? getJsonLinesFormatter() : getTextFormatter({ value: "bare" }),
      }),
    },
    loggers: [
      { category: ["camelid"], lowestLevel: level as LogLevel, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

if (import.meta.main) {
  const program = buildProgram();
  program.hook("preAction", async (cmd) => {
    const opts = cmd.optsWithGlobals();
    await setupLogging(opts.logLevel, !!opts.logJson);
  });
  program.exitOverride();
  try {
    await program.parseAsync(Deno.args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) Deno.exit(e.exitCode);
    console.error(errorLine(e) ?? e); // one line for a user error, the whole of a bug
    Deno.exit(1);
  }
}
