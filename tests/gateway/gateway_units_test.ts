/**
 * The gateway's parts without a network: request checks (every refusal names its parameter), seeds,
 * the price cap, distinct job ids for repeats, decoding with stop strings and stream pieces on a real
 * fixture vocabulary, and an import graph free of FFI, KV and file access.
 */
import assert from "node:assert/strict";
import { makeFixture } from "../../compute/fixture.ts";
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import { FIXED_SEED_FLAG } from "../../verifier-wasm/sampler.ts";
import { parseChatRequest, parseTextRequest } from "../../gateway/request.ts";
import { GatewayError } from "../../gateway/errors.ts";
import { decodeOutput, jobSeed } from "../../gateway/completion.ts";
import { type JobAudit, rewardFor } from "../../gateway/jobs.ts";
import { DistinctJobs, RECENT_MS } from "../../gateway/distinct_jobs.ts";

const chat = { model: "m", messages: [{ role: "user", content: "Hi" }] };

function refused(f: () => unknown, status: number, param: string | null, code?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof GatewayError);
    assert.equal(e.status, status);
    assert.equal(e.param, param);
    if (code) assert.equal(e.code, code);
    return true;
  });
}

Deno.test("requests: defaults, max_completion_tokens, text parts; every refusal names its parameter", () => {
  const r = parseChatRequest(chat, 128);
  assert.deepEqual(
    [r.maxTokens, r.temperature, r.topP, r.n, r.seed, r.stream, r.stop],
    [128, 1, 1, 1, null, false, []],
  );
  assert.equal(parseChatRequest({ ...chat, max_completion_tokens: 9 }, 128).maxTokens, 9);
  const parts = parseChatRequest({
    ...chat,
    messages: [{
      role: "user",
      content: [{ type: "text", text: "a" }, { type: "text", text: "b" }],
    }],
  }, 1);
  assert.equal(parts.messages[0].content, "ab");
  assert.deepEqual(parseTextRequest({ model: "m", prompt: ["x"], stop: "\n" }, 16).stop, ["\n"]);
  refused(
    () => parseChatRequest({ ...chat, presence_penalty: 1 }, 1),
    400,
    "presence_penalty",
    "unsupported_parameter",
  );
  refused(
    () => parseChatRequest({ ...chat, logprobs: true }, 1),
    400,
    "logprobs",
    "unsupported_parameter",
  );
  refused(() => parseChatRequest({ ...chat, temperature: 2.5 }, 1), 400, "temperature");
  refused(() => parseChatRequest({ ...chat, top_p: 0 }, 1), 400, "top_p");
  refused(() => parseChatRequest({ ...chat, n: 9 }, 1), 400, "n");
  refused(() => parseChatRequest({ ...chat, seed: 1.5 }, 1), 400, "seed");
  refused(() => parseChatRequest({ ...chat, stop: ["a", "b", "c", "d", "e"] }, 1), 400, "stop");
  refused(() => parseChatRequest({ ...chat, max_tokens: 0 }, 1), 400, "max_tokens");
  refused(
    () => parseChatRequest({ ...chat, max_tokens: 3, max_completion_tokens: 4 }, 1),
    400,
    "max_completion_tokens",
  );
  refused(
    () => parseChatRequest({ ...chat, stream_options: { foo: 1 } }, 1),
    400,
    "stream_options.foo",
  );
  refused(() => parseChatRequest({ ...chat, messages: [] }, 1), 400, "messages");
  refused(
    () =>
      parseChatRequest({ ...chat, messages: [{ role: "user", content: "x", tool_calls: [] }] }, 1),
    400,
    "messages[0].tool_calls",
  );
  refused(() => parseChatRequest({ messages: chat.messages }, 1), 400, "model");
  refused(() => parseTextRequest({ model: "m", prompt: 3 }, 1), 400, "prompt");
  refused(() => parseTextRequest([], 1), 400, null, "invalid_json");
});

