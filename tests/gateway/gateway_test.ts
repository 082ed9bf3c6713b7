/**
 * The OpenAI-compatible gateway against a real network, with the real `openai` client: three compute
 * node processes (two serve a chat model, one cheats with `--cheat change-token` on its own model),
 * the `main.ts gateway` process (verifies both models locally), and in-process gateways for the
 * empty-wallet, rate-limit and timeout cases and for verification by a verifier node (the second
 * compute node also serves verification). One network serves every case.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { makeFixture } from "../../compute/fixture.ts";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { generateSecretKey } from "../../chain/keys.ts";
import { addressFromPublicKey, publicKeyOf } from "../../chain/keys.ts";
import { NodeClient } from "../../relay/client.ts";
import { walletSpendLock } from "../../cli/wallet_lock.ts";
import { createGatewayApp } from "../../gateway/app.ts";
import { getJson, type NodeProcess, runCli, spawnNode, waitFor } from "../process_helpers.ts";
import { spawnCheaterNet } from "../cheater_net.ts";
import { newWallet, sendCoins, waitBalance } from "../jobs/funding_helpers.ts";
import { waitStakeable } from "../jobs/devnet_process.ts";

const README = new URL("../../README.md", import.meta.url).pathname;
const KEY = "sk-camelid-test";
/** A plain chat template: the role, the text, then the end-of-sequence token ends each turn. */
const TEMPLATE =
  "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>{% endif %}";

function serveInProcess(
  app: { fetch: (r: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response> },
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

/** The error an openai call fails with (an `APIError`). */
async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return e;
    throw e;
  }
  throw new Error("the call succeeded");
}

