/**
 * @module Model routes: `GET /v1/models` (ids held, with size and chunk count), `GET /v1/models/:id`
 * (the chunk manifest: leaf hashes of every 1 MiB chunk) and `GET /v1/models/:id/chunks/:index`.
 */

import { Hono } from "hono";
import { toHex } from "../../chain/bytes.ts";
import { NotFoundError } from "../../chain/errors.ts";
import { hex32Param } from "./params.ts";

/** Size of a model chunk, bytes. */
export const MODEL_CHUNK_SIZE = 1 << 20;

/** What the node serves of its models. */
export interface ModelSource {
  /** Model ids held. */
  ids(): string[];
  /** Size and chunk count, or null when not held. */
  info(id: string): Promise<{ size: number; chunks: number } | null>;
  /** Leaf hashes (SHA-256 of 0x00 || chunk) of every 1 MiB chunk. */
  leaves(id: string): Promise<Uint8Array[]>;
  /** One chunk's bytes. */
  chunk(id: string, index: number): Promise<Uint8Array>;
}

/** The model routes over `models` (none held when absent). */
export function modelRoutes(models: ModelSource | undefined): Hono {
  const app = new Hono();

  app.get("/v1/models", async (c) => {
    const list = models
      ? await Promise.all(models.ids().map(async (id) => ({ id, ...(await models.info(id)) })))
      : [];
    return c.json({ models: list });
  });

  const heldModel = async (raw: string) => {
    const id = hex32Param(raw, "model id");
    const info = models && await models.info(id);
    if (!models || !info) {
      throw new NotFoundError("model/not-found", `model ${id} is not held here`);
    }
    return { models, id, info };
  };

  app.get("/v1/models/:id", async (c) => {
    const { models, id, info } = await heldModel(c.req.param("id"));
    const leaves = await models.leaves(id);
    return c.json({ id, ...info, chunkSize: MODEL_CHUNK_SIZE, leaves: leaves.map(toHex) });
  });

  app.get("/v1/models/:id/chunks/:index", async (c) => {
    const { models, id, info } = await heldModel(c.req.param("id"));
    const raw = c.req.param("index");
    const index = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(index)) {
      throw new RangeError("chunk index must be a non-negative integer");
    }
    if (index >= info.chunks) {
      throw new NotFoundError("model/no-chunk", `model ${id} has ${info.chunks} chunks`);
    }
    const bytes = await models.chunk(id, index);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
    });
  });

  return app;
}
