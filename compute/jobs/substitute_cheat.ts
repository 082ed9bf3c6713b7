/**
 * @module Dev/test cheat `--cheat substitute=<file>` (dev network only, like every cheat mode): the
 * compute node claims the models it holds (their ids, as offers and stakes name them) but generates
 * every job with the GGUF at `<file>`, e.g. a q8_0 copy served as the f16 model. Its outputs pass most
 * single-position checks; it exists to exercise the verifiers' margin evidence (issue 16,
 * compute/weight/local_evidence.ts) on a devnet.
 */

import { InvalidArgumentError } from "commander";
import { ModelStore } from "../model_store.ts";

/** The cheat modes `--cheat` takes besides `substitute=<file>`. */
export const CHEAT_CHOICES = [
  "none",
  "change-token",
  "truncate",
  "other-model",
  "withhold",
  "bad-answer",
  "lie-verify",
] as const;

const SUBSTITUTE = "substitute=";

/** Commander's parser of `--cheat`: one of CHEAT_CHOICES or `substitute=<file>`. */
export function parseCheatOption(value: string): string {
  if ((CHEAT_CHOICES as readonly string[]).includes(value)) return value;
  if (value.startsWith(SUBSTITUTE) && value.length > SUBSTITUTE.length) return value;
  throw new InvalidArgumentError(
    `Allowed choices are ${CHEAT_CHOICES.join(", ")}, substitute=<file>.`,
  );
}

/** The file of a `substitute=<file>` cheat, or null for any other mode. */
export function substituteFile(cheat: string): string | null {
  return cheat.startsWith(SUBSTITUTE) ? cheat.slice(SUBSTITUTE.length) : null;
}

/** A view of `models` that lists the same ids but gives `file` as the path of each. */
class SubstitutingModelStore extends ModelStore {
  readonly #inner: ModelStore;
  readonly #file: string;

  constructor(inner: ModelStore, file: string) {
    super();
    this.#inner = inner;
    this.#file = file;
  }

  override ids(): string[] {
    return this.#inner.ids();
  }

  override path(id: string): string | undefined {
    return this.#inner.path(id) === undefined ? undefined : this.#file;
  }
}

/**
 * The models the job worker of a `substitute=<file>` cheater serves: every id `models` holds, each
 * generated with `file` (checked to exist). Only the worker gets it; the node's other roles (fraud
 * checks, verifying, model fetches) keep the true files.
 */
export async function substitutingStore(models: ModelStore, file: string): Promise<ModelStore> {
  if (!(await Deno.stat(file)).isFile) throw new RangeError(`${file} is not a file`);
  return new SubstitutingModelStore(models, file);
}
