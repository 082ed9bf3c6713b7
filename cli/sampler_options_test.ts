import assert from "node:assert/strict";
import { Command } from "commander";
import {
  addPositionOptions,
  addSamplerOptions,
  DEFAULT_POSITION_MODE,
  DEFAULT_SAMPLED_POSITIONS,
  parseSeed,
  parseTokenList,
  positionSettings,
  SAMPLER_DEFAULTS,
  type SamplerOptionValues,
  samplerSettings,
} from "./sampler_options.ts";

/** The options a command built with the shared definitions parses from `args`. */
function parse(args: string[]) {
  const cmd = addPositionOptions(
    addSamplerOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} })),
  );
  cmd.parse(args, { from: "user" });
  return cmd.opts() as SamplerOptionValues & { positions: string; k: string };
}

Deno.test("every command gets the same sampler defaults and a random seed when none is given", () => {
  const a = samplerSettings(parse([]));
  const b = samplerSettings(parse([]));
  assert.deepEqual(
    { temperature: a.temperature, topK: a.topK, topP: a.topP },
    { ...SAMPLER_DEFAULTS },
  );
  assert.notEqual(a.seed, b.seed);
  assert.ok(a.seed >= 0n && a.seed < 1n << 64n);
  const given = samplerSettings(
    parse(["--seed", "18446744073709551615", "--temperature", "0", "--top-k", "0", "--top-p", "1"]),
  );
  assert.deepEqual(given, { seed: 18446744073709551615n, temperature: 0, topK: 0, topP: 1 });
});

Deno.test("bad sampler values are RangeErrors naming the option", () => {
  for (
    const [args, option] of [
      [["--seed", "18446744073709551616"], /seed/],
      [["--seed", "-1"], /seed/],
      [["--temperature", "warm"], /--temperature/],
      [["--temperature", ""], /--temperature/],
      [["--top-k", "1.5"], /--top-k/],
      [["--top-k", "-1"], /--top-k/],
      [["--top-p", "NaN"], /--top-p/],
    ] as const
  ) {
    assert.throws(() => samplerSettings(parse([...args])), (e) => {
      return e instanceof RangeError && option.test(e.message);
    });
  }
  assert.throws(() => parseSeed("1e3"), RangeError);
  assert.deepEqual(parseTokenList(" 1, 2 ,3 "), [1, 2, 3]);
  assert.throws(() => parseTokenList("1,,2"), RangeError);
});

Deno.test("positions: one default (every position, k for sampled checks), checked values", () => {
  assert.deepEqual(positionSettings(parse([])), {
    positions: DEFAULT_POSITION_MODE,
    k: DEFAULT_SAMPLED_POSITIONS,
  });
  assert.equal(DEFAULT_POSITION_MODE, "all");
  assert.deepEqual(positionSettings(parse(["--positions", "sampled", "--k", "3"])), {
    positions: "sampled",
    k: 3,
  });
  assert.throws(() => parse(["--positions", "some"]), { code: "commander.invalidArgument" });
  assert.throws(() => positionSettings(parse(["--k", "x"])), RangeError);
  assert.throws(() => positionSettings({ positions: "some", k: "3" }), RangeError);
});
