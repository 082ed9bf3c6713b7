/**
 * The web page (static/) against a real network in headless Chromium, one browser context for the
 * whole flow: three compute node processes (two serve a chat model, the second also verifies; the
 * third cheats with `--cheat change-token` on its own model). In the page: the explorer, a wallet
 * created in the browser, funded by the node's wallet, sending some back (after a wrong passphrase
 * and an amount over the balance), a chat job verified by the verifier's votes and checked in the
 * page too, a prompt job verified in the page with the WASM kernel on the model read from the
 * browser's cache of checked chunks, the cheater caught in the page with its fraud proof published
 * and the slash in the explorer, search, the wallet exported to the CLI and a CLI wallet imported
 * back, a phone-width screen and keyboard use, and the node going away. Every state is a
 * screenshot in tests/page/artifacts/; the page must make no request off the network's nodes, load
 * every asset from its own node, and log no console error but the browser's line for each error
 * answer it expects (named by code below).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { modelIdFromBytes } from "../../chain/model_id.ts";
import { makeFixture } from "../../compute/fixture.ts";
import { getJson, type NodeProcess, runCli, waitFor } from "../process_helpers.ts";
import { spawnCheaterNet } from "../cheater_net.ts";
import { nodeWalletAddress, sendCoins } from "../jobs/funding_helpers.ts";
import { ARTIFACTS, openPageSession } from "./browser.ts";

const TEMPLATE =
  "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>{% endif %}";
const PAGE_PASS = "page pass";
const CLI_PASS = "cli pass";
const JOB_MS = 180_000;

/** Waits until the element `selector` holds text matching `re`; returns the text. */
async function textMatching(page: Page, selector: string, re: RegExp, timeout = 60_000) {
  const loc = page.locator(selector).first();
  await waitFor(
    `${selector} ~ ${re}`,
    async () => re.test((await loc.textContent()) ?? ""),
    timeout,
  );
  return (await loc.textContent()) ?? "";
}

/**
 * Fills and submits the job form; returns the final state shown, or `failed CODE: text` when the
 * job failed.
 */
