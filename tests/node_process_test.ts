import assert from "node:assert/strict";
import { getJson, runCli, spawnNode, waitFor, walletSend } from "./process_helpers.ts";
import { assertConservedOnDisk } from "./chain_helpers.ts";
import { networkParams } from "../chain/params.ts";

Deno.test("a node process mines, answers over HTTP, and moves coins between two CLI wallets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-node-" });
  const node = await spawnNode(["--data-dir", `${dir}/node`]);
  try {
    const status = await getJson<{ network: string; height: number; version: string }>(
      `${node.url}/v1/status`,
    );
    assert.equal(status.status, 200);
    assert.equal(status.body.network, "dev");
    const maturity = networkParams("dev").coinbaseMaturity;
    await waitFor(
      "mature coinbase",
      async () =>
        (await getJson<{ height: number }>(`${node.url}/v1/status`)).body.height > maturity,
    );

    const bob = await runCli(["wallet", "new", "--wallet", `${dir}/bob.json`], {
      CAMELID_PASSPHRASE: "bob secret",
    });
    assert.equal(bob.code, 0, bob.stderr);
    const bobAddress = (await runCli(["wallet", "address", "--wallet", `${dir}/bob.json`])).stdout
      .trim();
    assert.match(bobAddress, /^1[1-9A-HJ-NP-Za-km-z]{25,34}$/);

    const send = await walletSend(`${dir}/node/wallet.json`, bobAddress, "12.5", node.url, "");
    assert.equal(send.code, 0, send.stderr);
    const txid = send.stdout.match(/txid ([0-9a-f]{64})/)![1];
    const pooled = await getJson<{ confirmations: number }>(`${node.url}/v1/txs/${txid}`);
    assert.equal(pooled.status, 200);

    const balance = await waitFor("bob's confirmed balance", async () => {
      const r = await runCli([
        "wallet",
        "balance",
        "--wallet",
        `${dir}/bob.json`,
        "--node",
        node.url,
        "--json",
      ]);
      const b = JSON.parse(r.stdout);
      return b.balance === "12.5" ? b : null;
    });
    assert.equal(balance.spendable, "12.5");
    const confirmed = await getJson<{ confirmations: number; blockHash: string }>(
      `${node.url}/v1/txs/${txid}`,
    );
    assert.ok(confirmed.body.confirmations >= 1);
    const block = await getJson<{ txs: { txid: string }[] }>(
      `${node.url}/v1/blocks/${confirmed.body.blockHash}`,
    );
    assert.ok(block.body.txs.some((t) => t.txid === txid));

    const wrong = await walletSend(`${dir}/bob.json`, bobAddress, "1", node.url, "not bob's");
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /keystore\/bad-passphrase/);
    const broke = await walletSend(`${dir}/bob.json`, bobAddress, "100", node.url, "bob secret");
    assert.equal(broke.code, 1);
    assert.match(broke.stderr, /wallet\/insufficient-funds/);
    // In coins, as typed (100 + the default fee), not base units.
    assert.match(broke.stderr, /spendable balance 12\.5 CML is below amount \+ fee 100\.0001 CML/);

    // Four sends at once from bob's one coin: each takes the wallet's lock, so each spends the
    // change of the one before it (without the lock they all chose the same coin: conflicts).
    const sends = await Promise.all(
      Array.from(
        { length: 4 },
        () => walletSend(`${dir}/bob.json`, bobAddress, "1", node.url, "bob secret"),
      ),
    );
    for (const s of sends) assert.equal(s.code, 0, s.stderr);
    const sent = sends.map((s) => s.stdout.match(/txid ([0-9a-f]{64})/)![1]);
    assert.equal(new Set(sent).size, 4);
    for (const t of sent) {
      assert.equal((await getJson(`${node.url}/v1/txs/${t}`)).status, 200, `${t} accepted`);
    }
  } finally {
    await node.stop();
  }
  await assertConservedOnDisk(`${dir}/node`);
});

Deno.test("the HTTP API answers bad input with JSON 4xx errors and changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "camelid-api-" });
  const node = await spawnNode(["--data-dir", dir, "--no-mine"]);
  try {
    const expect = async (res: Response, status: number, code: RegExp) => {
      assert.equal(res.status, status, `${res.url}`);
      const body = await res.json();
      assert.match(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
    };
    await expect(await fetch(`${node.url}/v1/blocks/zz`), 400, /request\/malformed/);
    await expect(await fetch(`${node.url}/v1/blocks/99999`), 404, /block\/not-found/);
    await expect(await fetch(`${node.url}/v1/blocks/${"0".repeat(64)}`), 404, /block\/not-found/);
    await expect(await fetch(`${node.url}/v1/txs/${"0".repeat(64)}`), 404, /tx\/not-found/);
    await expect(await fetch(`${node.url}/v1/txs/xyz`), 400, /request\/malformed/);
    await expect(await fetch(`${node.url}/v1/addresses/notanaddress`), 400, /address\/invalid/);
    await expect(await fetch(`${node.url}/v1/nope`), 404, /route\/not-found/);
    await expect(
      await fetch(`${node.url}/v1/txs`, { method: "POST", body: "zz" }),
      400,
      /hex\/invalid/,
    );
    await expect(
      await fetch(`${node.url}/v1/txs`, { method: "POST", body: "01000000" }),
      400,
      /decode\/truncated/,
    );
    await expect(
      await fetch(`${node.url}/v1/txs`, { method: "POST", body: "" }),
      400,
      /request\/malformed/,
    );
    await expect(
      await fetch(`${node.url}/v1/txs`, { method: "POST", body: "00".repeat(150_000) }),
      413,
      /too-large/,
    );
    await expect(
      await fetch(`${node.url}/v1/blocks`, { method: "POST", body: "00".repeat(80) }),
      400,
      /decode/,
    );
    const status = await getJson<{ height: number; mempool: { size: number } }>(
      `${node.url}/v1/status`,
    );
    assert.equal(status.body.height, 0);
    assert.equal(status.body.mempool.size, 0);
  } finally {
    await node.stop();
  }
});
