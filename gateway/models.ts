/**
 * @module Models by name: the compute nodes reachable from the gateway's node advertise model ids
 * (`/v1/status`); each id's GGUF metadata, fetched from a node that holds it and checked against the
 * id, gives its `general.name` (and its tokenizer and chat template). An alias table maps further
 * names (or a name to a model id no node serves yet: then 503, not 404).
 */

import { isHex32 } from "../chain/bytes.ts";
import { type ComputeAd, surveyNetwork } from "../client/phases/survey.ts";
import { fetchModelMetadata, tokenizerForModel } from "../client/model_metadata.ts";
import type { Tokenizer } from "../client/tokenizer/mod.ts";
import type { NodeClient } from "../relay/client.ts";
import { GatewayError } from "./errors.ts";

/** How long a survey of the network is reused (ms). */
export const SURVEY_TTL_MS = 5_000;

/** A model the network serves, by name. */
export interface ServedModel {
  /** The name callers use (`general.name`, or the model id when the metadata has none). */
  name: string;
  /** The model id (hex). */
  modelId: string;
  /** Compute nodes serving it. */
  holders: ComputeAd[];
}

/** A model a request named, resolved: its id, nodes and tokenizer. */
export interface ResolvedModel extends ServedModel {
  /** Its tokenizer (from the checked metadata). */
  tokenizer: Tokenizer;
}

/** The models the network serves, by name and alias. */
export class ModelDirectory {
  readonly #node: NodeClient;
  readonly #aliases: ReadonlyMap<string, string>;
  #survey: { at: number; models: Promise<ServedModel[]> } | null = null;

  /** A directory over the compute nodes reachable from `node`; `aliases` maps names to ids. */
  constructor(node: NodeClient, aliases: ReadonlyMap<string, string> = new Map()) {
    this.#node = node;
    this.#aliases = aliases;
  }

  /** Every model some compute node serves (surveyed at most every {@link SURVEY_TTL_MS}). */
  list(): Promise<ServedModel[]> {
    if (!this.#survey || Date.now() - this.#survey.at > SURVEY_TTL_MS) {
      const models = this.#load();
      this.#survey = { at: Date.now(), models };
      models.catch(() => (this.#survey = null));
    }
    return this.#survey.models;
  }

  async #load(): Promise<ServedModel[]> {
    const survey = await surveyNetwork(this.#node);
    const byId = new Map<string, ComputeAd[]>();
    for (const c of survey.compute) {
      for (const id of c.models) byId.set(id, [...(byId.get(id) ?? []), c]);
    }
    const served = await Promise.all([...byId].map(async ([modelId, holders]) => {
      const name = await this.#nameOf(modelId, holders).catch(() => null);
      return name === null ? null : { name, modelId, holders };
    }));
    return served.filter((m): m is ServedModel => m !== null);
  }

  async #nameOf(modelId: string, holders: ComputeAd[]): Promise<string> {
    const meta = await fetchModelMetadata(holders[0].url, modelId);
    const name = meta.metadata.get("general.name")?.value;
    return typeof name === "string" && name !== "" ? name : modelId;
  }

  /** The aliases that name `modelId`. */
  aliasesOf(modelId: string): string[] {
    return [...this.#aliases].filter(([, id]) => id === modelId).map(([a]) => a);
  }

  /**
   * The served model `name` stands for (its `general.name`, an alias or its id): `GatewayError` 404
   * when nothing by that name is known, 503 when it is known but no compute node serves it.
   */
  async resolve(name: string): Promise<ResolvedModel> {
    const models = await this.list();
    const aliased = this.#aliases.get(name);
    const found = models.find((m) =>
      aliased ? m.modelId === aliased : m.name === name || m.modelId === name
    );
    if (!found) {
      if (aliased || isHex32(name)) {
        throw new GatewayError(
          503,
          "no_compute_node",
          `no compute node reachable from the gateway's node serves model ${name} (${
            aliased ?? name
          })`,
          "model",
        );
      }
      throw new GatewayError(
        404,
        "model_not_found",
        `the model ${name} does not exist on this network (GET /v1/models lists those served)`,
        "model",
      );
    }
    const tokenizer = await tokenizerForModel(found.holders[0].url, found.modelId);
    return { ...found, name, tokenizer };
  }
}
