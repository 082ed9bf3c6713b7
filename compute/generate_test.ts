import assert from "node:assert/strict";
import { isHex32 } from "../chain/bytes.ts";
import { sampleToken, type SamplingParams } from "../verifier-wasm/sampler.ts";
import { fixtureFile } from "../tests/compute/fixtures.ts";
import { FIXTURE_TOKENS } from "./fixture.ts";
import { generate, prefillLogits } from "./generate.ts";
import { LlamaError, loadModel } from "./llama/llama.ts";
import { modelIdOfFile } from "./model_file.ts";

const JOB = new Uint8Array(32).fill(7);

function sampling(seed: bigint, temperature = 1, topK = 0, topP = 1): SamplingParams {
  return { seed, jobId: JOB, temperature, topK, topP };
}

Deno.test("generation is identical across runs and thread counts (f32, f16, q8_0)", async () => {
  // Multi-threaded single-token decodes are slow on a busy 2-core machine (ggml threads spin), so
  // thread counts are compared on a few generated tokens and on bitwise-equal prefill logits.
  for (const dtype of ["f32", "f16", "q8_0"] as const) {
    const path = fixtureFile({ size: "tiny", dtype, seed: 31n });
    const model = await loadModel(path);
    try {
      const prompt = model.tokenize("determinism", true);
      const req = { promptTokens: prompt, sampling: sampling(5n, 0.9, 50, 0.95) };
      const a = await generate(model, "id", { ...req, maxTokens: 24, threads: 1 });
      const b = await generate(model, "id", { ...req, maxTokens: 24, threads: 1 });
      assert.equal(a.outputTokens.length, 24);
      assert.deepEqual(b.outputTokens, a.outputTokens, `${dtype}: second run differs`);
      const threaded = dtype === "f32" ? [2, 3] : [2];
      for (const threads of threaded) {
        const c = await generate(model, "id", { ...req, maxTokens: 3, threads });
        assert.deepEqual(
          c.outputTokens,
          a.outputTokens.slice(0, 3),
          `${dtype}: ${threads} threads`,
        );
      }
      const all = [...prompt, ...a.outputTokens];
      const positions = all.map((_, i) => i);
      const one = await prefillLogits(model, all, positions, { threads: 1 });
      for (const threads of threaded) {
        const many = await prefillLogits(model, all, positions, { threads });
        assert.deepEqual(many, one, `${dtype}: prefill logits differ with ${threads} threads`);
      }
      const other = await generate(model, "id", {
        ...req,
        sampling: sampling(6n, 0.9, 50, 0.95),
        maxTokens: 24,
        threads: 1,
      });
      assert.notDeepEqual(other.outputTokens, a.outputTokens);
    } finally {
      await model.free();
    }
  }
});

Deno.test("job record: both finish reasons, end token last, fields as the verifier reads them", async () => {
  const plainPath = fixtureFile({ size: "tiny", dtype: "f32", seed: 8n });
  const plain = await loadModel(plainPath);
  const biased = await loadModel(
    fixtureFile({ size: "tiny", dtype: "f32", seed: 8n, eosBias: 30 }),
  );
  try {
    const modelId = await modelIdOfFile(plainPath);
    const length = await generate(plain, modelId, {
      promptTokens: [1, 10, 20],
      maxTokens: 12,
      sampling: sampling(123456789012345678n, 0.8, 0, 1),
      threads: 1,
    });
    assert.equal(length.finishReason, "length");
    assert.equal(length.outputTokens.length, 12);
    assert.ok(!length.outputTokens.includes(FIXTURE_TOKENS.eos));
    assert.equal(length.modelId, modelId);
    assert.ok(isHex32(length.modelId), length.modelId);
    assert.equal(length.seed, "123456789012345678");
    assert.equal(length.jobId, "07".repeat(32));
    assert.deepEqual(
      [length.temperature, length.topK, length.topP, length.maxTokens],
      [0.8, 0, 1, 12],
    );
    assert.deepEqual(length.promptTokens, [1, 10, 20]);
    assert.ok(length.timings.totalMs > 0 && length.timings.tokensPerSecond > 0);
    const parsed = JSON.parse(JSON.stringify(length));
    assert.deepEqual(Object.keys(parsed).sort(), [
      "finishReason",
      "jobId",
      "maxTokens",
      "modelId",
      "outputTokens",
      "promptTokens",
      "seed",
      "temperature",
      "timings",
      "topK",
      "topP",
    ]);

    const stop = await generate(biased, "id", {
      promptTokens: [1, 10, 20],
      maxTokens: 64,
      sampling: sampling(3n, 1),
      threads: 1,
    });
    assert.equal(stop.finishReason, "stop");
    assert.equal(stop.outputTokens.at(-1), FIXTURE_TOKENS.eos);
    assert.equal(stop.outputTokens.indexOf(FIXTURE_TOKENS.eos), stop.outputTokens.length - 1);
    assert.ok(stop.outputTokens.length < 64);
  } finally {
    await plain.free();
    await biased.free();
  }
});

