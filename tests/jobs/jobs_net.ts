/**
 * @module Dev networks of the job tests (tests/jobs/jobs_test.ts): one miner, the client's node (not
 * mining, holding every model), and one compute node per cheat mode, each serving its own copy of the
 * fixture model (same weights, a different chat template, so a different model id): an offer for one
 * model reaches one compute node, and cases on one network run side by side. A fraud case needs a
 * network of its own: a node checking a fraud proof fetches the model from its peers and would then
 * serve it too. Coins come from blocks mined on demand (tests/jobs/http_miner.ts) straight to the
 * wallets that need them.
 */
import { makeFixture } from "../../compute/fixture.ts";
import { COIN, networkParams } from "../../chain/params.ts";
import { writeNewKeystore } from "../../relay/wallet_file.ts";
import { followerArgs, getJson, type NodeProcess, spawnNode, waitFor } from "../process_helpers.ts";
import { HttpMiner } from "./http_miner.ts";

/** Cheat modes of the compute nodes of the job tests ("none": an honest node). */
export type Cheat = "none" | "change-token" | "withhold" | "bad-answer";

/** The fixture model of the job tests (tokenizes and answers "Hello camelids" in a few tokens). */
export function jobsFixture(chatTemplate?: string): Uint8Array {
  return makeFixture({ size: "tiny", dtype: "f16", seed: 5n, eosBias: 3, chatTemplate });
}

/** A running network of the job tests. */
export interface JobsNet {
  /** Its temporary directory. */
  dir: string;
  /** The mining node. */
  miner: NodeProcess;
  /** The client's node. */
  client: NodeProcess;
  /** The compute node of each cheat mode the network was started with. */
  compute: Partial<Record<Cheat, NodeProcess>>;
  /** The model file each compute node serves. */
  model: Partial<Record<Cheat, string>>;
  /** Client wallet files (passphrase "client") by name, each funded with one mature coinbase. */
  wallets: Record<string, string>;
  /** The last lines of the miner's, the client node's and `compute`'s output. */
  logs(compute?: NodeProcess): string;
  /** Stops every node. */
  stop(): Promise<void>;
}

/** Coinbases paid to a compute node: the honest one takes several jobs at once. */
const computeCoinbases = (cheat: Cheat) => cheat === "none" ? 6 : 2;

/**
 * Starts a network with a compute node per cheat mode of `cheats` (the first serves the plain
 * fixture, the others a copy each) and one funded client wallet per name of `walletNames`, and waits
 * until every node sees its coins mature.
 */
export async function startJobsNet(cheats: Cheat[], walletNames: string[]): Promise<JobsNet> {
  const dir = await Deno.makeTempDir({ prefix: "camelid-jobs-" });
  const model: Partial<Record<Cheat, string>> = {};
  for (const [i, cheat] of cheats.entries()) {
    model[cheat] = `${dir}/${cheat}.gguf`;
    const template = i === 0 ? undefined : `{# ${cheat} #}{{ messages[0].content }}`;
    await Deno.writeFile(model[cheat], jobsFixture(template));
  }
  const allModels = cheats.flatMap((c) => ["--model", model[c]!]);
  // Wallets first: the coinbases can pay them while the nodes start.
  const computeAddress: Partial<Record<Cheat, string>> = {};
  for (const cheat of cheats) {
    computeAddress[cheat] =
      (await writeNewKeystore(`${dir}/compute-${cheat}/wallet.json`, "")).address;
  }
  const wallets: Record<string, string> = {};
  const clientAddresses: string[] = [];
  for (const name of walletNames) {
    wallets[name] = `${dir}/wallet-${name}.json`;
    clientAddresses.push((await writeNewKeystore(wallets[name], "client")).address);
  }
  const miner = await spawnNode(["--data-dir", `${dir}/miner`, ...allModels]);
  const started: NodeProcess[] = [miner];
  const stop = async () => {
    await Promise.all(started.slice(1).map((n) => n.stop()));
    await miner.stop();
  };
  try {
    const blocks = new HttpMiner(miner.url);
    const coinbases = [
      ...cheats.flatMap((c) => Array(computeCoinbases(c)).fill(computeAddress[c])),
      ...clientAddresses,
    ];
    const [client, ...computeNodes] = await Promise.all([
      spawnNode(
        followerArgs(`${dir}/client-node`, miner.url, allModels[1], ...allModels.slice(2)),
      ).then((n) => (started.push(n), n)),
      ...cheats.map((cheat) =>
        spawnNode(
          [
            ...followerArgs(`${dir}/compute-${cheat}`, miner.url, model[cheat]!),
            ...["--cheat", cheat, "--threads", "1"],
            "--no-sprint", // the tests check the client's fallback when no node has compute weight
          ],
          {},
          "compute",
        ).then((n) => (started.push(n), n))
      ),
      // Meanwhile: the coinbases, then the blocks that make them spendable.
      (async () => {
        await blocks.mineEach(coinbases);
        await blocks.mineUntil(
          (await blocks.height()) + networkParams("dev").coinbaseMaturity,
          computeAddress[cheats[0]]!,
        );
        return null;
      })(),
    ]);
    const compute: Partial<Record<Cheat, NodeProcess>> = Object.fromEntries(
      cheats.map((c, i) => [c, computeNodes[i]!]),
    );
    await Promise.all([
      ...cheats.map((c) => waitSpendable(compute[c]!.url, computeAddress[c]!, COIN)),
      ...clientAddresses.map((a) => waitSpendable(client!.url, a, COIN)),
    ]);
    return {
      dir,
      miner,
      client: client!,
      compute,
      model,
      wallets,
      stop,
      logs: (node?: NodeProcess) =>
        [["miner", miner], ["client node", client!], ["compute node", node]]
          .filter(([, n]) => n)
          .map(([what, n]) =>
            `--- ${what} ---\n${
              (n as NodeProcess).output().split("\n").filter((l) => !/ Block \d+ /.test(l)).slice(
                -40,
              ).join("\n")
            }`
          ).join("\n"),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Waits until the node at `url` shows at least `units` spendable at `address`. */
export async function waitSpendable(url: string, address: string, units: bigint): Promise<void> {
  await waitFor(`${units} units spendable at ${address}`, async () => {
    const a = await getJson<{ spendableUnits?: string }>(`${url}/v1/addresses/${address}`);
    return BigInt(a.body.spendableUnits ?? "0") >= units;
  }, 60_000);
}

/** Waits until the node at `url` is at `height` or above. */
export async function waitHeight(url: string, height: number, ms = 90_000): Promise<void> {
  await waitFor(
    `height ${height}`,
    async () => (await getJson<{ height: number }>(`${url}/v1/status`)).body.height >= height,
    ms,
  );
}

/** The envelope key of the node at `url` (once its network has started). */
export function nodeKey(url: string): Promise<string> {
  return waitFor(
    `the key of ${url}`,
    async () => (await getJson<{ self: { key: string | null } }>(`${url}/v1/peers`)).body.self.key,
  );
}
