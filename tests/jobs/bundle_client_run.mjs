// The light client's run in any runtime (named so that `deno test` does not collect it), from the
// dist/client.mjs bundle: by model id, the tokenizer from the node (checked against the id), then
// one job verified by outsourced votes and one verified here by the bundle's verifier core.
// tests/jobs/client_bundle_test.ts runs it under Node and in headless Chromium.

/**
 * @param {Record<string, any>} m the bundle's exports
 * @param {{ url: string, modelId: string, secret: string, model: Uint8Array }} o
 */
export async function runLightClient(m, o) {
  const node = new m.NodeClient(o.url);
  const secretKey = m.fromHex(o.secret, 32);
  const tok = await m.tokenizerForModel(o.url, o.modelId);
  const prompt = m.textPrompt(tok, "Hello from a bundle");
  const sub = await m.Subscription.connect(o.url, secretKey);
  const subscribed = sub.connected;
  sub.close();
  const states = [];
  const terms = (seed) => ({
    node,
    secretKey,
    modelId: o.modelId,
    promptTokens: prompt.tokens,
    maxTokens: 8,
    seed,
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    reward: 50_000_000n,
    fee: 20_000n,
    timeoutMs: 120_000,
    onState: (s) => states.push(s),
  });
  const outsourced = await m.submitJob({ ...terms(11n), outsource: {} });
  const local = await m.submitJob({ ...terms(12n), verifyWith: o.model });
  return {
    subscribed,
    promptTokens: prompt.tokens.length,
    outsourced: {
      state: outsourced.state,
      verdict: outsourced.outsourced?.verdict ?? null,
      votes: outsourced.outsourced?.votes.length ?? 0,
      text: m.answerText(tok, outsourced.outputTokens ?? [], prompt.stop),
    },
    local: {
      state: local.state,
      verdict: local.verdict?.verdict ?? null,
      checked: local.verdict?.checked.length ?? 0,
      tokens: local.outputTokens?.length ?? 0,
    },
    states,
  };
}
