/**
 * @module Chat prompts with the real chat templates llama.cpp ships (`models/templates/*.jinja`) and
 * the ones embedded in its vocabularies: the rendered text, its tokens (equal to llama.cpp's
 * `llama_tokenize` of that text), the generation prompt and the end-of-turn stop token.
 */

import assert from "node:assert/strict";
import { chatPrompt, ChatTemplateError, renderChat } from "../../client/chat_template.ts";
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import { LlamaVocab } from "../../compute/llama/vocab_only.ts";
import { ensureLlamaCpp } from "./llama_cpp_data.ts";

const dir = await ensureLlamaCpp();
const vocabPath = (name: string) => `${dir}/models/ggml-vocab-${name}.gguf`;
const templateText = (name: string) => Deno.readTextFile(`${dir}/models/templates/${name}.jinja`);

const SYSTEM_AND_USER = [
  { role: "system", content: "You are helpful." },
  { role: "user", content: "Hello!" },
];

interface Case {
  /** Template file in models/templates, or null for the vocabulary's embedded template. */
  template: string | null;
  vocab: string;
  /** Expected prompt text (leading BOS cut: the tokenizer adds it). */
  text: string;
  /** Expected end-of-turn token text. */
  endOfTurn: string;
  /** The generation prompt: what `text` has beyond the rendering without it. */
  prompt: string;
  /** Expected text without the generation prompt, when it is not `text` less `prompt`. */
  withoutPrompt?: string;
}

/** Llama 3.1 and 3.3 render the same prompt (with their default knowledge and today dates). */
const LLAMA_3_TEXT = "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: " +
  "December 2023\nToday Date: 26 Jul 2024\n\nYou are helpful.<|eot_id|><|start_header_id|>user" +
  "<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";

const CASES: Case[] = [
  {
    template: "meta-llama-Llama-3.1-8B-Instruct",
    vocab: "llama-bpe",
    text: LLAMA_3_TEXT,
    endOfTurn: "<|eot_id|>",
    prompt: "<|start_header_id|>assistant<|end_header_id|>\n\n",
  },
  {
    template: "meta-llama-Llama-3.3-70B-Instruct",
    vocab: "llama-bpe",
    text: LLAMA_3_TEXT,
    endOfTurn: "<|eot_id|>",
    prompt: "<|start_header_id|>assistant<|end_header_id|>\n\n",
  },
  {
    template: "Qwen-Qwen2.5-7B-Instruct",
    vocab: "qwen2",
    text: "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n" +
      "<|im_start|>assistant\n",
    endOfTurn: "<|im_end|>",
    prompt: "<|im_start|>assistant\n",
  },
  {
    template: null,
    vocab: "qwen35",
    text: "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n" +
      "<|im_start|>assistant\n",
    endOfTurn: "<|im_end|>",
    prompt: "<|im_start|>assistant\n",
  },
  {
    template: "mistralai-Mistral-Nemo-Instruct-2407",
    vocab: "llama-spm",
    text: "[INST]You are helpful.\n\nHello![/INST]",
    endOfTurn: "</s>",
    prompt: "",
  },
  {
    template: "microsoft-Phi-3.5-mini-instruct",
    vocab: "phi-3",
    text: "<|system|>\nYou are helpful.<|end|>\n<|user|>\nHello!<|end|>\n<|assistant|>\n",
    endOfTurn: "<|end|>",
    prompt: "<|assistant|>\n",
    withoutPrompt: "<|system|>\nYou are helpful.<|end|>\n<|user|>\nHello!<|end|>\n<|endoftext|>",
  },
  {
    template: "google-gemma-4-31B-it",
    vocab: "gemma-4",
    text: "<|turn>system\nYou are helpful.<turn|>\n<|turn>user\nHello!<turn|>\n<|turn>model\n" +
      "<|channel>thought\n<channel|>",
    endOfTurn: "<turn|>",
    prompt: "<|turn>model\n<|channel>thought\n<channel|>",
  },
  {
    template: null,
    vocab: "command-r",
    text: "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>You are helpful.<|END_OF_TURN_TOKEN|>" +
      "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hello!<|END_OF_TURN_TOKEN|>" +
      "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
    endOfTurn: "<|END_OF_TURN_TOKEN|>",
    prompt: "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
  },
];

