/**
 * @module Proving a sprint on llama.cpp: the sprint model's GGUF (verifier-wasm/sprint_model.ts,
 * tokenizer "none") loaded into llama.cpp, one context reused for every nonce (memory cleared
 * between nonces), the same input sequence, permutation and target as the WASM kernel's. Its
 * distances differ from the kernel's by float noise; validators judge with the kernel and the
 * binomial rule allows for that (docs/protocol.md, "Compute weight").
 */

import type { SprintParams } from "../chain/params.ts";
import { sprintDistance } from "../chain/sprint.ts";
import { SprintModel, sprintModelGGUF } from "../verifier-wasm/sprint_model.ts";
import { type LlamaContext, type LlamaModel, loadModel } from "./llama/llama.ts";
import type { SprintEvaluator } from "./sprint_prover.ts";

/** Options of {@link LlamaSprintModel.create}. */
export interface LlamaSprintOptions {
  /** CPU threads of llama.cpp (default 1). */
  threads?: number;
}

/** One sprint's model in llama.cpp. */
export class LlamaSprintModel implements SprintEvaluator {
  /** The network's sprint parameters. */
  readonly params: SprintParams;
  #inputs: SprintModel;
  #model: LlamaModel;
  #ctx: LlamaContext;
  #dir: string;

  private constructor(inputs: SprintModel, model: LlamaModel, ctx: LlamaContext, dir: string) {
    this.params = inputs.params;
    this.#inputs = inputs;
    this.#model = model;
    this.#ctx = ctx;
    this.#dir = dir;
  }

  /** Derives the sprint model of `sprintSeed`, writes its GGUF to a temp dir and loads it. */
  static async create(
    p: SprintParams,
    sprintSeed: Uint8Array,
    opts: LlamaSprintOptions = {},
  ): Promise<LlamaSprintModel> {
    const inputs = await SprintModel.create(p, sprintSeed);
    const dir = await Deno.makeTempDir({ prefix: "camelid-sprint-" });
    try {
      const path = `${dir}/sprint.gguf`;
      await Deno.writeFile(path, sprintModelGGUF(p, sprintSeed, inputs.words));
      const model = await loadModel(path);
      const n = p.model.seqLen;
      const ctx = model.createContext({
        nCtx: n,
        nBatch: n,
        nUbatch: n,
        threads: opts.threads ?? 1,
        flashAttention: "off",
      });
      return new LlamaSprintModel(inputs, model, ctx, dir);
    } catch (e) {
      inputs.free();
      await Deno.remove(dir, { recursive: true });
      throw e;
    }
  }

  /** Distance of a nonce, on llama.cpp. */
  async distance(nodeSeed: Uint8Array, nonce: number): Promise<number> {
    const { tokens, perm } = this.#inputs.nonceInput(nodeSeed, nonce);
    await this.#ctx.clear();
    const [row] = await this.#ctx.decode(Array.from(tokens), "last");
    return sprintDistance(row, perm, this.#inputs.target);
  }

  /** Frees llama.cpp's context and model, the kernel instance and the temp file. */
  async free(): Promise<void> {
    await this.#ctx.free();
    await this.#model.free();
    this.#inputs.free();
    await Deno.remove(this.#dir, { recursive: true });
  }
}
