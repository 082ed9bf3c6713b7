/**
 * A light client on a real `main.ts devnet` (one compute node that mines, two verifiers), run from a
 * directory holding no model file: `tokenize --model-id` and `job submit --model-id` with `--prompt`
 * and with a chat (`--messages`, rendered with the model's chat template) fetch the tokenizer from
 * the node (checked against the model id), have their messages pushed over the subscription,
 * outsource verification, and print the decoded text. The devnet's nodes take a tiny fixture with a
 * chat template as their default model (written where the devnet looks for it).
 */
import assert from "node:assert/strict";
import { FIXTURE_TOKENS } from "../../compute/fixture.ts";
import { getJson, runCli } from "../process_helpers.ts";
import { dumpNodeLogs, startDevnetProcess, waitStakeable } from "./devnet_process.ts";
import { sendCoins, waitBalance } from "./funding_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const NODES = 3;
/** Every message ends with the end-of-sequence token: it is the template's end of turn. */
const TEMPLATE =
  "{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant:{% endif %}";

/** Runs `main.ts args` with `cwd` as the working directory. */
async function runIn(cwd: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("a light client with no model file: tokenize and job submit by model id, a prompt and a chat, verified by outsourced votes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-light-client-" });
  const devnetDir = `${dir}/devnet`;
  const fixture = `${dir}/fixture.gguf`;
  await Deno.writeTextFile(`${dir}/template.jinja`, TEMPLATE);
  const made = await runCli([
    ...["model", "fixture", "--size", "tiny", "--dtype", "f16", "--seed", "1", "--eos-bias", "4"],
    ...["--chat-template", `${dir}/template.jinja`, "--out", fixture],
  ]);
  assert.equal(made.code, 0, made.stderr);
  for (let i = 0; i < NODES; i++) {
    await Deno.mkdir(`${devnetDir}/node-${i}/models`, { recursive: true });
    await Deno.copyFile(fixture, `${devnetDir}/node-${i}/models/tiny-f16-seed1.gguf`);
  }
  const client = `${dir}/client`;
  await Deno.mkdir(client);
  const net = await startDevnetProcess(devnetDir, [
    ...["--nodes", String(NODES), "--compute-nodes", "1", "--mine-nodes", "1"],
  ]);
  try {
    const [url] = net.urls;
    const env = { CAMELID_PASSPHRASE: "client" };
    const wallet = `${dir}/wallet/client.json`;
    assert.equal((await runCli(["wallet", "new", "--wallet", wallet], env)).code, 0);
    const address = (await runCli(["wallet", "address", "--wallet", wallet])).stdout.trim();
    const models = (await getJson<{ models: { id: string }[] }>(`${url}/v1/models`)).body.models;
    assert.equal(models.length, 1);
    const modelId = models[0].id;
    await waitStakeable(url);
    await sendCoins(`${devnetDir}/node-0/wallet.json`, url, address, "20");
    await waitBalance(url, address, "20");

    const tokenized = await runIn(client, [
      ...["tokenize", "--model-id", modelId, "--node", url, "--text", "Hello", "--json"],
    ], env);
    assert.equal(tokenized.code, 0, tokenized.stderr);
    assert.ok(JSON.parse(tokenized.stdout).tokens.length > 1);

    await Deno.writeTextFile(
      `${client}/chat.json`,
      JSON.stringify([{ role: "user", content: "Say hello." }]),
    );
    const submit = (args: string[]) =>
      runIn(client, [
        ...["job", "submit", "--wallet", wallet, "--node", url, "--model-id", modelId],
        ...["--max-tokens", "12", "--reward", "0.5", "--timeout", "150", "--json", ...args],
      ], env);
    // One after the other: a verifier answers one request per requester a second
    // (compute/jobs/verifier_service.ts), so two outsourced checks at once from one key lose votes.
    const plain = await submit(["--prompt", "Hello there", "--seed", "5"]);
    const chat = await submit(["--messages", "chat.json", "--seed", "6"]);
    for (const [name, run] of [["prompt", plain], ["chat", chat]] as const) {
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      const r = JSON.parse(run.stdout);
      assert.equal(r.state, "verified", `${name}: ${run.stdout}\n${run.stderr}`);
      assert.equal(r.outsourced.verdict, "honest", name);
      assert.ok(r.outsourced.votes.length >= 2, `${name}: both verifiers voted`);
      assert.equal(typeof r.text, "string", name);
      // The text is the output decoded by the model's tokenizer, up to the end of turn.
      const eos = r.outputTokens.indexOf(FIXTURE_TOKENS.eos);
      const tokens = eos < 0 ? r.outputTokens : r.outputTokens.slice(0, eos);
      const decoded = await runIn(client, [
        ...["detokenize", "--model-id", modelId, "--node", url, "--json"],
        ...["--tokens", tokens.join(",") || "[]"],
      ], env);
      assert.equal(decoded.code, 0, decoded.stderr);
      assert.equal(r.text, JSON.parse(decoded.stdout).text, name);
    }
    const files = [];
    for await (const e of Deno.readDir(client)) files.push(e.name);
    assert.deepEqual(files, ["chat.json"], "the client's directory holds no model file");
  } catch (e) {
    await dumpNodeLogs(devnetDir, NODES);
    throw e;
  } finally {
    await net.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
