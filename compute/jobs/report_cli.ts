/**
 * @module `job report <jobId>`: the client's user report on a paid job (client/phases/report.ts):
 * bond, the validators' votes, the weight majority, confirmed or false, and the transactions.
 */

import type { Command } from "commander";
import { formatCoins, parseCoinsOption } from "../../chain/amount.ts";
import { isHex32 } from "../../chain/bytes.ts";
import { networkParams } from "../../chain/params.ts";
import { parseTokenList } from "../../cli/sampler_options.ts";
import { walletSpendLock } from "../../cli/wallet_lock.ts";
import { openSession } from "../../client/job_session.ts";
import { reportJob, type ReportResult } from "../../client/phases/report.ts";
import { NodeClient } from "../../relay/client.ts";
import { unlockWalletFile } from "../../relay/wallet_file.ts";

/** The lines `job report` prints for people. */
export function describeReport(r: ReportResult): string[] {
  const { voting, fraud, total } = r.weight;
  const lines = [
    `job ${r.jobId}: report ${r.outcome} (${r.votes.length} validator(s) holding ${voting} of ` +
    `${total} weight of sprint ${r.sprint}; fraud ${fraud}, a majority is over ${total / 2})`,
    ...r.votes.map((v) => `  ${v.address}: ${v.verdict} (weight ${v.weight})`),
  ];
  if (r.refused.length) {
    lines.push(`refused: ${r.refused.map((x) => `${x.key.slice(0, 10)}… ${x.reason}`).join(", ")}`);
  }
  lines.push(
    `bond ${r.bond.txid}:${r.bond.vout} (${
      formatCoins(BigInt(r.bond.units))
    } CML) shared by the validators`,
    r.outcome === "confirmed"
      ? `resolution ${r.resolution}: the executor's held reward (${
        formatCoins(BigInt(r.held.units))
      } CML) is slashed to you`
      : `resolution ${r.resolution}: the executor keeps its reward`,
  );
  return lines;
}

/** Registers `job report` under `job`. */
export function registerJobReportCommand(
  job: Command,
  withWallet: (c: Command) => Command,
  walletFile: (o: { wallet?: string; dataDir?: string; network: string }) => string,
): void {
  withWallet(
    job.command("report").description(
      "report a paid job's output as false: post a bond, have the validators holding a majority of the compute weight check it, slash the executor's held reward if they confirm",
    ),
  )
    .argument("<jobId>", "job id")
    .requiredOption("--output-tokens <ids>", "the output delivered, comma-separated token ids")
    .option("--finish-reason <r>", "the output's finish reason (stop or length)", "stop")
    .option("--bond <coins>", "the bond (default: the network's report fee)")
    .option("--existing-bond <txid:vout>", "a bond already posted for this job, asked again")
    .option("--fee <coins>", "miner fee per transaction", "0.0002")
    .option("--timeout <seconds>", "wait this long for the validators' votes", "30")
    .option("--json", "print one JSON object at the end")
    .action(async (jobId, o) => {
      if (!isHex32(jobId)) throw new RangeError("the job id must be 32 bytes of lowercase hex");
      if (o.finishReason !== "stop" && o.finishReason !== "length") {
        throw new RangeError("--finish-reason must be stop or length");
      }
      let outputTokens: number[];
      try {
        outputTokens = parseTokenList(String(o.outputTokens));
      } catch {
        throw new RangeError("--output-tokens must be comma-separated token ids");
      }
      let existingBond;
      if (o.existingBond !== undefined) {
        const m = String(o.existingBond).match(/^(\w+):(\d+)$/);
        if (!m || !isHex32(m[1])) throw new RangeError("--existing-bond must be TXID:VOUT");
        existingBond = { txid: m[1], vout: Number(m[2]) };
      }
      const { secretKey } = await unlockWalletFile(walletFile(o));
      const timeoutMs = Number(o.timeout) * 1000;
      const s = openSession(
        new NodeClient(o.node),
        networkParams(o.network),
        secretKey,
        parseCoinsOption("--fee", o.fee, true),
        timeoutMs,
      );
      s.spendLock = walletSpendLock(walletFile(o));
      const result = await reportJob(s, {
        jobId,
        output: { outputTokens, finishReason: o.finishReason },
        bond: o.bond === undefined ? undefined : parseCoinsOption("--bond", o.bond),
        existingBond,
        timeoutMs,
        onState: o.json
          ? undefined
          : (state, d) => console.error(`[${state}] ${JSON.stringify(d)}`),
      });
      if (o.json) console.log(JSON.stringify(result));
      else for (const line of describeReport(result)) console.log(line);
    });
}