Deno.test("one prefill over prompt + output reproduces every sampled token", async () => {
  for (const [dtype, vocab] of [["f32", 260], ["q8_0", 32000]] as const) {
    const model = await loadModel(fixtureFile({ size: "tiny", dtype, seed: 9n, vocab }));
    try {
      const params = sampling(77n, 1.1, 0, 1);
      const rec = await generate(model, "id", {
        promptTokens: [1, 50, 60, 70],
        maxTokens: 20,
        sampling: params,
        threads: 1,
      });
      const all = [...rec.promptTokens, ...rec.outputTokens];
      const n = rec.promptTokens.length;
      const positions = rec.outputTokens.map((_, p) => n - 1 + p);
      const rows = await prefillLogits(model, all, positions, { threads: 1 });
      assert.equal(rows.length, rec.outputTokens.length);
      for (let p = 0; p < rows.length; p++) {
        assert.equal(
          sampleToken(rows[p], params, p),
          rec.outputTokens[p],
          `${dtype} position ${p}`,
        );
      }
      // Rows follow the order of `positions`, duplicates allowed.
      const [a, b, c] = await prefillLogits(model, all, [n + 2, n - 1, n + 2], { threads: 1 });
      assert.deepEqual(a, c);
      assert.deepEqual(b, rows[0]);
    } finally {
      await model.free();
    }
  }
});

Deno.test("greedy generation follows the argmax of the logits", async () => {
  const model = await loadModel(fixtureFile({ size: "tiny", dtype: "f16", seed: 10n }));
  try {
    const rec = await generate(model, "id", {
      promptTokens: [1, 99],
      maxTokens: 8,
      sampling: sampling(1n, 0),
      threads: 1,
    });
    const all = [1, 99, ...rec.outputTokens];
    const rows = await prefillLogits(model, all, [1, 2, 3], { threads: 1 });
    for (let p = 0; p < 3; p++) {
      let best = 0;
      for (let j = 1; j < rows[p].length; j++) if (rows[p][j] > rows[p][best]) best = j;
      assert.equal(rec.outputTokens[p], best);
    }
  } finally {
    await model.free();
  }
});

Deno.test("generation rejects bad prompts and parameters with typed errors", async () => {
  const model = await loadModel(fixtureFile({ size: "tiny", dtype: "f32", seed: 8n }));
  try {
    const base = { maxTokens: 4, sampling: sampling(1n), threads: 1 };
    await assert.rejects(generate(model, "id", { ...base, promptTokens: [] }), RangeError);
    await assert.rejects(generate(model, "id", { ...base, promptTokens: [1, 260] }), RangeError);
    await assert.rejects(generate(model, "id", { ...base, promptTokens: [1.5] }), RangeError);
    await assert.rejects(
      generate(model, "id", { ...base, promptTokens: new Array(1100).fill(5) }),
      (e) => e instanceof LlamaError && e.code === "generate/prompt-too-long",
    );
    await assert.rejects(
      generate(model, "id", { ...base, promptTokens: new Array(1000).fill(5), maxTokens: 100 }),
      (e) => e instanceof LlamaError && e.code === "generate/prompt-too-long",
    );
    await assert.rejects(generate(model, "id", { ...base, promptTokens: [1], maxTokens: 0 }));
    await assert.rejects(
      generate(model, "id", { ...base, promptTokens: [1], sampling: sampling(1n, -1) }),
      RangeError,
    );
    await assert.rejects(prefillLogits(model, [1, 2], [2]), RangeError);
    // Still healthy afterwards.
    const ok = await generate(model, "id", { ...base, promptTokens: [1] });
    assert.equal(ok.outputTokens.length, 4);
  } finally {
    await model.free();
  }
});

Deno.test("prefill longer than one batch (512) keeps logits at positions across batches", async () => {
  const model = await loadModel(fixtureFile({ size: "tiny", dtype: "f32", seed: 12n }));
  try {
    const tokens = Array.from({ length: 700 }, (_, i) => 3 + ((i * 7) % 256));
    const positions = [0, 511, 512, 699];
    const rows = await prefillLogits(model, tokens, positions, { threads: 1 });
    const ctx = model.createContext({ nCtx: 768, nBatch: 1, threads: 1 });
    try {
      for (let i = 0; i < tokens.length; i++) {
        const [row] = await ctx.decode([tokens[i]], positions.includes(i) ? "last" : "none");
        const k = positions.indexOf(i);
        if (k < 0) continue;
        let d = 0;
        for (let j = 0; j < row.length; j++) d = Math.max(d, Math.abs(row[j] - rows[k][j]));
        assert.ok(d < 1e-3, `position ${i}: max diff ${d}`);
      }
    } finally {
      await ctx.free();
    }
  } finally {
    await model.free();
  }
});

Deno.test("an abort signal stops generation between tokens", async () => {
  const model = await loadModel(fixtureFile({ size: "tiny", dtype: "f32", seed: 8n }));
  try {
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(
      generate(model, "id", {
        promptTokens: [1, 2],
        maxTokens: 50,
        sampling: sampling(1n),
        threads: 1,
        signal: ac.signal,
        onToken: () => {
          if (++seen === 3) ac.abort(new Error("stop here"));
        },
      }),
      /stop here/,
    );
    assert.equal(seen, 3);
  } finally {
    await model.free();
  }
});
