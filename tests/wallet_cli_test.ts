/** @module The wallet CLI with real processes: the passphrase prompt on a terminal (tmux), bad files. */

import assert from "node:assert/strict";
import { runBriefly } from "./run_briefly.ts";
import { readKeystore } from "../relay/wallet_file.ts";
import { unlockKeystore } from "../chain/keystore.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

const hasTmux = await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

/** A private tmux server running one command in a pane; `screen()` is what a person would see. */
async function inTerminal(command: string[]) {
  const socket = `camelid-test-${crypto.randomUUID().slice(0, 8)}`;
  const tmux = async (...args: string[]) => {
    const out = await new Deno.Command("tmux", { args: ["-L", socket, ...args] }).output();
    return new TextDecoder().decode(out.stdout);
  };
  const quoted = command.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  await tmux(
    "new-session",
    "-d",
    "-x",
    "200",
    "-y",
    "50",
    `env -u CAMELID_PASSPHRASE ${quoted}; echo EXIT=$?; sleep 60`,
  );
  const screen = () => tmux("capture-pane", "-p", "-S", "-100");
  return {
    screen,
    type: (text: string) => tmux("send-keys", "-l", text).then(() => tmux("send-keys", "Enter")),
    async waitFor(pattern: RegExp, ms = 60_000): Promise<string> {
      const end = Date.now() + ms;
      for (;;) {
        const s = await screen();
        if (pattern.test(s)) return s;
        if (Date.now() > end) throw new Error(`terminal never showed ${pattern}:\n${s}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => tmux("kill-server"),
  };
}

/** Runs `wallet new --wallet path` in a terminal, types `first` and `second`; the final screen. */
async function walletNewOnTerminal(path: string, first: string, second: string): Promise<string> {
  const term = await inTerminal([
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "wallet",
    "new",
    "--wallet",
    path,
  ]);
  try {
    await term.waitFor(/Passphrase to encrypt the new wallet/);
    await term.type(first);
    await term.waitFor(/Repeat the passphrase/);
    await term.type(second);
    return await term.waitFor(/EXIT=\d+/);
  } finally {
    await term.close();
  }
}

Deno.test({
  name: "wallet new on a terminal: no echo, asked twice, a mismatch creates nothing",
  ignore: !hasTmux,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "camelid-prompt-" });
    try {
      const good = await walletNewOnTerminal(`${dir}/a.json`, "hunter22-secret", "hunter22-secret");
      assert.match(good, /EXIT=0/, good);
      assert.ok(!good.includes("hunter22"), `the passphrase was echoed:\n${good}`);
      const ks = await readKeystore(`${dir}/a.json`);
      assert.equal((await unlockKeystore(ks, "hunter22-secret")).length, 32);

      const typo = await walletNewOnTerminal(`${dir}/b.json`, "hunter22-secret", "hunter22-secreT");
      assert.match(typo, /EXIT=1/, typo);
      assert.match(typo, /error \(wallet\/passphrase-mismatch\)/);
      assert.ok(!typo.includes("hunter22"), `the passphrase was echoed:\n${typo}`);
      await assert.rejects(() => Deno.lstat(`${dir}/b.json`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("wallet commands: edited KDF, a directory, a corrupt file are one line and exit 1, at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-wallet-cli-" });
  const env = { CAMELID_PASSPHRASE: "pw" };
  try {
    const path = `${dir}/w.json`;
    const made = await runBriefly(["wallet", "new", "--wallet", path], env);
    assert.equal(made.code, 0, made.stderr);
    const text = await Deno.readTextFile(path);
    const send = (wallet: string) =>
      runBriefly([
        "wallet",
        "send",
        "--wallet",
        wallet,
        "--to",
        JSON.parse(text).address,
        "--amount",
        "1",
        "--node",
        "http://127.0.0.1:9",
      ], env);
    const cases: [string, string, () => Promise<void>][] = [
      ["keystore/bad-kdf", path, async () => {
        const j = JSON.parse(text);
        j.kdf.p = 1_000_000; // hung `wallet send` until killed
        await Deno.writeTextFile(path, JSON.stringify(j));
      }],
      ["keystore/bad-kdf", path, async () => {
        const j = JSON.parse(text);
        j.kdf.N = 3; // a raw library stack trace
        await Deno.writeTextFile(path, JSON.stringify(j));
      }],
      ["keystore/malformed", path, () => Deno.writeTextFile(path, text.slice(0, 100))],
      ["wallet/not-a-file", dir, async () => {}],
    ];
    for (const [code, wallet, damage] of cases) {
      await damage();
      const run = await send(wallet);
      assert.equal(run.signal, null, `${code}: still running after 60 s`);
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.ok(lines[0].startsWith(`error (${code}): `), run.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wallet send --amount 0, -5 and abc are the same one-line amount/invalid error, before any unlock", async () => {
  for (const amount of ["0", "-5", "abc"]) {
    const run = await runBriefly([
      "wallet",
      "send",
      "--wallet",
      "/nonexistent/wallet.json", // never read: the amount is checked first
      "--to",
      "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
      "--amount",
      amount,
    ], {});
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.ok(
      run.stderr.startsWith(`error (amount/invalid): --amount must be more than zero coins`),
      run.stderr,
    );
  }
});

Deno.test("job submit names options as typed: --max-tokens out of range, --reward 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-job-options-" });
  const env = { CAMELID_PASSPHRASE: "pw" };
  try {
    const wallet = `${dir}/w.json`;
    assert.equal((await runBriefly(["wallet", "new", "--wallet", wallet], env)).code, 0);
    const submit = (maxTokens: string, reward: string) =>
      runBriefly([
        "job",
        "submit",
        "--wallet",
        wallet,
        "--model-id",
        "ab".repeat(32),
        "--prompt-tokens",
        "1,2",
        "--max-tokens",
        maxTokens,
        "--reward",
        reward,
        "--node",
        "http://127.0.0.1:9", // never reached: the options are checked first
      ], env);
    const cases: [string, string, RegExp][] = [
      ["9000", "1", /^error: --max-tokens must be in \[1, 8192\], got 9000$/],
      ["0", "1", /^error: --max-tokens must be in \[1, 8192\], got 0$/],
      ["5", "0", /^error \(amount\/invalid\): --reward must be more than zero coins/],
      ["5", "-5", /^error \(amount\/invalid\): --reward must be more than zero coins/],
    ];
    for (const [maxTokens, reward, expected] of cases) {
      const run = await submit(maxTokens, reward);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.match(run.stderr.trim(), expected);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
