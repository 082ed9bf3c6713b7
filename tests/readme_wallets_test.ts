/** @module The wallet files the README's walkthroughs create are ignored by git. */

import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("every --wallet FILE.json the README creates in the project root is git-ignored", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const files = [...new Set([...readme.matchAll(/--wallet ([\w.-]+\.json)\b/g)].map((m) => m[1]))];
  assert.ok(files.length >= 2, `expected the walkthrough wallets, found ${files}`);
  for (const file of files) {
    const out = await new Deno.Command("git", {
      args: ["check-ignore", "--no-index", "-q", file],
      cwd: ROOT,
    }).output();
    assert.equal(out.code, 0, `${file} is not in .gitignore`);
  }
  // Project files of the same kind stay tracked.
  for (const file of ["deno.json", "deno.lock"]) {
    const out = await new Deno.Command("git", {
      args: ["check-ignore", "--no-index", "-q", file],
      cwd: ROOT,
    }).output();
    assert.equal(out.code, 1, `${file} must not be ignored`);
  }
});
