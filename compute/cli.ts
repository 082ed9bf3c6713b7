/**
 * @module CLI commands of the compute role: `model fixture`, `model id` and `generate`.
 * Register them with {@link registerModelCommands} and {@link registerGenerateCommand}.
 */

import type { Command } from "commander";
import { fromHex } from "../chain/bytes.ts";
import { createProgress } from "../cli/progress.ts";
import {
  addSamplerOptions,
  parseFloatOption,
  parseIntOption,
  parseSeed,
  parseTokenList,
  samplerSettings,
} from "../cli/sampler_options.ts";
import {
  FIXTURE_SHAPES,
  type FixtureDtype,
  type FixtureSize,
  makeFixture,
  readVocabularyMetadata,
} from "./fixture.ts";
import { defaultThreads, generate } from "./generate.ts";
import { loadModel } from "./llama/llama.ts";
import { modelIdOfFile } from "./model_file.ts";
import { fetchModel } from "./model_fetch.ts";
import { assertGgufFile } from "./gguf_check.ts";
import { CamelidError } from "../chain/errors.ts";
import { textForOutput } from "../cli/terminal_text.ts";

/** Registers `model fixture` and `model id` on `program`. */
export function registerModelCommands(program: Command): void {
  const model = program.command("model").description("make and inspect GGUF models");
  model
    .command("fixture")
    .description("write a deterministic random llama model (same seed, same bytes)")
    .requiredOption("--size <size>", "tiny (L2/E64) or small (L8/E512/FF1408)")
    .option("--dtype <dtype>", "f32, f16 or q8_0", "f32")
    .option("--seed <n>", "seed (u64)", "0")
    .requiredOption("--out <file>", "output GGUF file")
    .option(
      "--vocab <n|file>",
      "vocabulary size (260 = bytes + specials; e.g. 32000), or a GGUF whose vocabulary to use",
      "260",
    )
    .option("--chat-template <file>", "Jinja chat template to write as tokenizer.chat_template")
    .option("--eos-bias <x>", "raise the end token's logit (about x / rms of the residual)", "0")
    .option("--force", "overwrite --out if it exists")
    .action(async (o: Record<string, string>) => {
      if (!o.force && await Deno.lstat(o.out).then(() => true, () => false)) {
        throw new CamelidError("model/exists", `${o.out} exists; give --force to overwrite it`);
      }
      if (!(o.size in FIXTURE_SHAPES)) throw new RangeError("--size must be tiny or small");
      if (!["f32", "f16", "q8_0"].includes(o.dtype)) {
        throw new RangeError("--dtype must be f32, f16 or q8_0");
      }
      const vocabFile = /^\d+$/.test(o.vocab) ? undefined : o.vocab;
      const bytes = makeFixture({
        size: o.size as FixtureSize,
        dtype: o.dtype as FixtureDtype,
        seed: parseSeed(o.seed),
        vocab: vocabFile ? undefined : parseIntOption("--vocab", o.vocab, 260, 1 << 18),
        vocabulary: vocabFile ? await readVocabularyMetadata(vocabFile) : undefined,
        chatTemplate: o.chatTemplate ? await Deno.readTextFile(o.chatTemplate) : undefined,
        eosBias: parseFloatOption("--eos-bias", o.eosBias),
      });
      await Deno.writeFile(o.out, bytes, { createNew: !o.force });
      console.log(`${o.out}: ${bytes.length} bytes, model id ${await modelIdOfFile(o.out)}`);
    });
  model
    .command("fetch")
    .description("fetch a model by id from peers, checking every 1 MiB chunk against the id")
    .argument("<id>", "model id (64 hex characters)")
    .requiredOption(
      "--from <url>",
      "a node serving /v1/models (repeatable)",
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .requiredOption("--out <file>", "where to write the model")
    .option("--parallel <n>", "chunks in flight", "4")
    .action(async (id: string, o: { from: string[]; out: string; parallel: string }) => {
      await fetchModel(id, o.from, o.out, {
        parallel: parseIntOption("--parallel", o.parallel, 1, 64),
      });
      console.log(`${o.out}: model ${await modelIdOfFile(o.out)}`);
    });
  model
    .command("id")
    .description("print the model id (Merkle root of the file's 1 MiB chunks)")
    .argument("<file>", "GGUF file")
    .action(async (file: string) => {
      await assertGgufFile(file);
      const progress = createProgress({ label: "model id", unit: "MiB" });
      const id = await modelIdOfFile(file, (done, total) => {
        progress.update(Math.floor(done / 2 ** 20), `of ${Math.ceil(total / 2 ** 20)}`);
      });
      progress.done();
      console.log(id);
    });
}

/** Registers `generate` on `program`. */
export function registerGenerateCommand(program: Command): void {
  const cmd = program
    .command("generate")
    .description("generate deterministically with llama.cpp and the shared sampler")
    .requiredOption("--model <file>", "GGUF model")
    .option("--prompt <text>", "prompt text (tokenized with the model's tokenizer, BOS added)")
    .option("--prompt-tokens <ids>", "prompt token ids, comma-separated")
    .requiredOption("--max-tokens <n>", "maximum output tokens");
  addSamplerOptions(cmd)
    .option("--job-id <hex>", "job id, 32 bytes hex (default: zeros)")
    .option("--threads <n>", "CPU threads", String(defaultThreads()))
    .option("--gpu", "use the CUDA build of llama.cpp")
    .option("--json", "print one JSON job record instead of streaming text")
    .action(async (o) => {
      if ((o.prompt === undefined) === (o.promptTokens === undefined)) {
        throw new RangeError("give exactly one of --prompt or --prompt-tokens");
      }
      const sampling = {
        ...samplerSettings(o),
        jobId: o.jobId ? fromHex(String(o.jobId), 32) : new Uint8Array(32),
      };
      const maxTokens = parseIntOption("--max-tokens", String(o.maxTokens), 1, 1 << 20);
      const threads = parseIntOption("--threads", String(o.threads), 1, 512);
      const path = String(o.model);
      const model = await loadModel(path, { gpu: !!o.gpu });
      try {
        const promptTokens = o.prompt !== undefined
          ? model.tokenize(String(o.prompt), true)
          : parseTokenList(String(o.promptTokens));
        const modelId = await modelIdOfFile(path);
        const json = !!o.json;
        const decoder = new TextDecoder();
        const enc = new TextEncoder();
        const progress = json
          ? createProgress({ label: "generate", total: maxTokens, unit: "tokens" })
          : null;
        let done = 0;
        const record = await generate(model, modelId, {
          promptTokens,
          maxTokens,
          sampling,
          threads,
          onToken: (token, piece) => {
            if (json) progress?.update(++done);
            else if (!model.isEog(token)) {
              const text = decoder.decode(piece, { stream: true });
              Deno.stdout.writeSync(enc.encode(textForOutput(text, Deno.stdout.isTerminal())));
            }
          },
        });
        progress?.done();
        if (json) {
          console.log(JSON.stringify(record));
        } else {
          const tail = decoder.decode();
          Deno.stdout.writeSync(enc.encode(textForOutput(tail, Deno.stdout.isTerminal()) + "\n"));
          const t = record.timings;
          console.error(
            `[${record.outputTokens.length} tokens, finish ${record.finishReason}, ` +
              `seed ${record.seed}, ` +
              `${t.tokensPerSecond.toFixed(1)} tok/s, prefill ${
                t.prefillTokensPerSecond.toFixed(1)
              } tok/s]`,
          );
        }
      } finally {
        await model.free();
      }
    });
}
