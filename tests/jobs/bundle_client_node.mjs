// Node side of tests/jobs/client_bundle_test.ts (named so that `deno test` does not collect it):
// imports CLIENT_BUNDLE and prints the light client's run as one JSON line.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { runLightClient } from "./bundle_client_run.mjs";

const m = await import(pathToFileURL(process.env.CLIENT_BUNDLE).href);
const model = new Uint8Array(await readFile(process.env.CLIENT_MODEL));
const r = await runLightClient(m, {
  url: process.env.CLIENT_NODE,
  modelId: process.env.CLIENT_MODEL_ID,
  secret: process.env.CLIENT_SECRET,
  model,
});
console.log(JSON.stringify(r));
process.exit(0);
