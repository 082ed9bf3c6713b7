/**
 * The job client reads the compute node's reputation from its node (client/phases/reputation.ts)
 * against a real dev node in-process (loopback HTTP, Deno KV), the compute node's side played by
 * hand: new before any job, grown once an epoch with a paid job closes; unavailable, without
 * failing, when the node cannot answer or answers too late.
 */

import assert from "node:assert/strict";
import { fromHex } from "../../chain/bytes.ts";
import { reputationParamsFor } from "../../compute/weight/chain_reputation.ts";
import { offerJob } from "../../client/phases/offer.ts";
import { payForJob } from "../../client/phases/pay.ts";
import { describeReputation, fetchReputation } from "../../client/phases/reputation.ts";
import { NodeClient } from "../../relay/client.ts";
import { commitJob, nextMessageTo, phaseBench, rewardAddress, TERMS } from "./phase_helpers.ts";

Deno.test("job client: the compute node's reputation and validation probability, new and after an epoch with a paid job", async () => {
  const b = await phaseBench();
  try {
    const address = rewardAddress(b.compute);
    const { maturityEpochs } = reputationParamsFor("dev");
    const fresh = await fetchReputation(b.api, address);
    assert.deepEqual(fresh, {
      address,
      known: false,
      reputation: 0,
      maturityEpochs,
      validationProbability: 1,
      floor: 1,
      lastFraud: null,
    });
    assert.equal(
      describeReputation(fresh),
      `compute node ${address}: reputation 0/${maturityEpochs} (new), validation probability 100.0%`,
    );

    const offered = await offerJob(b.s, TERMS);
    const { committed } = await commitJob(b, offered, {
      outputTokens: [5, 6, 7],
      finishReason: "length",
    });
    await b.mine(1);
    await payForJob(b.s, offered, committed);
    const payment = await nextMessageTo(b, b.compute, "payment");
    await b.mine(b.s.params.jobs.disputeWindow);
    await b.api.sendTx(fromHex(payment.tx));
    await b.mine(1);
    const interval = b.s.params.sprint.interval;
    const height = b.node.chain.tip().height;
    await b.mine((Math.floor(height / interval) + 1) * interval - height);

    const grown = await fetchReputation(b.api, address);
    assert.ok(!("unavailable" in grown));
    assert.equal(grown.known, true);
    assert.equal(grown.reputation, 1);
    assert.equal(grown.floor, 1, "one job an epoch: every job is validated");
    assert.equal(grown.validationProbability, 1);
    assert.match(describeReputation(grown), new RegExp(`reputation 1/${maturityEpochs},`));

    const gone = await fetchReputation(new NodeClient("http://127.0.0.1:9"), address);
    assert.deepEqual(gone, { address, unavailable: "node/unreachable" });
    assert.equal(
      describeReputation(gone),
      `compute node ${address}: reputation unavailable (node/unreachable)`,
    );
  } finally {
    await b.close();
  }
});

Deno.test("job client: a reputation that does not come in time is unavailable (reputation/timeout)", async () => {
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async () => {
    await held;
    return Response.json({});
  });
  try {
    const slow = new NodeClient(`http://127.0.0.1:${server.addr.port}`);
    assert.deepEqual(await fetchReputation(slow, "1address", 200), {
      address: "1address",
      unavailable: "reputation/timeout",
    });
  } finally {
    release();
    await server.shutdown();
  }
});