for (const c of CASES) {
  Deno.test(`chat prompt: ${c.template ?? "embedded template"} on ${c.vocab}`, async () => {
    const tok = tokenizerFromGGUF(await Deno.readFile(vocabPath(c.vocab)));
    const template = c.template ? await templateText(c.template) : undefined;
    const p = chatPrompt(tok, SYSTEM_AND_USER, { template });
    assert.equal(p.text, c.text);
    assert.equal(tok.vocab.tokens[p.endOfTurn], c.endOfTurn);
    assert.equal(p.stop[0], p.endOfTurn);
    const llama = await LlamaVocab.load(vocabPath(c.vocab));
    try {
      assert.deepEqual(p.tokens, llama.model.tokenize(p.text, true, true));
      assert.ok(llama.model.isEog(p.endOfTurn), "llama.cpp stops on the end-of-turn token");
      for (const id of p.stop) assert.ok(llama.model.isEog(id));
      if (tok.vocab.addBos) assert.equal(p.tokens[0], tok.vocab.special.bos);
      assert.equal(
        p.tokens.filter((t) => t === tok.vocab.special.bos).length,
        tok.vocab.addBos ? 1 : 0,
      );
    } finally {
      await llama.free();
    }
    // Without the generation prompt the text stops after the user's turn.
    const noGen = renderChat(tok, SYSTEM_AND_USER, { template, addGenerationPrompt: false });
    assert.ok(c.text.endsWith(c.prompt));
    assert.equal(noGen, c.withoutPrompt ?? c.text.slice(0, c.text.length - c.prompt.length));
  });
}

Deno.test("every shipped template renders a plain chat or fails with a typed error", async () => {
  const tok = tokenizerFromGGUF(await Deno.readFile(vocabPath("llama-bpe")));
  let rendered = 0;
  let failed = 0;
  for await (const e of Deno.readDir(`${dir}/models/templates`)) {
    if (!e.name.endsWith(".jinja")) continue;
    const template = await Deno.readTextFile(`${dir}/models/templates/${e.name}`);
    try {
      const text = renderChat(tok, [{ role: "user", content: "Hello!" }], { template });
      assert.ok(text.includes("Hello!"), e.name);
      rendered++;
    } catch (err) {
      assert.ok(err instanceof ChatTemplateError, `${e.name}: ${err}`);
      failed++;
    }
  }
  assert.ok(rendered >= 60, `${rendered} rendered, ${failed} failed`);
});

Deno.test("chat errors are typed: no template, bad messages, a template that raises", async () => {
  const gpt2 = tokenizerFromGGUF(await Deno.readFile(vocabPath("gpt-2")));
  assert.throws(
    () => chatPrompt(gpt2, SYSTEM_AND_USER),
    (e) => e instanceof ChatTemplateError && e.code === "chat/no-template",
  );
  const gemma = tokenizerFromGGUF(await Deno.readFile(vocabPath("gemma-4")));
  for (const bad of [[], [{ role: "user" }], "hi", [{ role: 1, content: "x" }]]) {
    assert.throws(
      () => renderChat(gemma, bad as never),
      (e) => e instanceof ChatTemplateError && e.code === "chat/bad-messages",
    );
  }
  const gemma2 = await templateText("google-gemma-2-2b-it");
  assert.throws(
    () => renderChat(gemma, SYSTEM_AND_USER, { template: gemma2 }),
    (e) => e instanceof ChatTemplateError && e.code === "chat/render-failed",
  );
  assert.throws(
    () => renderChat(gemma, SYSTEM_AND_USER, { template: "{% if %}" }),
    (e) => e instanceof ChatTemplateError && e.code === "chat/bad-template",
  );
});
