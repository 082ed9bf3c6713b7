import assert from "node:assert/strict";
import { Command, Option } from "commander";
import { helpSettings } from "./help.ts";

Deno.test("help marks required options and shows fixed and computed defaults", () => {
  const program = new Command().configureHelp(helpSettings);
  const cmd = program.command("send")
    .requiredOption("--to <address>", "recipient address")
    .option("--fee <coins>", "miner fee", "0.0001")
    .addOption(
      new Option("--data-dir <dir>", "data directory").default(undefined, "./.camelid/dev"),
    )
    .option("--json", "print JSON");
  const help = cmd.helpInformation();
  assert.match(help, /--to <address>\s+recipient address \(required\)/);
  assert.match(help, /--fee <coins>\s+miner fee \(default: "0\.0001"\)/);
  assert.match(help, /--data-dir <dir>\s+data directory \(default: \.\/\.camelid\/dev\)/);
  assert.match(help, /--json\s+print JSON\n/);
});

Deno.test("every command's help marks each required option and shows each default", async () => {
  const { buildProgram } = await import("../main.ts");
  const walk = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(walk)];
  let required = 0;
  for (const cmd of walk(buildProgram())) {
    const help = cmd.helpInformation();
    for (const option of cmd.options) {
      const line = help.split("\n").find((l) => l.trimStart().startsWith(option.flags));
      assert.ok(line, `${cmd.name()}: ${option.flags} missing from help`);
      // Descriptions may wrap: read the option's entry up to the next option.
      const entry = help.slice(help.indexOf(line)).split(/\n {2}-/)[0].replace(/\s+/g, " ");
      if (option.mandatory) {
        required++;
        assert.match(entry, /required\)/, `${cmd.name()} ${option.flags}`);
      }
      if (option.defaultValue !== undefined && !option.negate && !option.isBoolean()) {
        assert.match(entry, /default: /, `${cmd.name()} ${option.flags}`);
      }
    }
  }
  assert.ok(required >= 3, "wallet send, job submit and others have required options");
});
