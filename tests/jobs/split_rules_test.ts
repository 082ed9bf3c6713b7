/**
 * Split rules of job trees on answers as models write them (a numbered plan with a preamble and a
 * closing remark, wrapped items, bullets, a JSON array in a code fence) and on noise decoded from
 * the fixture model's vocabulary; the child template; the tree's per-attempt cost and seeds.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { makeFixture } from "../../compute/fixture.ts";
import { tokenizerFromGGUF } from "../../client/tokenizer/mod.ts";
import {
  childPrompt,
  isSplitRule,
  SPLIT_RULES,
  splitChunks,
  splitCompletion,
  splitJsonArray,
  splitLines,
  splitList,
  SplitRuleError,
} from "../../client/split_rules.ts";
import { attemptCost, childSeed } from "../../client/job_tree.ts";
import { contactWithParent, parentOfContact } from "../../client/phases/offer.ts";

const PLAN = `Sure! Here is a plan for the trip:

1. Book the train tickets from Zurich to Milan for the morning of the 12th,
   ideally a direct connection.
2. Reserve a hotel near the cathedral for two nights.
3) Draw up a list of museums and check their opening hours.
- Pack light.

Let me know if you want more detail on any step.`;

const JSON_ANSWER =
  'Here are the sub-tasks:\n```json\n["Summarise chapter 1", "Summarise chapter 2", ' +
  '{"task": "compare", "chapters": [1, 2]}]\n```\nEach can run on its own.';

Deno.test("split list: numbered and bulleted items, wrapped lines kept, preamble and closing remark left out", () => {
  assert.deepEqual(splitList(PLAN), [
    "Book the train tickets from Zurich to Milan for the morning of the 12th, ideally a direct connection.",
    "Reserve a hotel near the cathedral for two nights.",
    "Draw up a list of museums and check their opening hours.",
    "Pack light.",
  ]);
  assert.deepEqual(splitList("no list here\njust prose"), []);
});

Deno.test("split lines: every non-empty line, trimmed", () => {
  assert.deepEqual(splitLines("  first\r\n\n second \n\n"), ["first", "second"]);
  assert.equal(splitLines(PLAN).length, 7);
});

Deno.test("split json: the first array that parses, inside fences and prose; strings trimmed, other values as JSON", () => {
  assert.deepEqual(splitJsonArray(JSON_ANSWER), [
    "Summarise chapter 1",
    "Summarise chapter 2",
    '{"task":"compare","chapters":[1,2]}',
  ]);
  assert.deepEqual(splitJsonArray('see [broken, "x"] then ["a ]", " b "]'), ["a ]", "b"]);
  assert.deepEqual(splitJsonArray("[1, 2"), []);
  assert.deepEqual(splitJsonArray("nothing"), []);
});

Deno.test("split chunks: about equal pieces cut at spaces, fewer for short text", () => {
  assert.deepEqual(splitChunks("one two three four five six", 3), [
    "one two",
    "three four",
    "five six",
  ]);
  assert.deepEqual(splitChunks("ab", 3), ["a", "b"]);
  assert.deepEqual(splitChunks("   ", 3), []);
});

Deno.test("splitCompletion: parts too short and beyond the fan-out are dropped and said why", () => {
  const r = splitCompletion(PLAN, "list", { maxParts: 2, minChars: 12 });
  assert.equal(r.parts.length, 2);
  assert.match(r.parts[0], /^Book the train/);
  assert.deepEqual(r.dropped, [
    { text: "Draw up a list of museums and check their opening hours.", reason: "over-fanout" },
    { text: "Pack light.", reason: "too-short" },
  ]);
  assert.throws(
    () => splitCompletion("x", "words" as never, { maxParts: 1, minChars: 1 }),
    (e) => e instanceof SplitRuleError && e.code === "tree/bad-split",
  );
  assert.ok(SPLIT_RULES.every(isSplitRule));
  assert.ok(!isSplitRule("words"));
});

Deno.test("split rules on noise decoded from the fixture vocabulary: never throw, parts within the limits", () => {
  const tok = tokenizerFromGGUF(makeFixture({ size: "tiny", dtype: "f16", seed: 1n }));
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 3, max: 259 }), { maxLength: 80 }),
      fc.constantFrom(...SPLIT_RULES),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 10 }),
      (ids, rule, maxParts, minChars) => {
        const text = tok.detokenize(ids, { unparseSpecial: false });
        const { parts, dropped } = splitCompletion(text, rule, { maxParts, minChars });
        assert.ok(parts.length <= maxParts);
        for (const p of parts) assert.ok(p.length >= minChars && p === p.trim());
        for (const d of dropped) {
          assert.ok(d.reason === "over-fanout" || d.text.length < minChars);
        }
        if (rule === "chunks" && text.trim().length >= maxParts * minChars * 2) {
          assert.ok(parts.length >= 1, "long noise gives chunks");
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("child template: part and parent replaced once each, braces in the text left alone; {part} required", () => {
  assert.equal(
    childPrompt("Context:\n{parent}\nTask: {part}", "do {parent}", "p {part}"),
    "Context:\np {part}\nTask: do {parent}",
  );
  assert.throws(
    () => childPrompt("no slot", "a", "b"),
    (e) => e instanceof SplitRuleError && e.code === "tree/bad-template",
  );
});

Deno.test("tree bookkeeping: attempt cost, derived seeds, the parent in the contact", () => {
  assert.equal(attemptCost(5_000_000n, 20_000n), 5_060_000n);
  assert.equal(childSeed(42n, "0", 0), 42n, "the root's first attempt uses the given seed");
  const seeds = new Set(
    ["0.0", "0.1", "0.0.0"].flatMap((p) => [0, 1].map((a) => childSeed(42n, p, a))),
  );
  assert.equal(seeds.size, 6, "each node and attempt has its own seed");
  for (const s of seeds) assert.ok(s >= 0n && s < 1n << 64n);
  const parent = "ab".repeat(32);
  const contact = contactWithParent("http://127.0.0.1:8787", parent);
  assert.equal(contact, `http://127.0.0.1:8787#parent=${parent}`);
  assert.equal(parentOfContact(contact), parent);
  assert.equal(parentOfContact("http://127.0.0.1:8787"), null);
  assert.throws(() => contactWithParent("http://x", "nothex"), RangeError);
});
