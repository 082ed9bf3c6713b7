/**
 * @module The options several commands share, defined once with one set of defaults: the sampler
 * (`--seed`, `--temperature`, `--top-k`, `--top-p`; `generate` and `job submit`) and the RASTiC
 * positions (`--positions`, `--k`; `verify` and `job submit`), with the parsers that turn their
 * strings into checked values (a bad value is a RangeError, a one-line CLI error). Imports nothing
 * from the compute node, so the verifier's CLI may use it.
 */

import { type Command, Option } from "commander";
import type { SamplingParams } from "../verifier-wasm/sampler.ts";

/** The sampler defaults every command uses (llama.cpp's own: T 0.8, top-k 40, top-p 0.95). */
export const SAMPLER_DEFAULTS = { temperature: 0.8, topK: 40, topP: 0.95 } as const;

/** Interior positions a sampled RASTiC check draws by default. */
export const DEFAULT_SAMPLED_POSITIONS = 8;

/** Which positions a RASTiC check covers by default: every one (a prefill costs the same). */
export const DEFAULT_POSITION_MODE = "all";

/** RASTiC position modes: every output position, or continuity, truncation and k drawn ones. */
export type PositionMode = "all" | "sampled";

/** The sampler settings of a generation, parsed and checked (the job id comes separately). */
export type SamplerSettings = Omit<SamplingParams, "jobId">;

/** The raw strings of the options {@link addSamplerOptions} adds (commander's camelCase keys). */
export interface SamplerOptionValues {
  /** `--seed`, absent for a random seed. */
  seed?: string;
  /** `--temperature`. */
  temperature: string;
  /** `--top-k`. */
  topK: string;
  /** `--top-p`. */
  topP: string;
}

/** Parses a decimal u64 seed. */
export function parseSeed(s: string): bigint {
  if (!/^\d{1,20}$/.test(s)) throw new RangeError(`seed must be a decimal integer, got ${s}`);
  const v = BigInt(s);
  if (v >= 1n << 64n) throw new RangeError("seed must be below 2^64");
  return v;
}

/** Parses an integer option value in [min, max]; `name` is the option as the user typed it. */
export function parseIntOption(name: string, s: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(s)) throw new RangeError(`${name} must be an integer, got ${s}`);
  const v = Number(s);
  if (v < min || v > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${s}`);
  return v;
}

/** Parses a finite number option value; `name` is the option as the user typed it. */
export function parseFloatOption(name: string, s: string): number {
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v)) {
    throw new RangeError(`${name} must be a finite number, got ${s}`);
  }
  return v;
}

/** Parses "1,2,3" into token ids. */
export function parseTokenList(s: string): number[] {
  if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(s)) {
    throw new RangeError(`--prompt-tokens must be comma-separated token ids, got ${s}`);
  }
  return s.split(",").map((x) => Number(x.trim()));
}

/** Adds `--seed`, `--temperature`, `--top-k` and `--top-p` (with {@link SAMPLER_DEFAULTS}). */
export function addSamplerOptions(cmd: Command): Command {
  return cmd
    .option("--seed <n>", "sampler seed, u64 (default random)")
    .option("--temperature <t>", "temperature (0 = greedy)", String(SAMPLER_DEFAULTS.temperature))
    .option("--top-k <k>", "top-k (0 = off)", String(SAMPLER_DEFAULTS.topK))
    .option("--top-p <p>", "top-p (1 = off)", String(SAMPLER_DEFAULTS.topP));
}

/** The checked sampler settings from the options {@link addSamplerOptions} added. */
export function samplerSettings(o: SamplerOptionValues): SamplerSettings {
  return {
    seed: o.seed !== undefined
      ? parseSeed(String(o.seed))
      : crypto.getRandomValues(new BigUint64Array(1))[0],
    temperature: parseFloatOption("--temperature", String(o.temperature)),
    topK: parseIntOption("--top-k", String(o.topK), 0, 1 << 30),
    topP: parseFloatOption("--top-p", String(o.topP)),
  };
}

/**
 * Adds `--positions all|sampled` ({@link DEFAULT_POSITION_MODE}) and `--k N`
 * ({@link DEFAULT_SAMPLED_POSITIONS}).
 */
export function addPositionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--positions <mode>", "RASTiC positions checked").choices(["all", "sampled"])
        .default(DEFAULT_POSITION_MODE),
    )
    .option("--k <n>", "sampled interior positions", String(DEFAULT_SAMPLED_POSITIONS));
}

/** The checked `--positions` and `--k` values. */
export function positionSettings(o: { positions: string; k: string }): {
  positions: PositionMode;
  k: number;
} {
  if (o.positions !== "all" && o.positions !== "sampled") {
    throw new RangeError("--positions must be all or sampled");
  }
  return { positions: o.positions, k: parseIntOption("--k", String(o.k), 0, 1 << 20) };
}

/**
 * Outsourced verification from `--verify` and `--verifiers` (1..64 votes; absent = as many as serve
 * the model), checking `k` sampled positions; undefined unless `verify` is "outsourced".
 */
export function outsourceSettings(
  verify: string,
  verifiers: unknown,
  k: number,
): { verifiers?: number; k: number } | undefined {
  if (verify !== "outsourced") return undefined;
  return {
    verifiers: verifiers === undefined
      ? undefined
      : parseIntOption("--verifiers", String(verifiers), 1, 64),
    k,
  };
}
