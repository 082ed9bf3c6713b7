import assert from "node:assert/strict";
import { CamelidError } from "../chain/errors.ts";
import { errorLine } from "./error_line.ts";

Deno.test("user errors print one line with their code; bugs print whole", async () => {
  assert.equal(
    errorLine(new CamelidError("wallet/exists", "a wallet exists")),
    "error (wallet/exists): a wallet exists",
  );
  assert.equal(
    errorLine(new RangeError("--k must be an integer")),
    "error: --k must be an integer",
  );
  const missing = await Deno.readTextFile("/nonexistent/job.json").catch((e) => e);
  assert.match(errorLine(missing)!, /^error \(file\/not-found\): .*\/nonexistent\/job\.json/);
  const dir = await Deno.readTextFile(Deno.cwd()).catch((e) => e);
  assert.match(errorLine(dir)!, /^error \(file\/is-a-directory\): /);
  assert.equal(errorLine(new CamelidError("x/y", "first\nsecond")), "error (x/y): first");
  assert.equal(errorLine(new Error("a bug")), null);
  assert.equal(errorLine("a string"), null);
});
