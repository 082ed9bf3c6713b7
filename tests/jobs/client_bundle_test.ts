/**
 * The light client from one bundle (`dist/client.mjs`, built by `deno bundle` from client/mod.ts) in
 * Node and in headless Chromium, against a real `main.ts devnet` (one compute node that mines, two
 * verifiers): by model id, the tokenizer from the node checked against the id, messages pushed over
 * the subscription, one job verified by outsourced votes and one verified by the bundle's own
 * verifier core (tests/jobs/bundle_client_run.mjs runs the same code in both). The page comes from
 * an origin of its own and calls the nodes across origins (they answer CORS), as a web app would.
 */
import assert from "node:assert/strict";
import { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../../chain/keys.ts";
import { toHex } from "../../chain/bytes.ts";
import { buildClientBundle } from "../../verifier-wasm/build_bundle.ts";
import { openPageSession } from "../page/browser.ts";
import { readyForJobs, withDevnet } from "./devnet_process.ts";

const NODES = 3;
const RUN = new URL("./bundle_client_run.mjs", import.meta.url).pathname;
const NODE_MAIN = new URL("./bundle_client_node.mjs", import.meta.url).pathname;

/** What bundle_client_run.mjs returns. */
interface RunResult {
  subscribed: boolean;
  promptTokens: number;
  outsourced: { state: string; verdict: string | null; votes: number; text: string };
  local: { state: string; verdict: string | null; checked: number; tokens: number };
  states: string[];
}

function checkRun(name: string, r: RunResult): void {
  assert.equal(r.subscribed, true, `${name}: the subscription opened`);
  assert.ok(r.promptTokens > 1, name);
  assert.equal(r.outsourced.state, "verified", `${name}: ${JSON.stringify(r)}`);
  assert.equal(r.outsourced.verdict, "honest", name);
  assert.equal(r.outsourced.votes, 2, `${name}: both verifiers voted`);
  assert.equal(typeof r.outsourced.text, "string", name);
  assert.equal(r.local.state, "verified", `${name}: ${JSON.stringify(r)}`);
  assert.equal(r.local.verdict, "honest", name);
  assert.equal(r.local.checked, r.local.tokens, `${name}: every position checked`);
  assert.ok(r.states.includes("receipt") && r.states.includes("delivered"), name);
}

/** A page origin of its own serving the bundle (the page calls the nodes across origins). */
function pageServer(files: Record<string, [string, string]>, page: string) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response(page, { headers: { "content-type": "text/html" } });
    const f = files[path];
    if (!f) return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(f[0]), { headers: { "content-type": f[1] } });
  });
}

const PAGE = (node: string, modelId: string, secret: string) =>
  `<!doctype html><meta charset="utf-8"><title>client</title><script type="module">
const m = await import("/client.mjs");
const { runLightClient } = await import("/run.mjs");
try {
  const model = new Uint8Array(await (await fetch("/model.gguf")).arrayBuffer());
  window.__results = await runLightClient(m, {
    url: ${JSON.stringify(node)}, modelId: ${JSON.stringify(modelId)}, secret: ${
    JSON.stringify(secret)
  }, model,
  });
} catch (e) {
  window.__results = { error: String(e && e.stack || e) };
}
document.title = "done";
</script>`;

Deno.test({
  name:
    "the client bundle runs a light client's jobs in Node and in Chromium: outsourced and local verification",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const bundle = await buildClientBundle();
    const dist = bundle.slice(0, bundle.lastIndexOf("/") + 1);
    await withDevnet(NODES, ["--compute-nodes", "1", "--mine-nodes", "1"], async (net) => {
      const [url] = net.urls;
      const modelPath = `${net.dataDir}/node-0/models/tiny-f16-seed1.gguf`;
      const keys = [generateSecretKey(), generateSecretKey()];
      const addresses = keys.map((sk) => addressFromPublicKey(publicKeyOf(sk)));
      const modelId = await readyForJobs(net, addresses, "5");

      const out = await new Deno.Command("node", {
        args: ["--experimental-websocket", NODE_MAIN],
        env: {
          CLIENT_BUNDLE: bundle,
          CLIENT_NODE: url,
          CLIENT_MODEL_ID: modelId,
          CLIENT_SECRET: toHex(keys[0]),
          CLIENT_MODEL: modelPath,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `${text}${new TextDecoder().decode(out.stderr)}`);
      checkRun("node", JSON.parse(text.trim().split("\n").at(-1)!));

      const server = pageServer({
        "/client.mjs": [bundle, "text/javascript"],
        "/run.mjs": [RUN, "text/javascript"],
        "/kernel.wasm": [`${dist}kernel.wasm`, "application/wasm"],
        "/model.gguf": [modelPath, "application/octet-stream"],
      }, PAGE(url, modelId, toHex(keys[1])));
      const session = await openPageSession();
      try {
        await session.page.goto(`http://127.0.0.1:${server.addr.port}/`);
        await session.page.waitForFunction('document.title === "done"', undefined, {
          timeout: 240_000,
        });
        const r = await session.page.evaluate(() =>
          (globalThis as unknown as { __results: unknown }).__results
        ) as RunResult & { error?: string };
        assert.equal(r.error, undefined, `${r.error} ${session.errors.join("; ")}`);
        checkRun("chromium", r);
      } finally {
        await session.close();
        await server.shutdown();
      }
    });
  },
});
