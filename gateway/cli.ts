/**
 * @module `main.ts gateway`: the OpenAI-compatible gateway as a process. It reads the wallet file
 * (and, for local verification, model files: their bytes and ids), then serves
 * {@link createGatewayApp}; keys are required whenever it listens beyond loopback.
 */

import type { Command } from "commander";
import { isHex32 } from "../chain/bytes.ts";
import { parseCoinsOption } from "../chain/amount.ts";
import { modelIdFromBytes } from "../chain/model_id.ts";
import { NodeClient } from "../relay/client.ts";
import { unlockWalletFile } from "../relay/wallet_file.ts";
import { walletSpendLock } from "../cli/wallet_lock.ts";
import { parseIntOption } from "../cli/sampler_options.ts";
import { createGatewayApp } from "./app.ts";

const collect = (value: string, previous: string[]) => [...previous, value];
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** Parses `NAME=MODEL_ID` alias options into a map. */
export function parseAliases(list: readonly string[]): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const a of list) {
    const m = a.match(/^(.+)=(\w+)$/);
    if (!m || !isHex32(m[2])) {
      throw new RangeError(`--alias must be NAME=MODEL_ID (64 hex characters), got ${a}`);
    }
    aliases.set(m[1], m[2]);
  }
  return aliases;
}

/** Registers `gateway` on `program`. */
export function registerGatewayCommand(program: Command): void {
  program.command("gateway")
    .description(
      "serve an OpenAI-compatible API (chat and text completions, models): each request is a network job, paid from --wallet and verified",
    )
    .requiredOption("--wallet <file>", "keystore file that pays the jobs")
    .option("--node <url>", "node API URL", "http://127.0.0.1:8787")
    .option("--host <host>", "listen address (beyond loopback, --api-key is required)", "127.0.0.1")
    .option("--port <port>", "listen port (0 = any free port)", "8080")
    .option("--api-key <key>", "accepted bearer key (repeatable)", collect, [])
    .option("--max-price <coins>", "price cap: most coins paid per 1,000 tokens", "1")
    .option("--fee <coins>", "miner fee per transaction", "0.0002")
    .option("--alias <name=id>", "another model name for a model id (repeatable)", collect, [])
    .option(
      "--model <file>",
      "a GGUF model here: verify its jobs locally (repeatable)",
      collect,
      [],
    )
    .option("--timeout <seconds>", "give up on a job after this long", "120")
    .option("--rate-limit <n>", "requests per minute per key (or client address)", "60")
    .action(async (o) => {
      const keys = o.apiKey as string[];
      if (!LOOPBACK.has(o.host) && keys.length === 0) {
        throw new RangeError(`--api-key is required to listen on ${o.host} (beyond loopback)`);
      }
      const timeout = Number(o.timeout);
      if (!(timeout > 0)) throw new RangeError("--timeout must be a positive number of seconds");
      const { secretKey, keystore } = await unlockWalletFile(o.wallet);
      const localModels = new Map<string, Uint8Array>();
      for (const file of o.model as string[]) {
        const bytes = await Deno.readFile(file);
        localModels.set(modelIdFromBytes(bytes), bytes);
      }
      const app = createGatewayApp({
        node: new NodeClient(o.node),
        secretKey,
        fee: parseCoinsOption("--fee", o.fee, true),
        maxPricePer1k: parseCoinsOption("--max-price", o.maxPrice),
        timeoutMs: timeout * 1000,
        localModels,
        spendLock: walletSpendLock(o.wallet),
        aliases: parseAliases(o.alias),
        apiKeys: keys,
        ratePerMinute: parseIntOption("--rate-limit", String(o.rateLimit), 1, 1_000_000),
      });
      const port = parseIntOption("--port", String(o.port), 0, 65535);
      const server = Deno.serve({
        hostname: o.host,
        port,
        onListen: ({ hostname, port }) => {
          const host = hostname.includes(":") ? `[${hostname}]` : hostname;
          console.log(
            `Gateway listening on http://${host}:${port} (wallet ${keystore.address}, node ${o.node}, ${localModels.size} model(s) verified locally)`,
          );
        },
      }, app.fetch);
      const stop = () => server.shutdown();
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      await server.finished;
    });
}
