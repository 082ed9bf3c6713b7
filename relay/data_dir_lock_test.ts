import assert from "node:assert/strict";
import { DataDirLockError, lockDataDir, lockPathOf } from "./data_dir_lock.ts";

Deno.test("a data directory lock is exclusive until released, and names the holder's pid", async () => {
  const dir = `${await Deno.makeTempDir({ prefix: "camelid-lock-unit-" })}/new/data`;
  const held = await lockDataDir(dir); // creates the directory
  try {
    assert.equal(held.path, lockPathOf(dir));
    assert.equal((await Deno.readTextFile(held.path)).trim(), String(Deno.pid));
    await assert.rejects(
      () => lockDataDir(dir),
      (e: unknown) =>
        e instanceof DataDirLockError && e.code === "datadir/locked" &&
        e.message.includes(`process ${Deno.pid}`),
    );
  } finally {
    held.release();
  }
  held.release(); // twice is harmless
  const again = await lockDataDir(dir);
  again.release();
});
