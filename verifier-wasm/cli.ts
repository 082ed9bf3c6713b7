/**
 * @module The `verify` subcommand: `main.ts verify --model FILE --job JOB.json [--backend
 * wasm|onnx|llama] [--positions all|sampled] [--k N] [--json]`. Exit code 0 honest, 2 fraud,
 * 3 inconclusive, 1 usage or other error. Backends outside the verifier (llama.cpp over FFI) come
 * from the caller as factories, so this module, like the rest of the verifier, imports no runtime
 * above it.
 */

import type { Command } from "commander";
import { fromHex } from "../chain/bytes.ts";
import { NotFoundError } from "../chain/errors.ts";
import { addPositionOptions, parseIntOption, positionSettings } from "../cli/sampler_options.ts";
import type { PrefillBackend } from "./backend.ts";
import type { BackendName, Randomness } from "./rastic.ts";
import { type Verdict, verify } from "./mod.ts";

/** Exit codes of `verify`. */
export const VERIFY_EXIT = { honest: 0, error: 1, fraud: 2, inconclusive: 3 } as const;

/** Opens a backend for the model file at `path` (e.g. llama.cpp over FFI, given by main.ts). */
export type BackendFactory = (
  path: string,
  options: { threads: number },
) => Promise<PrefillBackend>;

/** Backends the verifier cannot load itself, by name (today: "llama"). */
export type BackendFactories = Partial<Record<BackendName, BackendFactory>>;

/** Hooks for tests: where output goes and how the exit code is set. */
export interface VerifyCliIO {
  /** Writes a line of output (default: console.log). */
  print?: (line: string) => void;
  /** Sets the process exit code (default: `Deno.exitCode = code`). */
  exit?: (code: number) => void;
}

/** How much of an output a check covered. */
export interface Coverage {
  /** Output positions checked. */
  checked: number;
  /** Output positions in the record. */
  outputPositions: number;
  /**
   * Chance that a check with this coverage catches one changed token at a random position
   * (checked / outputPositions; 1 when every position was checked or there is nothing to check).
   */
  detectionChance: number;
}

/** The coverage of a verdict on an output of `outputPositions` tokens. */
export function coverageOf(v: Pick<Verdict, "checked">, outputPositions: number): Coverage {
  const checked = new Set(v.checked.map((c) => c.position)).size;
  return {
    checked,
    outputPositions,
    detectionChance: outputPositions === 0 ? 1 : Math.min(1, checked / outputPositions),
  };
}

/** One line saying how many positions were checked and, for a sampled check, the detection chance. */
export function formatCoverage(c: Coverage, mode: Verdict["positions"]): string {
  const base = `checked ${c.checked} of ${c.outputPositions} output positions`;
  if (mode === "all") return `${base} (all)`;
  return `${base} (sampled: one changed token is caught with probability ${
    (100 * c.detectionChance).toFixed(0)
  }%; --positions all checks every one)`;
}

/** Human-readable summary of a verdict; with the output length, its coverage line. */
export function formatVerdict(v: Verdict, outputPositions?: number): string {
  const lines = [
    `verdict: ${v.verdict} (backend ${v.backend}, ${v.positions} positions, epsilon ${v.epsilon}, ` +
    `fraud threshold ${v.fraudThreshold})`,
  ];
  if (outputPositions !== undefined) {
    lines.push(`  ${formatCoverage(coverageOf(v, outputPositions), v.positions)}`);
  }
  for (const c of v.checked) {
    lines.push(
      `  ${String(c.position).padStart(5)} ${
        c.kind.padEnd(11)
      } claimed ${c.claimed} best ${c.best} ` +
        `margin ${c.margin.toPrecision(3)} ${c.outcome}`,
    );
  }
  for (const r of v.reasons) lines.push(`  reason: ${r}`);
  lines.push(
    `  prefill ${v.prefillTokens} tokens in ${v.timings.prefillMs.toFixed(1)} ms, ` +
      `total ${v.timings.totalMs.toFixed(1)} ms`,
  );
  return lines.join("\n");
}

/**
 * Registers `verify` on a commander program. `factories` open the backends the verifier does not
 * load itself; `--backend llama` without a llama factory is a usage error.
 */
export function registerVerifyCommand(
  program: Command,
  factories: BackendFactories = {},
  io: VerifyCliIO = {},
): Command {
  const print = io.print ?? ((l: string) => console.log(l));
  const exit = io.exit ?? ((c: number) => (Deno.exitCode = c));
  const cmd = program
    .command("verify")
    .description(
      "check a generated job record with RASTiC (exit 0 honest, 2 fraud, 3 inconclusive)",
    )
    .requiredOption("--model <file>", "GGUF model file the job names")
    .requiredOption("--job <file>", "job record JSON (main.ts generate --json), or - for stdin")
    .option("--backend <name>", "wasm | onnx | llama", "wasm");
  return addPositionOptions(cmd)
    .option("--secret <hex>", "checker secret for position selection (default: random)")
    .option(
      "--beacon <hex>",
      "public beacon (a block hash after the commitment) instead of a secret",
    )
    .option(
      "--threads <n>",
      "prefill threads (wasm: default every core, at most 64; llama: default 1)",
    )
    .option("--json", "print the verdict as JSON")
    .action(async (opts) => {
      const backend = opts.backend as BackendName;
      if (!["wasm", "onnx", "llama"].includes(backend)) {
        throw new RangeError("--backend must be wasm, onnx or llama");
      }
      const { positions, k } = positionSettings(opts);
      if (opts.secret && opts.beacon) throw new RangeError("give --secret or --beacon, not both");
      let randomness: Randomness | undefined;
      if (opts.secret) randomness = { secret: fromHex(opts.secret) };
      if (opts.beacon) randomness = { beacon: fromHex(opts.beacon) };
      const text = opts.job === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(opts.job).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
          throw new NotFoundError("job/not-found", `job file ${opts.job} does not exist`);
        });
      let job: unknown;
      try {
        job = JSON.parse(text);
      } catch (e) {
        throw new TypeError(`job file is not JSON: ${(e as Error).message}`);
      }
      const gguf = await Deno.readFile(opts.model);
      const factory = factories[backend];
      if (backend === "llama" && !factory) {
        throw new RangeError("the llama backend is not available in this program");
      }
      const threads = opts.threads === undefined
        ? undefined
        : parseIntOption("--threads", opts.threads, 1, 512);
      const injected = factory ? await factory(opts.model, { threads: threads ?? 1 }) : undefined;
      let verdict: Verdict;
      try {
        verdict = await verify(job, injected ? { gguf, backend: injected } : gguf, {
          backend,
          positions,
          k,
          randomness,
          wasm: threads === undefined ? undefined : { threads: Math.min(threads, 64) },
        });
      } finally {
        await injected?.dispose?.();
      }
      const outputs = (job as { outputTokens?: unknown } | null)?.outputTokens;
      const outputPositions = Array.isArray(outputs) ? outputs.length : 0;
      print(
        opts.json
          ? JSON.stringify({ ...verdict, coverage: coverageOf(verdict, outputPositions) })
          : formatVerdict(verdict, outputPositions),
      );
      exit(VERIFY_EXIT[verdict.verdict]);
    });
}
