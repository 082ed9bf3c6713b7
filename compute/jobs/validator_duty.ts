/**
 * @module A serving verifier's validation duty on a real node: the due rule for each job comes from
 * the node's own API, the weights in force (`GET /v1/weights`) and the executor's validation
 * probability (`GET /v1/reputation/:key`), the same numbers a client reads from its node.
 */

import { dueContextOf } from "../../client/validator_ticket.ts";
import { fetchWeights } from "../../client/phases/choose.ts";
import { fetchReputation } from "../../client/phases/reputation.ts";
import type { NodeClient } from "../../relay/client.ts";
import type { ValidatorDuty } from "./verifier_service.ts";

/**
 * How long a validator waits for its node's weights or reputation (a first derivation after a
 * start reads a window of blocks; the client that asked waits its own timeout).
 */
export const DUTY_READ_MS = 30_000;

/** The duty of the validator with `secretKey`, reading its rule from the node at `api`. */
export function nodeValidatorDuty(api: NodeClient, secretKey: Uint8Array): ValidatorDuty {
  return {
    secretKey,
    context: async (executor) => {
      const [weights, reputation] = await Promise.all([
        fetchWeights(api, DUTY_READ_MS),
        executor ? fetchReputation(api, executor, DUTY_READ_MS) : undefined,
      ]);
      return dueContextOf(weights, executor, reputation);
    },
  };
}
