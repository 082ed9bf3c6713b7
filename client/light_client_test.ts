import assert from "node:assert/strict";

/** Every module an entry point loads (local files and npm package specifiers). */
async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier);
}

Deno.test("the light client (wallet, job client, verifier) imports nothing with FFI, KV or file access", async () => {
  const dir = new URL(".", import.meta.url);
  const entries: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      entries.push(new URL(e.name, dir).href);
    }
  }
  for await (const e of Deno.readDir(new URL("phases/", dir))) {
    if (e.isFile && e.name.endsWith(".ts")) entries.push(new URL(`phases/${e.name}`, dir).href);
  }
  assert.ok(entries.some((e) => e.endsWith("/job_client.ts")), "the job client is here");
  const graph = new Set<string>();
  for (const entry of entries) for (const m of await moduleGraph(entry)) graph.add(m);
  assert.ok([...graph].some((m) => m.endsWith("/verifier-wasm/mod.ts")), "the verifier is in it");
  for (
    const part of ["/client/subscription.ts", "/client/prompt.ts", "/client/model_metadata.ts"]
  ) {
    assert.ok([...graph].some((m) => m.endsWith(part)), `${part} is in it`);
  }
  const root = new URL("..", dir).href;
  for (const m of graph) {
    assert.ok(!m.startsWith(`${root}compute/`), `${m}: compute/ is the FFI side`);
    assert.ok(!m.includes("node-llama-cpp"), `${m}: llama.cpp bindings`);
    if (!m.startsWith("file:")) continue;
    const source = await Deno.readTextFile(new URL(m));
    for (
      const api of [
        "Deno.dlopen",
        "Deno.openKv",
        "Deno.readFile",
        "Deno.writeFile",
        "Deno.open(",
        "Deno.readTextFile",
        "Deno.Command",
        "Deno.connect",
        "Deno.listen",
        "Deno.upgradeWebSocket",
      ]
    ) {
      assert.ok(!source.includes(api), `${m} uses ${api}`);
    }
  }
});
