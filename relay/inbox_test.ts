import assert from "node:assert/strict";
import { Misbehaviour } from "./errors.ts";
import { Inbox, type InboxBudgets, inboxBytesOf } from "./inbox.ts";
import { NodeIdentity } from "./identity.ts";

/** Byte budgets that never bind (count-bound tests). */
export const UNBOUNDED_BYTES: InboxBudgets = {
  perRecipient: 1e9,
  total: 1e9,
  ttlMs: 60_000,
  totalBytes: 1e12,
  perRecipientBytes: 1e12,
  perSenderBytes: 1e12,
  perOriginBytes: 1e12,
};

const KB = 1000;

function message(sender: NodeIdentity, size: number) {
  return sender.sign({ magic: 1, type: "direct", payload: new Uint8Array(size - 170) });
}

function refusal(f: () => void): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Misbehaviour, String(e));
    return e.code;
  }
  return "stored";
}

Deno.test("the inbox refuses past its byte budgets: sender, origin, recipient, total, too large", () => {
  const budgets = {
    ...UNBOUNDED_BYTES,
    totalBytes: 10 * KB,
    perRecipientBytes: 4 * KB,
    perSenderBytes: 2 * KB,
    perOriginBytes: 6 * KB,
  };
  const box = new Inbox(budgets);
  const alice = NodeIdentity.generate();
  assert.equal(inboxBytesOf(message(alice, KB)), KB);
  assert.equal(refusal(() => box.put("r1", message(alice, KB), "ip:a")), "stored");
  assert.equal(refusal(() => box.put("r1", message(alice, KB), "ip:a")), "stored");
  assert.equal(refusal(() => box.put("r2", message(alice, KB), "ip:a")), "inbox/sender-full");
  // Fresh senders: the recipient's budget (4 kB), then the origin's (6 kB), then the total.
  const fresh = () => message(NodeIdentity.generate(), KB);
  assert.equal(refusal(() => box.put("r1", fresh(), "ip:a")), "stored");
  assert.equal(refusal(() => box.put("r1", fresh(), "ip:a")), "stored");
  assert.equal(refusal(() => box.put("r1", fresh(), "ip:a")), "inbox/recipient-full");
  assert.equal(refusal(() => box.put("r2", fresh(), "ip:a")), "stored");
  assert.equal(refusal(() => box.put("r2", fresh(), "ip:a")), "stored");
  assert.equal(refusal(() => box.put("r3", fresh(), "ip:a")), "inbox/origin-full");
  for (const r of ["r3", "r3", "r3", "r4"]) {
    assert.equal(refusal(() => box.put(r, fresh(), "ip:b")), "stored");
  }
  assert.equal(box.bytes, 10 * KB);
  assert.equal(refusal(() => box.put("r5", fresh(), "ip:c")), "inbox/full");
  assert.equal(
    refusal(() => box.put("r5", message(NodeIdentity.generate(), 3 * KB), null)),
    "inbox/too-large",
  );
  // Our own messages have no origin budget; expiry frees every budget.
  box.prune(Date.now() + 61_000);
  assert.deepEqual([box.size, box.bytes], [0, 0]);
  assert.equal(refusal(() => box.put("r1", message(alice, 2 * KB), "ip:a")), "stored");
});
