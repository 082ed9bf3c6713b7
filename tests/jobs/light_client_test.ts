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
import { runCli } from "../process_helpers.ts";
import { newWallet } from "./funding_helpers.ts";
import { readyForJobs, withDevnet } from "./devnet_process.ts";

const NODES = 3;
/** Every message ends with the end-of-sequence token: it is the template's end of turn. */
const TEMPLATE =
  "{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant:{% endif %}";

/** Writes the tiny fixture with {@link TEMPLATE} as each node's default model. */
async function chatModels(devnetDir: string, dir: string): Promise<void> {
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
}

Deno.test("a light client with no model file: tokenize and job submit by model id, a prompt and a chat, verified by outsourced votes", async () => {
  await withDevnet(NODES, ["--compute-nodes", "1", "--mine-nodes", "1"], async (net, dir) => {
    const [url] = net.urls;
    const client = `${dir}/client`;
    await Deno.mkdir(client);
    const env = { CAMELID_PASSPHRASE: "client" };
    const wallet = `${dir}/wallet/client.json`;
    const address = await newWallet(wallet, env.CAMELID_PASSPHRASE);
    const modelId = await readyForJobs(net, [address], "20");

    const tokenized = await runCli(
      [
        ...["tokenize", "--model-id", modelId, "--node", url, "--text", "Hello", "--json"],
      ],
      env,
      client,
    );
    assert.equal(tokenized.code, 0, tokenized.stderr);
    assert.ok(JSON.parse(tokenized.stdout).tokens.length > 1);

    await Deno.writeTextFile(
      `${client}/chat.json`,
      JSON.stringify([{ role: "user", content: "Say hello." }]),
    );
    const submit = (args: string[]) =>
      runCli(
        [
          ...["job", "submit", "--wallet", wallet, "--node", url, "--model-id", modelId],
          ...["--max-tokens", "12", "--reward", "0.5", "--timeout", "150", "--json", ...args],
        ],
        env,
        client,
      );
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
      // The compute node's reputation, as the client's node derives it from the chain.
      const rep = r.computeNode;
      assert.ok(rep && !("unavailable" in rep), `${name}: ${JSON.stringify(rep)}`);
      assert.ok(Number.isInteger(rep.reputation) && rep.reputation >= 0, name);
      assert.ok(rep.validationProbability >= rep.floor && rep.validationProbability <= 1, name);
      // The text is the output decoded by the model's tokenizer, up to the end of turn.
      const eos = r.outputTokens.indexOf(FIXTURE_TOKENS.eos);
      const tokens = eos < 0 ? r.outputTokens : r.outputTokens.slice(0, eos);
      const decoded = await runCli(
        [
          ...["detokenize", "--model-id", modelId, "--node", url, "--json"],
          ...["--tokens", tokens.join(",") || "[]"],
        ],
        env,
        client,
      );
      assert.equal(decoded.code, 0, decoded.stderr);
      assert.equal(r.text, JSON.parse(decoded.stdout).text, name);
    }
    const files = [];
    for await (const e of Deno.readDir(client)) files.push(e.name);
    assert.deepEqual(files, ["chat.json"], "the client's directory holds no model file");
  }, chatModels);
});