Deno.test("gateway: the openai client's chat, text, stream, n, stop, seed, every error status, a cheating node refused and slashed; the README's curl examples", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-gateway-" });
  const chat = makeFixture({
    size: "tiny",
    dtype: "f16",
    seed: 1n,
    eosBias: 2,
    chatTemplate: TEMPLATE,
  });
  const other = makeFixture({ size: "tiny", dtype: "f16", seed: 2n, eosBias: 2 });
  const chatFile = `${dir}/chat.gguf`;
  const otherFile = `${dir}/other.gguf`;
  await Deno.writeFile(chatFile, chat);
  await Deno.writeFile(otherFile, other);
  const chatId = modelIdFromBytes(chat);
  const nodes: NodeProcess[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  try {
    await spawnCheaterNet(dir, { chat: chatFile, other: otherFile }, nodes);
    const url = nodes[0].url;
    const wallet = `${dir}/gateway.json`;
    const address = await newWallet(wallet, "client");
    const hastyKey = generateSecretKey();
    const hastyAddress = addressFromPublicKey(publicKeyOf(hastyKey));
    // Every compute node needs mature coins to stake.
    await Promise.all(nodes.map((n) => waitStakeable(n.url)));
    await sendCoins(`${dir}/n0/wallet.json`, url, address, "20");
    await sendCoins(`${dir}/n0/wallet.json`, url, hastyAddress, "5");
    await waitBalance(url, address, "20");
    await waitBalance(url, hastyAddress, "5");

    const gw = await spawnNode(
      [
        "--wallet",
        wallet,
        "--node",
        url,
        "--api-key",
        KEY,
        "--model",
        chatFile,
        "--model",
        otherFile,
        "--alias",
        `tiny-chat=${chatId}`,
        "--alias",
        `ghost=${"ab".repeat(32)}`,
        "--rate-limit",
        "600",
      ],
      { CAMELID_PASSPHRASE: "client" },
      "gateway",
    );
    nodes.push(gw);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });

    // Models: by general.name and by alias.
    const list = await client.models.list();
    const names = list.data.map((m) => m.id);
    assert.ok(names.includes("camelid-fixture-tiny-f16-1"), names.join(","));
    assert.ok(names.includes("camelid-fixture-tiny-f16-2"), names.join(","));
    assert.ok(names.includes("tiny-chat"), names.join(","));
    const got = await client.models.retrieve("tiny-chat");
    assert.equal(got.id, "tiny-chat");
    assert.equal((got as unknown as { camelid: { model_id: string } }).camelid.model_id, chatId);

    const ask = {
      model: "tiny-chat",
      messages: [{ role: "user" as const, content: "Hello there" }],
    };

    // A job that times out: 504 with the job id and the escrow's refund, which the gateway makes at
    // expiry (awaited at the end, while the other cases run).
    const node = new NodeClient(url);
    const settings = {
      node,
      fee: 20_000n,
      maxPricePer1k: 100_000_000n,
      localModels: new Map([[chatId, chat]]),
      aliases: new Map([["tiny-chat", chatId]]),
    };
    const refunded = Promise.withResolvers<
      { escrow: string; txid: string | null; error?: unknown }
    >();
    const hasty = serveInProcess(createGatewayApp({
      ...settings,
      secretKey: hastyKey,
      timeoutMs: 1,
      spendLock: walletSpendLock(`${dir}/hasty`),
      onRefund: (escrow, txid, error) => refunded.resolve({ escrow, txid, error }),
    }));
    stops.push(hasty.stop);
    const hastyClient = new OpenAI({ baseURL: `${hasty.url}/v1`, apiKey: "none", maxRetries: 0 });
    const late = await apiError(hastyClient.chat.completions.create(ask));
    assert.equal(late.status, 504);
    assert.equal(late.code, "job_timeout");
    const lateInfo = (late.error as {
      camelid: { job_id: string; refund: { escrow: string; refund_height: number } };
    }).camelid;
    assert.match(lateInfo.job_id, /^[0-9a-f]{64}$/);
    assert.match(lateInfo.refund.escrow, /^[0-9a-f]{64}:0$/);
    assert.ok(lateInfo.refund.refund_height > 0);
    assert.match(late.message, /refunds/);

    // Chat, text, n = 2, and a streamed chat all at once.
    const once = {
      model: "camelid-fixture-tiny-f16-1",
      prompt: "Once upon",
      max_tokens: 10,
      seed: 11,
    };
    const [completion, text, textStream, two, stream] = await Promise.all([
      client.chat.completions.create({ ...ask, max_tokens: 12, seed: 7 }),
      client.completions.create(once),
      client.completions.create({ ...once, stream: true }),
      client.chat.completions.create({ ...ask, max_tokens: 8, n: 2 }),
      client.chat.completions.create({
        ...ask,
        max_tokens: 12,
        seed: 7,
        stream: true,
        stream_options: { include_usage: true },
      }),
    ]);
    const audit = (completion as unknown as { camelid: Record<string, string> }).camelid;
    assert.match(audit.job_id, /^[0-9a-f]{64}$/);
    assert.match(audit.compute_node, /^[0-9a-f]{66}$/);
    assert.match(audit.escrow_txid, /^[0-9a-f]{64}$/);
    assert.match(audit.payment_txid, /^[0-9a-f]{64}$/);
    assert.equal(audit.verdict, "honest");
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices.length, 1);
    assert.equal(typeof completion.choices[0].message.content, "string");
    assert.ok(["stop", "length"].includes(completion.choices[0].finish_reason));
    assert.ok(completion.usage!.prompt_tokens > 3);
    assert.ok(
      completion.usage!.completion_tokens >= 1 && completion.usage!.completion_tokens <= 12,
    );
    assert.equal(text.object, "text_completion");
    assert.equal(typeof text.choices[0].text, "string");
    assert.ok(text.usage!.completion_tokens >= 1);
    let textStreamed = "";
    let textFinish: string | null = null;
    for await (const chunk of textStream) {
      textStreamed += chunk.choices[0]?.text ?? "";
      textFinish = chunk.choices[0]?.finish_reason ?? textFinish;
    }
    assert.equal(textStreamed, text.choices[0].text);
    assert.equal(textFinish, text.choices[0].finish_reason);
    assert.equal(two.choices.length, 2);
    const servers = two.choices.map((c) =>
      (c as unknown as { camelid: { compute_node: string } }).camelid.compute_node
    );
    assert.notEqual(servers[0], servers[1], "n = 2 is served by two different compute nodes");
    let streamed = "";
    let chunks = 0;
    let finish: string | null = null;
    let streamUsage = null;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) streamUsage = chunk.usage;
      for (const c of chunk.choices) {
        streamed += c.delta.content ?? "";
        finish = c.finish_reason ?? finish;
      }
    }
    assert.ok(chunks >= 3, `${chunks} chunks`);
    // The same fixed seed: the stream's chunks concatenate to the non-streamed answer.
    assert.equal(streamed, completion.choices[0].message.content);
    assert.equal(finish, completion.choices[0].finish_reason);
    assert.deepEqual(streamUsage, completion.usage);

    // A seed repeats its text (another job, maybe another node); stop cuts the text at a stop string.
    const long = await client.completions.create({
      model: "tiny-chat",
      prompt: "Once upon",
      max_tokens: 24,
      seed: 5,
      temperature: 1,
    });
    const again = await client.completions.create({
      model: "tiny-chat",
      prompt: "Once upon",
      max_tokens: 24,
      seed: 5,
      temperature: 1,
    });
    const jobOf = (r: unknown) => (r as { camelid: { job_id: string } }).camelid.job_id;
    assert.notEqual(jobOf(long), jobOf(again));
    assert.equal(again.choices[0].text, long.choices[0].text);
    const full = long.choices[0].text;
    assert.ok(full.length >= 4, `seed 5 gives ${JSON.stringify(full)}`);
    const stopAt = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 2);
    const stopped = await client.completions.create({
      model: "tiny-chat",
      prompt: "Once upon",
      max_tokens: 24,
      seed: 5,
      temperature: 1,
      stop: [stopAt],
    });
    assert.equal(stopped.choices[0].text, full.slice(0, full.indexOf(stopAt)));
    assert.equal(stopped.choices[0].finish_reason, "stop");

    // Errors in OpenAI's shape.
    const unknown = await apiError(
      client.chat.completions.create({ ...ask, frequency_penalty: 0.5 }),
    );
    assert.equal(unknown.status, 400);
    assert.equal(unknown.param, "frequency_penalty");
    assert.equal(unknown.code, "unsupported_parameter");
    const badValue = await apiError(client.chat.completions.create({ ...ask, temperature: 9 }));
    assert.equal(badValue.status, 400);
    assert.equal(badValue.param, "temperature");
    const wrongKey = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    const unauthorised = await apiError(wrongKey.models.list());
    assert.equal(unauthorised.status, 401);
    assert.equal(unauthorised.code, "invalid_api_key");
    const missing = await fetch(`${gw.url}/v1/models`);
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).error.code, "missing_api_key");
    const noModel = await apiError(
      client.chat.completions.create({ ...ask, model: "no-such-model" }),
    );
    assert.equal(noModel.status, 404);
    assert.equal(noModel.code, "model_not_found");
    const noInfo = await apiError(client.models.retrieve("no-such-model"));
    assert.equal(noInfo.status, 404);
    const open = await runCli(["gateway", "--wallet", wallet, "--host", "0.0.0.0", "--port", "0"]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /--api-key is required to listen on 0\.0\.0\.0/);
    const ghost = await apiError(client.chat.completions.create({ ...ask, model: "ghost" }));
    assert.equal(ghost.status, 503);
    assert.equal(ghost.code, "no_compute_node");
    const poor = serveInProcess(createGatewayApp({
      ...settings,
      secretKey: generateSecretKey(),
      timeoutMs: 60_000,
      spendLock: (f) => f(),
      ratePerMinute: 1,
    }));
    stops.push(poor.stop);
    const poorClient = new OpenAI({ baseURL: `${poor.url}/v1`, apiKey: "none", maxRetries: 0 });
    const broke = await apiError(poorClient.chat.completions.create(ask));
    assert.equal(broke.status, 402);
    assert.equal(broke.code, "insufficient_funds");
    const limited = await apiError(poorClient.chat.completions.create(ask));
    assert.equal(limited.status, 429);
    assert.equal(limited.code, "rate_limit_exceeded");

    // Without the model at hand, the gateway has the output verified by a verifier node.
    const remote = serveInProcess(createGatewayApp({
      ...settings,
      localModels: new Map(),
      secretKey: hastyKey,
      timeoutMs: 60_000,
      spendLock: walletSpendLock(`${dir}/hasty`),
    }));
    stops.push(remote.stop);
    const remoteClient = new OpenAI({ baseURL: `${remote.url}/v1`, apiKey: "none", maxRetries: 0 });
    const outsourced = await remoteClient.chat.completions.create({ ...ask, max_tokens: 6 });
    const remoteAudit = (outsourced as unknown as { camelid: Record<string, string> }).camelid;
    assert.equal(remoteAudit.verified_by, "outsourced");
    assert.equal(remoteAudit.verdict, "honest");

    // A cheating compute node: the gateway refuses its answer and its stake is slashed.
    const cheated = await apiError(
      client.completions.create({
        model: "camelid-fixture-tiny-f16-2",
        prompt: "Once upon",
        max_tokens: 12,
        temperature: 0,
      }),
    );
    assert.equal(cheated.status, 502);
    assert.equal(cheated.code, "job_disputed");
    const fraud =
      (cheated.error as { camelid: { job_id: string; verdict: string; fraud_txid: string } })
        .camelid;
    assert.equal(fraud.verdict, "fraud");
    assert.match(fraud.fraud_txid, /^[0-9a-f]{64}$/);
    await waitFor(
      "the fraud proof mined: the job disputed",
      async () =>
        (await getJson<{ state: string }>(`${url}/v1/jobs/${fraud.job_id}`)).body.state ===
          "disputed",
      60_000,
    );

    // The README's curl examples, run as written against this gateway.
    const readme = await Deno.readTextFile(README);
    const section = readme.slice(readme.indexOf("## Use it from an OpenAI client"));
    const commands = [...section.matchAll(/^(curl [^\n]*(?:\\\n[^\n]*)*)/gm)].map((m) => m[1]);
    assert.ok(commands.length >= 3, `${commands.length} curl examples`);
    for (const cmd of commands) {
      const out = await new Deno.Command("sh", {
        args: ["-c", cmd.replaceAll("http://127.0.0.1:8080", gw.url)],
        env: { CAMELID_API_KEY: KEY },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const body = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `${cmd}\n${new TextDecoder().decode(out.stderr)}`);
      if (cmd.includes('"stream": true')) {
        assert.match(body, /^data: \{"id":"chatcmpl-/m, cmd);
        assert.match(body, /\ndata: \[DONE\]\s*$/, cmd);
      } else {
        const json = JSON.parse(body);
        assert.ok(json.data || json.choices, `${cmd}\n${body}`);
        if (json.choices) assert.equal(json.camelid.verdict, "honest");
      }
    }

    // The timed-out job's escrow came back at its expiry.
    const refund = await refunded.promise;
    assert.equal(refund.error, undefined, String(refund.error));
    assert.equal(refund.escrow, lateInfo.refund.escrow);
    assert.match(refund.txid ?? "", /^[0-9a-f]{64}$/);
    assert.equal((await getJson(`${url}/v1/txs/${refund.txid}`)).status, 200);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    await Promise.all(nodes.map((n) => n.stop()));
    if (Deno.env.get("GATEWAY_LOG")) {
      for (const n of nodes) console.error(n.output().slice(-4000));
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
