/** @module CLI commands of the node role: `node` and `wallet new | address | balance | send`. */

import { Command, Option } from "commander";
import { formatCoins, parseCoinsOption } from "../chain/amount.ts";
import { NodeClient } from "./client.ts";
import { decodeAddress } from "../chain/keys.ts";
import { buildPayment } from "../chain/wallet.ts";
import { walletSpendLock } from "../cli/wallet_lock.ts";
import { type NodeOptions, type RunningNode, startNode } from "./node.ts";
import type { NonceSearcher } from "../chain/miner.ts";
import {
  assertNoWalletAt,
  passphraseFromEnvironment,
  readKeystore,
  unlockWalletFile,
  walletPath,
  writeNewKeystore,
} from "./wallet_file.ts";

/** Default data directory of a network. */
export function defaultDataDir(network: string): string {
  return `./.camelid/${network}`;
}

/** `--network`: main, test or dev (the default). */
export function networkOption(): Option {
  return new Option("--network <name>", "network").choices(["main", "test", "dev"]).default("dev");
}

/** The wallet file of a command's options: `--wallet`, else the one in the (default) data directory. */
export function walletFileOf(o: { wallet?: string; dataDir?: string; network: string }): string {
  return o.wallet ?? walletPath(o.dataDir ?? defaultDataDir(o.network));
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `--data-dir`, whose default depends on `--network` (shown in the help). */
function dataDirOption(): Option {
  return new Option("--data-dir <dir>", "data directory").default(
    undefined,
    defaultDataDir("<network>"),
  );
}

/** Makes the miner's nonce searcher of a `--miner` kind (undefined: the TypeScript loop). */
export type SearcherFactory = (kind: string) => Promise<NonceSearcher | undefined>;

/** Role-specific additions to the node command, supplied by `main.ts` (compute, models). */
export interface NodeCommandHooks {
  /** The `--miner wasm` searcher. */
  searcherFactory?: SearcherFactory;
  /** Adds options to the command. */
  addOptions?: (cmd: Command) => void;
  /** Extra node options from the parsed options (e.g. a fraud checker over the models). */
  prepare?: (opts: Record<string, unknown>, base: NodeOptions) => Promise<Partial<NodeOptions>>;
  /** Runs once the node is up (e.g. starts the compute worker). */
  started?: (node: RunningNode, opts: Record<string, unknown>, base: NodeOptions) => Promise<void>;
}

/**
 * Registers a node command (`node`, or another `name` such as `compute` with other defaults):
 * starts a full node, with the role additions of `hooks`.
 */
export function registerNodeCommand(
  program: Command,
  hooks: NodeCommandHooks = {},
  name = "node",
  description = "start a full node: chain in Deno KV, HTTP API, miner",
): void {
  const cmd = program.command(name)
    .description(description)
    .addOption(networkOption())
    .option("--port <port>", "HTTP port", (v) => parsePort(v), 8787)
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .addOption(dataDirOption())
    .option("--no-mine", "do not mine")
    .addOption(
      new Option("--mine-to <address>", "address the mined coins go to").default(
        undefined,
        "the node wallet's address",
      ),
    )
    .option("--seed <url>", "seed node URL (repeatable)", collect, [])
    .option("--peers-config <file>", "peer configuration file (JSON)")
    .addOption(
      new Option("--miner <kind>", "nonce search: wasm (SIMD kernel, one worker per core) or ts")
        .choices(["wasm", "ts"]).default("wasm"),
    );
  hooks.addOptions?.(cmd);
  cmd.action(async (opts) => {
    const options: NodeOptions = {
      network: opts.network,
      dataDir: opts.dataDir ?? defaultDataDir(opts.network),
      port: opts.port,
      hostname: opts.host,
      mine: opts.mine,
      mineTo: opts.mineTo,
      seeds: opts.seed,
      peersConfig: opts.peersConfig,
    };
    if (options.mineTo) decodeAddress(options.mineTo);
    options.searcher = options.mine && hooks.searcherFactory
      ? await hooks.searcherFactory(opts.miner)
      : undefined;
    Object.assign(options, await hooks.prepare?.(opts, options));
    // The node serves HTTP before startNode returns (the mempool restores in the background), so a
    // stop can come at any moment from then on: listen for it before starting.
    const starting = startNode(options);
    const stop = async () => {
      const node = await starting.catch(() => undefined);
      await node?.close();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    const node = await starting;
    await hooks.started?.(node, opts, options);
  });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`invalid port "${v}"`);
  return n;
}

/** Registers `wallet new | address | balance | send`. */
export function registerWalletCommands(program: Command): void {
  const wallet = program.command("wallet").description(
    "a passphrase-encrypted wallet (CAMELID_PASSPHRASE for scripts)",
  );
  const common = (c: Command) =>
    c.addOption(networkOption())
      .addOption(
        new Option("--wallet <file>", "keystore file").default(undefined, "<data-dir>/wallet.json"),
      )
      .addOption(dataDirOption());

  common(wallet.command("new").description("create a new wallet (refuses to overwrite)")).action(
    async (o) => {
      const path = walletFileOf(o);
      await assertNoWalletAt(path); // before asking for a passphrase
      const ks = await writeNewKeystore(
        path,
        passphraseFromEnvironment(`encrypt the new wallet ${path}`, true),
      );
      console.log(`Created wallet ${path}`);
      console.log(`Address: ${ks.address}`);
    },
  );

  common(wallet.command("address").description("print the wallet's address")).action(async (o) => {
    console.log((await readKeystore(walletFileOf(o))).address);
  });

  common(wallet.command("balance").description("show the wallet's balance as the node sees it"))
    .option("--node <url>", "node API URL", "http://127.0.0.1:8787")
    .option("--json", "print JSON")
    .action(async (o) => {
      const ks = await readKeystore(walletFileOf(o));
      const a = await new NodeClient(o.node).address(ks.address);
      const pending = a.unconfirmed.reduce((s, u) => s + BigInt(u.units), 0n);
      if (o.json) {
        console.log(
          JSON.stringify({
            address: ks.address,
            balance: a.balance,
            spendable: a.spendable,
            unconfirmed: formatCoins(pending),
          }),
        );
      } else {
        console.log(`Address:     ${ks.address}`);
        console.log(`Balance:     ${a.balance} CML (confirmed)`);
        console.log(`Spendable:   ${a.spendable} CML (mature, not spent in the mempool)`);
        console.log(`Unconfirmed: ${formatCoins(pending)} CML incoming`);
      }
    });

  common(wallet.command("send").description("pay coins to an address"))
    .requiredOption("--to <address>", "recipient address")
    .requiredOption("--amount <coins>", "amount in coins, e.g. 1.5")
    .option("--fee <coins>", "miner fee in coins", "0.0001")
    .option("--node <url>", "node API URL", "http://127.0.0.1:8787")
    .action(async (o) => {
      decodeAddress(o.to);
      const amount = parseCoinsOption("--amount", o.amount);
      const fee = parseCoinsOption("--fee", o.fee, true);
      const file = walletFileOf(o);
      const { keystore, secretKey } = await unlockWalletFile(file);
      const node = new NodeClient(o.node);
      // Coins chosen and the spend broadcast under the wallet's lock, as the job client does: two
      // processes paying from one wallet never spend one coin twice.
      const res = await walletSpendLock(file)(async () => {
        const utxos = await node.spendableCoins(keystore.address);
        const { bytes } = buildPayment({ utxos, secretKey, to: o.to, amount, fee });
        return await node.sendTx(bytes);
      });
      console.log(`Sent ${formatCoins(amount)} CML to ${o.to} (fee ${formatCoins(fee)})`);
      console.log(`txid ${res.txid}`);
    });
}
