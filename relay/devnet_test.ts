import assert from "node:assert/strict";
import { Command } from "commander";
import { devnetNodeArgs, registerDevnetCommand, startDevnet } from "./devnet.ts";

Deno.test("devnet registers a command with its options and help", () => {
  const program = new Command().exitOverride();
  registerDevnetCommand(program);
  const cmd = program.commands.find((c) => c.name() === "devnet");
  assert.ok(cmd);
  const help = cmd.helpInformation();
  for (const flag of ["--nodes", "--base-port", "--mine-nodes", "--data-dir", "--peers-config"]) {
    assert.ok(help.includes(flag), `help lacks ${flag}`);
  }
});

Deno.test("devnet wires every node to the first by seed and mines only on the first m nodes", () => {
  const o = { nodes: 3, basePort: 9100, mineNodes: 1, dataDir: "/tmp/d" };
  const first = devnetNodeArgs(o, 0);
  const third = devnetNodeArgs(o, 2);
  assert.ok(!first.includes("--seed") && !first.includes("--no-mine"));
  assert.deepEqual(third.slice(third.indexOf("--port"), third.indexOf("--port") + 2), [
    "--port",
    "9102",
  ]);
  assert.ok(third.includes("--no-mine"));
  assert.equal(third[third.indexOf("--seed") + 1], "http://127.0.0.1:9100");
});

Deno.test("devnet rejects impossible sizes before starting anything", async () => {
  const base = { basePort: 9100, dataDir: "/tmp/none" };
  await assert.rejects(() => startDevnet({ ...base, nodes: 0, mineNodes: 0 }), RangeError);
  await assert.rejects(() => startDevnet({ ...base, nodes: 2, mineNodes: 3 }), RangeError);
  await assert.rejects(
    () => startDevnet({ ...base, nodes: 2, mineNodes: 1, basePort: 65535 }),
    RangeError,
  );
});
