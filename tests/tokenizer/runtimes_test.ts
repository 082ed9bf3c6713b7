/**
 * @module The tokenizer and chat templates outside Deno: one `deno bundle` of `client/tokenizer` and
 * `client/chat_template.ts`, run in Node and in headless Chromium (a page on 127.0.0.1 driven by
 * playwright-core), must give the ids Deno gives (which equal llama.cpp's, see tokenizer_test.ts).
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { chatPrompt } from "../../client/chat_template.ts";
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import { bundle } from "./bundle.ts";
import { ensureLlamaCpp } from "./llama_cpp_data.ts";
import { generateStrings } from "./strings.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const VOCABS = ["llama-spm", "llama-bpe", "qwen2", "gemma-4"];
const STRINGS = 300;
const MESSAGES = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi 🦙!" }];

/** Entry of the bundle: what the runtimes call. */
const ENTRY = `
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import { chatPrompt } from "../../client/chat_template.ts";
export function run(gguf, strings, messages) {
  const tok = tokenizerFromGGUF(gguf);
  return {
    tokens: strings.map((s) => tok.tokenize(s, { parseSpecial: true })),
    texts: strings.map((s) => tok.detokenize(tok.tokenize(s), { unparseSpecial: true })),
    chat: tok.vocab.chatTemplate ? chatPrompt(tok, messages).tokens : null,
  };
}
`;

interface Result {
  tokens: number[][];
  texts: string[];
  chat: number[] | null;
}

Deno.test("the bundled tokenizer gives Deno's ids in Node and in Chromium", async () => {
  const dir = await ensureLlamaCpp();
  const code = await bundle(ENTRY);
  assert.ok(!/\bDeno\./.test(code), "no Deno API in the bundle");
  const cases = await Promise.all(VOCABS.map(async (name) => {
    const path = `${dir}/models/ggml-vocab-${name}.gguf`;
    const gguf = await Deno.readFile(path);
    const tok = tokenizerFromGGUF(gguf);
    const specials = tok.vocab.specialCache.slice(0, 50).map((id) => tok.vocab.tokens[id]);
    const strings = generateStrings(STRINGS, 0xb0d1e5, specials);
    const want: Result = {
      tokens: strings.map((s) => tok.tokenize(s, { parseSpecial: true })),
      texts: strings.map((s) => tok.detokenize(tok.tokenize(s), { unparseSpecial: true })),
      chat: tok.vocab.chatTemplate ? chatPrompt(tok, MESSAGES).tokens : null,
    };
    return { name, path, gguf, strings, want };
  }));
  assert.ok(cases.some((c) => c.want.chat !== null), "a vocabulary with a chat template");

  const tmp = await Deno.makeTempDir({ prefix: "camelid-tok-runtimes-" });
  try {
    // Node: the bundle as an ES module, fed the GGUF bytes read with node:fs.
    await Deno.writeTextFile(`${tmp}/tok.mjs`, code);
    for (const c of cases) {
      await Deno.writeTextFile(`${tmp}/strings.json`, JSON.stringify(c.strings));
      await Deno.writeTextFile(
        `${tmp}/run.mjs`,
        `import { readFileSync } from "node:fs";
import { run } from "./tok.mjs";
const strings = JSON.parse(readFileSync(${JSON.stringify(`${tmp}/strings.json`)}, "utf8"));
const gguf = new Uint8Array(readFileSync(${JSON.stringify(c.path)}));
process.stdout.write(JSON.stringify(run(gguf, strings, ${JSON.stringify(MESSAGES)})));
`,
      );
      const r = await new Deno.Command("node", { args: [`${tmp}/run.mjs`], stdout: "piped" })
        .output();
      assert.equal(r.code, 0, `node on ${c.name}`);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(r.stdout)), c.want, `node: ${c.name}`);
    }

    // Chromium: a page served from 127.0.0.1 imports the bundle and fetches the GGUF bytes.
    const files = new Map<string, { body: Uint8Array | string; type: string }>([
      ["/tok.mjs", { body: code, type: "text/javascript" }],
      ["/", { body: "<!doctype html><title>tokenizer</title>", type: "text/html" }],
      ...cases.map((c) =>
        [`/${c.name}.gguf`, { body: c.gguf, type: "application/octet-stream" }] as const
      ),
    ]);
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const f = files.get(new URL(req.url).pathname);
      return f
        ? new Response(f.body as BodyInit, { headers: { "content-type": f.type } })
        : new Response("not found", { status: 404 });
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      for (const c of cases) {
        const got = await page.evaluate(async ([name, strings, messages]) => {
          const mod = await import("/tok.mjs");
          const gguf = new Uint8Array(await (await fetch(`/${name}.gguf`)).arrayBuffer());
          return mod.run(gguf, strings, messages);
        }, [c.name, c.strings, MESSAGES] as const);
        assert.deepEqual(got, c.want, `chromium: ${c.name}`);
      }
    } finally {
      await browser.close();
      await server.shutdown();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