Deno.test("seeds: a caller's seed is fixed (bit 63) and differs per choice; none draws one below 2^63", () => {
  assert.equal(jobSeed(5, 0), FIXED_SEED_FLAG | 5n);
  assert.equal(jobSeed(5, 1), FIXED_SEED_FLAG | 6n);
  assert.equal(jobSeed(-1, 0), FIXED_SEED_FLAG | ((1n << 63n) - 1n));
  for (let i = 0; i < 20; i++) assert.ok(jobSeed(null, 0) < FIXED_SEED_FLAG);
  assert.notEqual(jobSeed(null, 0), jobSeed(null, 0));
});

Deno.test("price: the most demanding node's minimum, refused with 402 above the cap", () => {
  const ad = (minReward: bigint) => ({ url: "u", key: null, models: [], contexts: {}, minReward });
  assert.equal(rewardFor([ad(10n), ad(30n)], 100, 1_000n), 30n);
  refused(() => rewardFor([ad(101n)], 100, 1_000n), 402, null, "price_above_cap");
});

Deno.test("repeats of the same terms within the window get one more expiry block each", () => {
  const d = new DistinctJobs();
  assert.deepEqual([d.next("a", 0), d.next("a", 10), d.next("b", 10), d.next("a", 20)], [
    0,
    1,
    0,
    2,
  ]);
  assert.equal(d.next("a", 20 + RECENT_MS), 0);
});

Deno.test("decoding: end-of-generation dropped, cut at the first stop string, pieces add up", () => {
  const tok = tokenizerFromGGUF(makeFixture({ size: "tiny", dtype: "f16", seed: 1n }));
  const text = "Hello world, hello again";
  const tokens = tok.tokenize(text, { addSpecial: false });
  const audit = {} as JobAudit;
  const eos = tok.vocab.special.eos;
  const whole = decodeOutput(
    tok,
    { outputTokens: [...tokens, eos], finishReason: "stop", audit },
    [],
  );
  assert.equal(whole.text, text);
  assert.equal(whole.pieces.join(""), text);
  assert.ok(whole.pieces.length > 1);
  assert.equal(whole.finish, "stop");
  const cut = decodeOutput(tok, { outputTokens: tokens, finishReason: "length", audit }, [
    "lo a",
    ", h",
  ]);
  assert.equal(cut.text, "Hello world");
  assert.equal(cut.pieces.join(""), "Hello world");
  assert.equal(cut.finish, "stop");
  const none = decodeOutput(tok, { outputTokens: tokens, finishReason: "length", audit }, ["zzz"]);
  assert.equal(none.finish, "length");
  // The chat template's end of turn ends the answer, even where the vocabulary does not mark it.
  const turn = decodeOutput(
    tok,
    { outputTokens: [...tokens, tokens[0], ...tokens], finishReason: "length", audit },
    [],
    [tokens[0]],
  );
  assert.equal(turn.text, "");
  assert.equal(turn.finish, "stop");
  const later = tokens.findIndex((t, i) => i > 0 && !tokens.slice(0, i).includes(t));
  const ended = decodeOutput(tok, { outputTokens: tokens, finishReason: "length", audit }, [], [
    tokens[later],
  ]);
  assert.equal(ended.text, tok.detokenize(tokens.slice(0, later)));
  assert.equal(ended.finish, "stop");
});

Deno.test("the gateway app imports nothing with FFI, KV or file access", async () => {
  const entry = new URL("../../gateway/app.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", entry] }).output();
  assert.ok(out.success);
  const modules = (JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  }).modules.map((m) => m.specifier);
  assert.ok(modules.some((m) => m.endsWith("/client/job_client.ts")));
  for (const m of modules) {
    assert.ok(!m.includes("/compute/") && !m.includes("node-llama-cpp"), m);
    if (!m.startsWith("file:")) continue;
    const source = await Deno.readTextFile(new URL(m));
    for (
      const api of ["Deno.dlopen", "Deno.openKv", "Deno.readFile", "Deno.open(", "Deno.Command"]
    ) {
      assert.ok(!source.includes(api), `${m} uses ${api}`);
    }
  }
});
