import assert from "node:assert/strict";
import { CamelidError, DecodeError, NotFoundError, ValidationError } from "../chain/errors.ts";
import { encodeTransaction } from "../chain/tx.ts";
import { generateSecretKey, publicKeyOf } from "../chain/keys.ts";
import { errorFromAnswer, NodeClient, NodeClientError } from "./client.ts";
import { RequestError } from "./errors.ts";
import { startNode } from "./node.ts";

/** Asserts that `p` rejects with an error of exactly class `cls` and code `code`. */
async function rejectsAs(
  p: Promise<unknown>,
  cls: new (...args: never[]) => CamelidError,
  code: string,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as Error).constructor, cls, String(e));
    assert.equal((e as CamelidError).code, code);
    return true;
  });
}

Deno.test("NodeClient: typed answers, and the node's errors keep their class and code across HTTP", async () => {
  const dir = await Deno.makeTempDir();
  const node = await startNode({ network: "dev", dataDir: dir, port: 0, mine: false });
  try {
    const api = new NodeClient(`${node.url}/`);
    const status = await api.status();
    assert.equal(status.network, "dev");
    assert.equal(status.height, 0);
    assert.equal(status.tip, node.chain.tip().hash);
    await rejectsAs(api.tx("00".repeat(32)), NotFoundError, "tx/not-found");
    await rejectsAs(api.job("11".repeat(32)), NotFoundError, "job/not-found");
    await rejectsAs(api.sendTx(new Uint8Array([1, 2, 3])), DecodeError, "decode/truncated");
    const input = {
      prevout: { txid: new Uint8Array(32).fill(7), vout: 0 },
      scriptSig: new Uint8Array(97),
      sequence: 0xffffffff,
    };
    const spendingTwice = encodeTransaction({
      version: 1,
      inputs: [input, input],
      outputs: [{ value: 1n, scriptPubKey: new Uint8Array(21).fill(1) }],
      lockTime: 0,
      jobId: new Uint8Array(32),
    });
    await rejectsAs(api.sendTx(spendingTwice), ValidationError, "tx/duplicate-inputs");
    await rejectsAs(api.messages(new Uint8Array(33)), RequestError, "messages/to");
    // A 404 that is a refused request, not an unknown object: the class says which.
    await rejectsAs(api.call("/v1/nowhere"), RequestError, "route/not-found");
    assert.deepEqual(await api.messages(publicKeyOf(generateSecretKey())), [], "an empty inbox");
  } finally {
    await node.close();
    await Deno.remove(dir, { recursive: true });
  }
  await rejectsAs(
    new NodeClient("http://127.0.0.1:1").status(),
    NodeClientError,
    "node/unreachable",
  );
});

Deno.test("errorFromAnswer: the named class, else by status (404 not found, 422 rule broken, else a refused request)", () => {
  const body = (cls?: string) => ({ error: { code: "x/y", message: "m", class: cls } });
  assert.ok(errorFromAnswer(400, body("DecodeError")) instanceof DecodeError);
  assert.ok(errorFromAnswer(404, body()) instanceof NotFoundError);
  assert.ok(errorFromAnswer(422, body()) instanceof ValidationError);
  const other = errorFromAnswer(503, body("SomethingElse"));
  assert.ok(other instanceof RequestError);
  assert.equal(other.code, "x/y");
  assert.equal(other.message, "m");
  assert.equal(errorFromAnswer(500, null).code, "http/500");
});