async function runJob(
  page: Page,
  o: {
    model: string;
    verify: "outsourced" | "local";
    prompt?: string;
    chat?: string;
    computeNode?: string;
    expiryBlocks?: string;
  },
): Promise<string> {
  await page.goto(page.url().replace(/#.*$/, "#/jobs"));
  await page.locator(`select[name=model] option[value="${o.model}"]`).waitFor({
    state: "attached",
  });
  await page.selectOption("select[name=model]", o.model);
  if (o.chat !== undefined) {
    await page.check("input[name=mode][value=chat]");
    await page.fill("textarea[name=user]", o.chat);
  } else {
    await page.check("input[name=mode][value=prompt]");
    await page.fill("textarea[name=prompt]", o.prompt ?? "");
  }
  await page.evaluate('document.querySelector("#job-form details").open = true');
  await page.fill("input[name=seed]", "7");
  await page.fill("input[name=expiryBlocks]", o.expiryBlocks ?? "");
  await page.selectOption("select[name=verify]", o.verify);
  if (o.computeNode) {
    await page.locator(`select[name=computeNode] option[value="${o.computeNode}"]`).waitFor({
      state: "attached",
    });
    await page.selectOption("select[name=computeNode]", o.computeNode);
  }
  await page.fill("#job-form input[name=passphrase]", PAGE_PASS);
  // The last job's outcome is marked, so that only this job's counts (a refusal can replace it
  // faster than a wait for its removal would see).
  await page.evaluate(
    'document.querySelectorAll("#job-result, #job-failed").forEach((e) => e.dataset.earlier = "1")',
  );
  const outcome = page.locator("#job-result:not([data-earlier]), #job-failed:not([data-earlier])")
    .first();
  await page.click("#job-form button[type=submit]");
  await outcome.waitFor({ timeout: JOB_MS });
  if (await page.locator("#job-failed:not([data-earlier])").count()) {
    const status = page.locator("#job-failed:not([data-earlier]) > .status.error");
    return `failed ${await status.getAttribute("data-code")}: ${await status.textContent()}`;
  }
  return (await page.locator("[data-testid=final-state]").textContent()) ?? "";
}

Deno.test({
  name:
    "web page: explorer, browser wallet, jobs verified by votes and in the page, a cheater caught, CLI round trip, in Chromium on a real network",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "camelid-page-" });
    await Deno.remove(ARTIFACTS, { recursive: true }).catch(() => {});
    const chat = makeFixture({
      size: "tiny",
      dtype: "f16",
      seed: 1n,
      eosBias: 2,
      chatTemplate: TEMPLATE,
    });
    const other = makeFixture({ size: "tiny", dtype: "f16", seed: 2n, eosBias: 2 });
    await Deno.writeFile(`${dir}/chat.gguf`, chat);
    await Deno.writeFile(`${dir}/other.gguf`, other);
    const chatId = modelIdFromBytes(chat);
    const otherId = modelIdFromBytes(other);
    const nodes: NodeProcess[] = [];
    const session = await openPageSession();
    const { page } = session;
    try {
      await spawnCheaterNet(dir, { chat: `${dir}/chat.gguf`, other: `${dir}/other.gguf` }, nodes);
      const url = nodes[0].url;
      const nodeAddress = await nodeWalletAddress(`${dir}/n0`);

      // The explorer, while the compute nodes gather coins to stake.
      await page.goto(`${url}/`);
      await page.locator("#latest-blocks tr[data-height]").first().waitFor();
      assert.match(await page.locator("[data-testid=tip]").textContent() ?? "", /^dev, height \d+/);
      // The mempool list: its transactions (each linked to its view) or a line saying it is empty.
      await page.locator("#mempool tr[data-txid], #mempool p.muted").first().waitFor();
      for (const row of await page.locator("#mempool tr[data-txid]").all()) {
        const id = await row.getAttribute("data-txid");
        assert.equal(await row.locator("a").getAttribute("href"), `#/tx/${id}`);
      }
      await session.shot("explorer");

      // A wallet created in the browser.
      await page.click("nav >> text=Wallet");
      await page.fill("input[name=passphrase]", PAGE_PASS);
      await page.fill("input[name=confirm]", PAGE_PASS);
      await session.shot("wallet-create");
      await page.click("#wallet-new button[type=submit]");
      const address =
        (await page.locator("[data-testid=address]").textContent({ timeout: 30_000 }))!;
      assert.match(address, /^[1-9A-HJ-NP-Za-km-z]{26,35}$/);
      await page.click("button[aria-label='Copy the address']");
      assert.equal(await page.evaluate("navigator.clipboard.readText()"), address);
      await session.shot("wallet-created");

      await waitFor("three compute nodes able to stake", async () => {
        for (const n of nodes) {
          const s = await getJson<{ compute?: { rewardAddress: string } }>(`${n.url}/v1/status`);
          if (!s.body.compute) return false;
          const a = await getJson<{ spendableUnits: string }>(
            `${url}/v1/addresses/${s.body.compute.rewardAddress}`,
          );
          if (BigInt(a.body.spendableUnits ?? "0") < 2n * 100_000_000n) return false;
        }
        return true;
      }, 120_000);

      // Coins from the node's wallet: unconfirmed first, then spendable.
      await sendCoins(`${dir}/n0/wallet.json`, url, address, "20");
      await textMatching(
        page,
        "[data-testid=unconfirmed], [data-testid=spendable]",
        /20 CML/,
        30_000,
      )
        .catch(() => {});
      await session.shot("wallet-incoming");
      await textMatching(page, "[data-testid=spendable]", /^20 CML$/, 60_000);
      await session.shot("wallet-funded");

      // Send some back: a wrong passphrase, then more than the balance, then right.
      const send = async (amount: string, pass: string) => {
        await page.fill("#wallet-send input[name=to]", nodeAddress);
        await page.fill("#wallet-send input[name=amount]", amount);
        await page.fill("#wallet-send input[name=passphrase]", pass);
        await page.click("#wallet-send button[type=submit]");
        await page.locator("#wallet-send .status:not(.info)").waitFor({ timeout: 30_000 });
        return page.locator("#wallet-send .status").getAttribute("data-code");
      };
      assert.equal(await send("2.5", "not the passphrase"), "keystore/bad-passphrase");
      await session.shot("send-wrong-passphrase");
      assert.equal(await send("5000", PAGE_PASS), "wallet/insufficient-funds");
      await session.shot("send-insufficient-funds");
      assert.equal(await send("2.5", PAGE_PASS), "");
      const sentTx = (await page.locator("#wallet-send a.hash").textContent())!;
      await session.shot("send-ok");
      await textMatching(page, "[data-testid=spendable]", /^17\.4999 CML$/, 60_000);
      const tx = await getJson<{ outputs: { address: string; value: string }[] }>(
        `${url}/v1/txs/${sentTx}`,
      );
      assert.ok(tx.body.outputs.some((o) => o.address === nodeAddress && o.value === "2.5"));

      // A chat (the model's template) checked by the verifier node's votes.
      const outsourced = await runJob(page, {
        model: chatId,
        verify: "outsourced",
        chat: "Say hello.",
      });
      assert.equal(outsourced, "verified");
      assert.match(
        await page.locator("[data-testid=verdict]").textContent() ?? "",
        /honest \(verifier/,
      );
      assert.ok(await page.locator("#votes tbody tr").count() >= 1);
      const states = await page.locator("#job-states li").evaluateAll((l) =>
        l.map((e) => e.getAttribute("data-state"))
      );
      for (
        const s of [
          "offered",
          "accepted",
          "receipt",
          "payment-sent",
          "delivered",
          "verifying",
          "outsourced",
          "verified",
        ]
      ) {
        assert.ok(states.includes(s), `state ${s} shown (${states.join(", ")})`);
      }
      assert.ok((await page.locator("[data-testid=output]").textContent())!.length >= 0);
      await session.shot("job-outsourced-verified");
      // The same output checked in the page too.
      await page.click("#local-check button");
      await textMatching(page, "[data-testid=local-verdict]", /^Checked here: honest$/, 60_000);
      await session.shot("job-outsourced-checked-here");

      // The same model checked in the page: the model fetched by checked chunks, the WASM kernel.
      const local = await runJob(page, {
        model: chatId,
        verify: "local",
        prompt: "Once upon a time",
      });
      assert.equal(local, "verified");
      assert.match(
        await page.locator("[data-testid=verdict]").textContent() ?? "",
        /honest \(checked in this browser/,
      );
      assert.equal(
        await page.locator("progress").getAttribute("value"),
        await page.locator("progress").getAttribute("max"),
      );
      // Every chunk came from this browser's cache: the check above fetched and kept them.
      const bar = (await page.locator("#job-progress > label").first().textContent())!;
      const [, done, total, cached] = bar.match(
        /(\d+) \/ (\d+) \((\d+) from this browser's cache/,
      )!;
      assert.ok(done === total && cached === total, bar);
      await session.shot("job-local-verified");

      // Terms no compute node takes (an escrow expiring too soon): refused before any coin is locked.
      const refused = await runJob(page, {
        model: chatId,
        verify: "outsourced",
        prompt: "Hello",
        expiryBlocks: "4",
      });
      assert.match(refused, /^failed job\/expires-too-soon: .*nothing was paid/);
      assert.equal(await page.locator("#job-states li").count(), 0, "no escrow was published");
      assert.equal(await page.locator("#refund").count(), 0, "nothing to refund");
      await session.shot("job-refused-expiry");

      // The cheater, chosen for its own model, caught in the page.
      const peers = await getJson<{ self: { key: string } }>(`${nodes[2].url}/v1/peers`);
      const caught = await runJob(page, {
        model: otherId,
        verify: "local",
        prompt: "Hello",
        computeNode: peers.body.self.key,
      });
      assert.equal(caught, "disputed");
      assert.match(await page.locator("[data-testid=verdict]").textContent() ?? "", /fraud/);
      const jobId = (await page.locator("#job-result a.hash").first().textContent())!;
      await session.shot("job-fraud-caught");
      // The README's picture (docs/page.png is a copy): the job's states, output and verdict.
      await page.locator("#job-progress").screenshot({ path: `${ARTIFACTS}readme-job.png` });
      // The fraud proof is mined within a few blocks; say where it stands if it is not.
      await textMatching(page, "[data-testid=chain-state]", /^disputed$/, 120_000).catch(
        async (e) => {
          const fraudTxid = await page.locator("#job-result a.hash").nth(1).textContent();
          const job = await getJson(`${nodes[0].url}/v1/jobs/${jobId}`).catch((x) => String(x));
          const tx = await getJson(`${nodes[0].url}/v1/txs/${fraudTxid}`).catch((x) => String(x));
          const st = await getJson(`${nodes[0].url}/v1/status`).catch((x) => String(x));
          throw new Error(
            `${(e as Error).message}; job ${JSON.stringify(job)}; fraud tx ${fraudTxid}: ${
              JSON.stringify(tx)
            }; status ${JSON.stringify(st)}`,
          );
        },
      );
      await session.shot("job-slashed");
      await page.goto(`${url}/#/job/${jobId}`);
      await textMatching(page, "[data-testid=job-state]", /^disputed$/);
      await session.shot("explorer-job-slashed");

      // Search: a height (by keyboard), a txid, an address, a job id.
      await page.goto(`${url}/`);
      await page.locator("#latest-blocks tr[data-height]").first().waitFor();
      await page.keyboard.press("Tab");
      for (
        let i = 0;
        i < 8 && !(await page.evaluate('document.activeElement?.id === "q"'));
        i++
      ) {
        await page.keyboard.press("Tab");
      }
      assert.equal(
        await page.evaluate("document.activeElement?.id"),
        "q",
        "the search box by Tab",
      );
      await page.keyboard.type("1");
      await page.keyboard.press("Enter");
      await page.locator("#block-view").waitFor();
      await session.shot("search-height");
      for (
        const [term, view] of [[sentTx, "#tx-view"], [address, "#address-view"], [
          jobId,
          "#job-view",
        ]]
      ) {
        await page.fill("#q", term);
        await page.press("#q", "Enter");
        await page.locator(view).waitFor();
      }
      await session.shot("search-job");

      // The wallet file moves to the CLI (which pays a CLI wallet from it) and a CLI wallet back.
      await page.goto(`${url}/#/wallet`);
      const download = await Promise.all([
        page.waitForEvent("download"),
        page.click("#export-wallet"),
      ]);
      const exported = `${dir}/exported.json`;
      await download[0].saveAs(exported);
      const cliWallet = `${dir}/cli.json`;
      assert.equal(
        (await runCli(["wallet", "new", "--wallet", cliWallet], { CAMELID_PASSPHRASE: CLI_PASS }))
          .code,
        0,
      );
      const cliAddress = (await runCli(["wallet", "address", "--wallet", cliWallet])).stdout.trim();
      const cliSend = await runCli([
        ...[
          "wallet",
          "send",
          "--wallet",
          exported,
          "--to",
          cliAddress,
          "--amount",
          "1",
          "--node",
          url,
        ],
      ], { CAMELID_PASSPHRASE: PAGE_PASS });
      assert.equal(cliSend.code, 0, cliSend.stderr);
      await page.click("#remove-wallet");
      await session.shot("wallet-remove");
      await page.click("#remove-confirm");
      await page.setInputFiles("#wallet-import input[name=file]", cliWallet);
      await page.click("#wallet-import button[type=submit]");
      assert.equal(await page.locator("[data-testid=address]").textContent(), cliAddress);
      await textMatching(page, "[data-testid=spendable]", /^1 CML$/, 60_000);
      assert.equal(await send("0.5", CLI_PASS), "");
      await session.shot("wallet-cli-imported-sent");

      // A phone-width screen.
      await page.setViewportSize({ width: 390, height: 800 });
      await page.goto(`${url}/#/jobs`);
      await page.locator(`select[name=model] option[value="${chatId}"]`).waitFor({
        state: "attached",
      });
      await session.shot("phone-jobs");
      const overflow = await page.evaluate<number>(
        "document.documentElement.scrollWidth - innerWidth",
      );
      assert.ok(overflow <= 0, `no horizontal scrolling at 390 px (${overflow} px over)`);
      await page.goto(`${url}/`);
      await page.locator("#latest-blocks tr[data-height]").first().waitFor();
      await session.shot("phone-explorer");

      // The node goes away: the page says so.
      const errorsBeforeStop = session.errors.length;
      await nodes[0].stop();
      await page.locator("main > .status.error[data-code='page/node-unreachable']").waitFor({
        timeout: 20_000,
      });
      await session.shot("node-unreachable");

      // Every asset from the page's node; every request to a node of this network.
      const origins = new Set(nodes.map((n) => new URL(n.url).origin));
      const own = new URL(url).origin;
      for (const r of session.requests) {
        const o = new URL(r.url).origin;
        assert.ok(origins.has(o) || r.url.startsWith("data:"), `off-network request ${r.url}`);
        if (
          ["document", "script", "stylesheet", "image", "font"].includes(r.type) &&
          !r.url.startsWith("data:")
        ) {
          assert.equal(o, own, `asset ${r.url} from the page's own node`);
        }
      }
      // The only error answers: the search's probes of a hash that is not a block, transaction or
      // job, the weights before a sprint closed, and the light client's broadcast of the compute node's stake transaction when the node
      // already did (client/phases/receipt.ts ignores that answer).
      for (const f of session.failures) {
        const path = new URL(f.url).pathname;
        const probe = f.method === "GET" && f.status === 404 &&
          /^\/v1\/(blocks|txs|jobs)\/[0-9a-f]{64}$/.test(path) &&
          ["block/not-found", "tx/not-found", "job/not-found"].includes(f.code ?? "");
        const rebroadcast = f.method === "POST" && path === "/v1/txs" && f.status === 422 &&
          f.code === "tx/duplicate";
        // The job client's read of the compute weights before any sprint has closed (it then
        // takes the first node to accept: client/phases/choose.ts).
        const noWeights = f.method === "GET" && path === "/v1/weights" && f.status === 404 &&
          f.code === "sprint/none-closed";
        assert.ok(probe || rebroadcast || noWeights, `error answer ${JSON.stringify(f)}`);
      }
      // No console error but the browser's line for each of those answers, and the refused
      // connections once the node was stopped.
      const answered = new Set(session.failures.map((f) => f.url));
      session.errors.forEach((e, i) => {
        const m = e.match(/^console: Failed to load resource: (.*) at (\S+)$/);
        const ok = m && (
          (/^the server responded with a status of (404|422)/.test(m[1]) && answered.has(m[2])) ||
          (m[1] === "net::ERR_CONNECTION_REFUSED" && i >= errorsBeforeStop)
        );
        assert.ok(ok, `console error: ${e}`);
      });
    } finally {
      await session.close();
      await Promise.all(nodes.map((n) => n.stop()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
